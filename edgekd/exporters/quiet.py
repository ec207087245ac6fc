"""Converters' own output, hidden unless ``--verbose``.

litert-torch and the libraries below it (TensorFlow Lite's converter, absl, oneDNN,
XLA) log from C++ straight to file descriptors 1 and 2, so ``contextlib.redirect_*``
alone cannot hide them: :func:`converter_output` also points the two descriptors at a
temporary file while the converter runs, and silences Python warnings and ``logging``.
With ``verbose`` nothing is hidden. edgekd's own messages are printed after the block.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator

# C++ logging of TensorFlow-derived libraries: errors only, read when they are first imported
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "2", "ABSL_MIN_LOG_LEVEL": "2",
             "TF_ENABLE_ONEDNN_OPTS": "0"}


@contextlib.contextmanager
def _descriptors_to_file() -> Iterator[None]:
    """Point fds 1 and 2 at a temporary file for the block (restored after, even on error)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = []
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no real descriptors (an embedding host): Python-level redirection only
        yield
        return
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextlib.contextmanager
def python_quiet() -> Iterator[None]:
    """Silence Python-level progress lines on stdout, warnings and ``logging`` for the block."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


@contextlib.contextmanager
def converter_output(verbose: bool = False) -> Iterator[None]:
    """Hide the converters' logs and warnings (Python and C++) unless ``verbose``."""
    if verbose:
        yield
        return
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
    with python_quiet(), contextlib.redirect_stderr(io.StringIO()), _descriptors_to_file():
        yield
