"""The one "unknown name" message: what was asked for, the closest known name, the choices.

Every registry (models, data sets, export formats, attention combiners, distillation
methods, losses) and every CLI filter refuses an unknown value with the same one line,
``unknown <kind> 'x' (did you mean y?): choose one of a, b, c``, instead of an empty
result or a silent default. Torch-free.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from edgekd.errors import EdgekdError

__all__ = ["close_match", "unknown"]


def close_match(value: object, choices: Iterable[str]) -> str | None:
    """The choice closest to ``value`` (difflib's default cutoff), or None."""
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    return close[0] if close else None


def unknown(kind: str, value: object, choices: Iterable[str], also: str = "") -> EdgekdError:
    """The error for an unknown ``kind`` value (to raise): names the value, a close match
    when there is one, and the choices (``also`` appends e.g. ``", or tv:NAME"``)."""
    choices = list(choices)
    close = close_match(value, choices)
    hint = f" (did you mean {close}?)" if close else ""
    return EdgekdError(f"unknown {kind} {str(value)!r}{hint}: choose one of {', '.join(choices)}{also}")
