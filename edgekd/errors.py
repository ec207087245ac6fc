"""The one exception type that the CLI turns into a one-line message and exit code 2."""


class EdgekdError(Exception):
    """A user-facing error: bad input, a missing file, an unsupported option.

    The message must be one line that names the problem and what to do about it.
    The CLI prints it as ``error: <message>`` and exits with code 2, no traceback.
    """


class MissingDependency(EdgekdError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, module: str, extra: str):
        super().__init__(f"{module} is not installed: pip install \"edgekd[{extra}]\"")
        self.module = module
        self.extra = extra
