"""Row names a person reads at a glance, from what a model file says about itself.

Every edgekd run writes ``model.pt``, so a file stem names nothing. A row is named from
the model's metadata instead::

    resnet20 teacher (pt)
    cnn-small student (onnx)                    trained alone
    cnn-small fma+kd (onnx int8, +fma head)     distilled: method, "+kd" when alpha > 0
    yolov8n-cls (onnx)                          no edgekd metadata: the file stem

Role: the metadata's ``role`` (edgekd >= this version writes it), else "student" for a
distilled model; the teacher of a distillation is named by its architecture and role.
Two rows that would read the same get ``#2``, ``#3`` (the JSON keeps each file's path).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def recipe(meta: dict[str, Any]) -> str | None:
    """``fma+kd``, ``kd``, ``at``... for a distilled model; None when it was trained alone."""
    method = meta.get("method")
    alpha = meta.get("alpha")
    if method in (None, "none") and not alpha:
        return None
    parts = [] if method in (None, "none", "kd") else [str(method)]
    if method == "kd" or (alpha or 0) > 0:
        parts.append("kd")
    return "+".join(parts) or "ce"


def model_name(meta: dict[str, Any], path: str | Path) -> str:
    """The row name of one model file (see the module doc)."""
    path = Path(path)
    fmt = str(meta.get("format") or path.suffix.lstrip(".").lower() or "?")
    if not meta.get("model"):
        return f"{path.stem} ({fmt})"
    who = recipe(meta) or meta.get("role")
    artifact = fmt
    quant = meta.get("quantize")
    if quant and quant != "none":
        artifact += f" {quant}"
    head = meta.get("attention_head")
    if head and head != "none":
        artifact += f", +{head} head"
    return " ".join(p for p in (str(meta["model"]), who, f"({artifact})") if p)


def unique_names(names: Sequence[str]) -> list[str]:
    """``names`` with repeats numbered: a, a #2, a #3."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out
