"""Flat TOML files (``key = value`` lines of strings, numbers, booleans and lists of them):
the format of run configurations (``--config``, ``<run>/config.toml``).

Reading is the standard library's :mod:`tomllib`; writing is :func:`dumps`, a small writer
for exactly the flat values a run configuration holds (no tables, no dates, no nesting),
so edgekd needs no TOML package. What :func:`dumps` writes, :func:`loads` reads back equal.
Torch-free.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from edgekd.errors import EdgekdError

__all__ = ["dumps", "loads", "read", "value_text"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _string(text: str) -> str:
    # JSON's escapes (\" \\ \n \t \uXXXX) are TOML basic-string escapes; DEL is a control
    # character TOML wants escaped and JSON leaves alone.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def value_text(value: object) -> str:
    """One value as TOML text; a TypeError for what a flat file cannot hold (None, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # always has a '.' or an exponent: a TOML float
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple, dict)) or v is None for v in value):
            raise TypeError(f"a flat TOML list holds only scalars, got {value!r}")
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a flat TOML value")


def dumps(values: Mapping[str, object], comments: Iterable[str] = ()) -> str:
    """``values`` as ``key = value`` lines after ``comments`` (each written as ``# line``).
    None values cannot be written (TOML has no null): leave them out, or name them in a comment."""
    lines = [f"# {c}".rstrip() for c in comments]
    for key, value in values.items():
        name = key if _BARE_KEY.fullmatch(key) else _string(key)
        lines.append(f"{name} = {value_text(value)}")
    return "\n".join(lines) + "\n"


def loads(text: str, source: str = "the file") -> dict:
    """Parse TOML text; a malformed file is a one-line error naming ``source`` and the place."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EdgekdError(f"{source} is not valid TOML: {str(exc).splitlines()[0]}") from None


def read(path: str | Path) -> dict:
    """Read a TOML file; a missing, unreadable or malformed file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise EdgekdError(f"config file {path} does not exist" if not path.exists() else
                          f"config file {path} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise EdgekdError(f"{path} is not valid TOML: it is not UTF-8 text") from None
    return loads(text, str(path))
