"""Run configuration files: ``<run>/config.toml`` written from a spec, and a ``--config``
file read into a spec's option values.

The file is flat TOML, one key per option of the command, named as the option with ``_``
for ``-`` (``batch_size = 64`` for ``--batch-size 64``; ``batch-size`` is read too).
``config.toml`` holds every recorded option's final value, defaults included and resolved
(``--threads auto`` as a count, distill's data set, alpha and beta), so
``edgekd <command> --config <run>/config.toml --out NEW`` replays the run. Torch-free.
"""

from __future__ import annotations

from pathlib import Path

from edgekd import __version__
from edgekd.fileio import atomic_write_text
from edgekd.spec.base import Spec
from edgekd.tomlflat import dumps, read, value_text

__all__ = ["read_config", "write_run_config"]


def read_config(spec_cls: type[Spec], path: str | Path) -> dict:
    """The checked option values of a ``--config`` file for ``spec_cls``'s command."""
    return spec_cls.file_values(read(path), str(path))


def write_run_config(spec: Spec, out: str | Path) -> Path:
    """Write ``<out>/config.toml`` atomically from ``spec`` (resolved by the run); returns its path."""
    values = spec.record()
    invocation = [o for o in spec.options() if not o.cli.record and getattr(spec, o.name) not in (None, False)]
    unset = [o.name for o in spec.options() if o.cli.record and getattr(spec, o.name) is None]
    comments = [f"edgekd {__version__} {spec.command}: this run's options, defaults included.",
                f"Replay: edgekd {spec.command} --config config.toml --out NEW_FOLDER "
                "(options on the command line override this file).",
                "Not saved (how it was invoked): " + ", ".join(
                    f"{o.name} = {value_text(str(v) if isinstance(v := getattr(spec, o.name), Path) else v)}"
                    for o in invocation)]
    if unset:
        comments.append(f"Unset (the command's default applies): {', '.join(unset)}")
    path = Path(out) / "config.toml"
    atomic_write_text(path, dumps(values, comments))
    return path
