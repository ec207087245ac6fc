"""Keep third-party INFO lines off stderr where runtimes print them from C++.

LiteRT (and tflite-runtime) print ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``
from C++ straight to file descriptor 2 when an interpreter allocates its tensors; no
environment variable turns it off (``TF_CPP_MIN_LOG_LEVEL`` does not reach TFLite's own
logger). :func:`filtered_stderr` points descriptor 2 at a temporary file for the block and
then writes back every line except the known INFO ones, so warnings and errors still show.
Torch-free, stdlib only.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

#: lines dropped: the runtimes' own INFO chatter
INFO_LINE = re.compile(rb"^INFO: (Created TensorFlow Lite .*delegate for CPU\.|Initialized TensorFlow Lite runtime\.)\s*$")


@contextlib.contextmanager
def filtered_stderr(pattern: re.Pattern[bytes] = INFO_LINE) -> Iterator[None]:
    """Run the block with fd 2 captured; replay its lines except those matching ``pattern``."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real descriptor 2 (an embedding host): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            kept = [line for line in sink.read().splitlines(keepends=True) if not pattern.match(line)]
            if kept:
                os.write(2, b"".join(kept))
