"""``edgekd explain`` as a library call: predictions, maps, overlay PNGs and ``explain.json``.

Torch is imported only when the model is a checkpoint (.pt); explaining an exported
model with an attention head runs on numpy, the runtime and Pillow alone,
as on an edge device. ``explain.json`` records per image the overlay file, the input's
source, the predicted class and its probability, the true class when known, and the
map's statistics (:func:`edgekd.explain.overlay.map_stats`), so a screening system can
log why each decision was made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.explain.backends import open_backend
from edgekd.explain.images import normalise, resolve_inputs
from edgekd.explain.overlay import map_stats, save_overlay, title_for
from edgekd.fileio import atomic_write_json


def _short(source: str, limit: int = 70) -> str:
    return source if len(source) <= limit else "..." + source[-(limit - 3):]


def _warnings(meta: dict[str, Any]) -> list[str]:
    """What a reader of the overlays must know: an exported map too coarse to mean much."""
    from edgekd.runtime.attention import coarse_grid_note

    grid = meta.get("attention_grid")
    note = coarse_grid_note(grid, meta["input_size"]) if grid else None
    return [note] if note else []


def explain(model: str | Path, inputs: list[str], map_name: str | None = None, out: str | Path = "explain",
            split: str = "test", n: int = 8, data_dir: str | Path | None = None, runtime: str = "auto",
            layers: list[str] | None = None, batch_size: int = 64, resize: bool = False) -> dict[str, Any]:
    """Explain ``inputs`` (image files and/or data set names) with ``model``; returns explain.json's content.

    ``map_name``: fma, mip, cam, sals (checkpoint) or head (exported model); None picks
    the head for an exported model and FMA for a checkpoint. ``resize``: convert image files
    whose size or channels do not fit the model (else refused); each record says what changed.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EdgekdError(f"--out {out} is a file: give a folder for the overlays and explain.json")
    backend = open_backend(model, runtime, layers)
    try:
        kind = backend.resolve_map(map_name)
        meta = backend.meta
        class_names = [str(c) for c in meta["class_names"]]
        data = resolve_inputs(inputs, tuple(meta["input_size"]), class_names, split, n, data_dir, resize,
                              meta.get("preprocess"))
        x = normalise(data.images, meta["mean"], meta["std"])
        probs, maps = [], []
        for s in range(0, len(x), batch_size):
            p, m = backend.explain(x[s:s + batch_size], kind)
            probs.append(p)
            maps.append(m)
        probs_all, maps_all = np.concatenate(probs), np.concatenate(maps)
        if probs_all.shape[1] != len(class_names):
            raise EdgekdError(f"{model} gives {probs_all.shape[1]} logits but its metadata names "
                              f"{len(class_names)} classes: re-export it")
        label = backend.describe(kind)
        records = []
        for i in range(len(x)):
            pred = int(probs_all[i].argmax())
            true = class_names[int(data.labels[i])] if data.labels[i] >= 0 else None
            file = f"{i:03d}_{data.stems[i]}.png"
            title = title_for(class_names[pred], float(probs_all[i, pred]), true, _short(data.sources[i]))
            save_overlay(data.images[i], maps_all[i], out / file, title, f"{label} over the input")
            records.append({
                "file": file, "source": data.sources[i], "predicted_class": class_names[pred],
                "predicted_index": pred, "probability": float(probs_all[i, pred]),
                "true_class": true, "correct": None if true is None else true == class_names[pred],
                "probabilities": {c: float(v) for c, v in zip(class_names, probs_all[i], strict=True)},
                "map_stats": map_stats(maps_all[i]),
                "converted": data.conversions[i] if data.conversions else None,
            })
        result = {
            "model": str(model), "source": backend.kind, "runtime": backend.runtime, "map": kind,
            "map_label": label, "head": backend.head, "class_names": class_names,
            "input_size": [int(v) for v in meta["input_size"]], "dataset": meta.get("dataset"),
            "map_shape": [int(v) for v in maps_all.shape[1:]], "n": len(records), "images": records,
            "warnings": _warnings(meta),
        }
        atomic_write_json(out / "explain.json", result)
        return result
    finally:
        backend.close()
