"""``edgekd attention-agreement``: do the students look where the teacher looks, and do the maps matter?

For one split of a data set, every model (the teacher and each student checkpoint)
gets its map (``--map``, computed at the input size for the predicted class, over the
stages :func:`edgekd.explain.layers.map_layers` picks) and its accuracy. Then, with
the functions of :mod:`edgekd.explain.agreement`:

* agreement of each student with the teacher: Pearson r per image, averaged (images
  where either map is constant are left out and counted), and IoU of the top 20 %;
* faithfulness of each model's own map: the deletion curve (10 steps of 10 % of the
  pixels, most attended first, removed pixels set to 0, the data set mean after
  normalisation) and its area, beside the same procedure with random maps from a fixed
  seed on the same model (the baseline a useful map must beat: a lower area).

Writes ``agreement.json``, ``deletion.png`` and ``agreement.png`` into ``out``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgekd.errors import EdgekdError
from edgekd.explain.agreement import curve_auc, deletion_curve, pearson, random_maps, topk_iou
from edgekd.explain.backends import CHECKPOINT_MAPS
from edgekd.explain.figures import agreement_figure, deletion_figure
from edgekd.fileio import atomic_write_json
from edgekd.metrics import accuracy

FILL = 0.0


def model_maps(model: torch.nn.Module, x: torch.Tensor, map_name: str, batch_size: int = 256,
               layers: list[str] | None = None, trained: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(logits N x K, maps N x H x W) of ``model`` over ``x`` in batches, maps at the input size
    (``trained``: the layers a distilled checkpoint records, as explain and the export head use)."""
    from edgekd.attention import registry
    from edgekd.explain.layers import map_layers

    combiner = registry.get(map_name)
    layers = map_layers(model, map_name, x.shape[1:], layers, trained)
    logits, maps = [], []
    with torch.no_grad():  # SALS enables its own input gradient
        for s in range(0, len(x), batch_size):
            att = combiner.compute(model, x[s:s + batch_size], None, layers=layers)
            logits.append(att.logits.detach().float().numpy())
            maps.append(att.map.detach().float().numpy())
    return np.concatenate(logits), np.concatenate(maps)


def _label(path: Path, content: dict[str, Any], taken: set[str]) -> str:
    label = f"{content['model']['name']} ({path.parent.name or path.stem})"
    base, i = label, 2
    while label in taken:
        label, i = f"{base} #{i}", i + 1
    taken.add(label)
    return label


def _curves(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, own: np.ndarray, rand: np.ndarray,
            steps: int, seed: int, batch_size: int) -> dict[str, Any]:
    out = {}
    for key, maps in (("deletion", own), ("random", rand)):
        fractions, acc = deletion_curve(model, x, y, maps, steps=steps, fill=FILL, batch_size=batch_size, seed=seed)
        out[key] = {"fractions": fractions.tolist(), "accuracy": acc.tolist(), "auc": curve_auc(fractions, acc)}
    return out


def _summary(values: np.ndarray) -> dict[str, Any]:
    defined = values[np.isfinite(values)]
    return {"mean": float(defined.mean()) if len(defined) else None,
            "std": float(defined.std()) if len(defined) else None,
            "undefined": int(len(values) - len(defined)), "per_image": [None if not np.isfinite(v) else float(v)
                                                                        for v in values]}


def attention_agreement(teacher: str | Path, students: list[str | Path], dataset: str | None = None,
                        split: str = "test", map_name: str = "fma", out: str | Path = "agreement",
                        data_dir: str | Path | None = None, limit: int | None = None, steps: int = 10,
                        top_fraction: float = 0.2, seed: int = 0, batch_size: int = 256) -> dict[str, Any]:
    """Run the comparison and write its JSON and figures; returns the JSON's content."""
    from edgekd.attention.stages import trained_layers
    from edgekd.data.registry import get_source, load_split
    from edgekd.train.batches import TensorSplit
    from edgekd.train.checkpoint import build_model, load_checkpoint

    if map_name not in CHECKPOINT_MAPS:
        raise EdgekdError(f"unknown map {map_name!r}: choose one of {', '.join(CHECKPOINT_MAPS)}")
    if not students:
        raise EdgekdError("give at least one --student checkpoint to compare with the teacher")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EdgekdError(f"--out {out} is a file: give a folder for agreement.json and the figures")
    if limit is not None and limit < 1:
        raise EdgekdError(f"--limit must be at least 1, got {limit}")
    paths = [Path(teacher), *(Path(s) for s in students)]
    contents = [load_checkpoint(p) for p in paths]
    dataset = dataset or contents[0]["data"]["name"]
    source = get_source(dataset)
    info = source.info
    for path, content in zip(paths, contents, strict=True):
        d = content["data"]
        if (d["channels"], d["size"], d["num_classes"]) != (info.channels, info.size, info.num_classes):
            raise EdgekdError(f"{path} takes {d['channels']}x{d['size']}x{d['size']} inputs with {d['num_classes']} "
                              f"classes but {dataset} has {info.channels}x{info.size}x{info.size} with "
                              f"{info.num_classes}: compare models trained on the same data set")
    split_data = load_split(dataset, split, data_dir, source=source)
    data = TensorSplit.from_split(split_data, info)
    x, y = (data.x[:limit], data.y[:limit]) if limit else (data.x, data.y)
    n, h, w = len(x), x.shape[-2], x.shape[-1]
    rand = random_maps(n, h, w, seed)
    taken: set[str] = set()
    records, maps = [], []
    for path, content in zip(paths, contents, strict=True):
        model = build_model(content)
        logits, m = model_maps(model, x, map_name, batch_size, trained=trained_layers(content.get("distill")))
        rec = {"label": _label(path, content, taken), "checkpoint": str(path), "model": content["model"]["name"],
               "params": content.get("params"), "method": (content.get("distill") or {}).get("method", "none"),
               "accuracy": accuracy(y.numpy(), logits),
               "nonfinite_maps": int((~np.isfinite(m.reshape(n, -1))).any(axis=1).sum())}
        rec.update(_curves(model, x, y, m, rand, steps, seed, batch_size))
        records.append(rec)
        maps.append(m)
    for rec, m in zip(records[1:], maps[1:], strict=True):
        rec["pearson"] = _summary(pearson(m, maps[0]))
        rec["iou"] = _summary(topk_iou(m, maps[0], top_fraction))
    result = {"dataset": dataset, "split": split, "n": n, "map": map_name, "target": "predicted class",
              "steps": steps, "top_fraction": top_fraction, "seed": seed,
              "fill": "0 after normalisation (the data set mean)", "teacher": records[0], "students": records[1:]}
    atomic_write_json(out / "agreement.json", result)
    deletion_figure(result, out / "deletion.png")
    agreement_figure(result, out / "agreement.png")
    return result
