"""``--model-arg name=value`` options as a model builder's keyword arguments. Torch-free."""

from __future__ import annotations

from edgekd.errors import EdgekdError

__all__ = ["parse_model_args"]


def parse_model_args(items: list[str] | None) -> dict:
    """``["width=16", "depth=4"]`` -> ``{"width": 16, "depth": 4}`` (ints, floats, else strings)."""
    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise EdgekdError(f"--model-arg '{item}' must look like name=value, e.g. width=16")
        for cast in (int, float):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key] = value
    return out
