"""Child-process entry point: ``python -m edgekd.benchmarking.worker SPEC.json RESULT.json``.

``SPEC.json`` holds the keyword arguments of :func:`edgekd.benchmarking.measure.measure`.
The worker writes ``RESULT.json``: ``{"ok": true, "record": {...}}`` or
``{"ok": false, "error": "<one line>", "kind": "<exception class>"}``, and exits 0 in
both cases (the parent reads the file). Unexpected exceptions also print their
traceback to stderr for debugging. It imports nothing heavy before the spec is read.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

from edgekd.fileio import atomic_write_json


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def run(spec_path: str, result_path: str) -> int:
    from edgekd.errors import EdgekdError

    try:
        with open(spec_path, encoding="utf-8") as f:
            spec: dict[str, Any] = json.load(f)
        from edgekd.benchmarking.measure import measure

        result = {"ok": True, "record": measure(**spec)}
    except EdgekdError as exc:
        result = {"ok": False, "error": _one_line(exc), "kind": type(exc).__name__}
    except Exception as exc:  # noqa: BLE001 - the parent turns it into one line
        traceback.print_exc(file=sys.stderr)
        result = {"ok": False, "error": f"{type(exc).__name__}: {_one_line(exc)}", "kind": "internal"}
    atomic_write_json(result_path, result)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m edgekd.benchmarking.worker SPEC.json RESULT.json", file=sys.stderr)
        return 2
    return run(args[0], args[1])


if __name__ == "__main__":
    sys.exit(main())
