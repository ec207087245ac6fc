"""``edgekd attention-agreement``: are the maps faithful to their models, and do students look where the teacher looks?

For one split of a data set (the first ``limit`` images), the teacher and each student
checkpoint get every map (``maps``, default all: fma, mip, cam, sals, and GradCAM from
pytorch-grad-cam as the reference where installed) for the class they predict. Then,
with :mod:`edgekd.explain.faithfulness`:

* faithfulness of each model's own maps: insertion and deletion curves of the softmax
  probability of the predicted class (``steps`` steps) and the per-image ins−del score;
  beside them the four controls on the same model (random, smooth random, centre,
  brightness) and paired 95 % t-intervals of map − control over the images. The fill
  (``mean`` or ``blur``) is the one whose fully-removed image leaves the *teacher* least
  decisive (``fill="auto"``), and is written into the JSON with both candidates' values;
  every model is measured with it. The informative subset (fully-removed image not given
  the predicted class) is reported beside all images;
* agreement of each student's map with the teacher's same map: Pearson r per image
  minus r with the teacher's map of another image (a fixed derangement), with its
  interval: the image-specific part of the agreement.

Per-image scores are kept in the JSON so a benchmark can pool seeds. Writes
``agreement.json``, ``faithfulness.png`` (ins−del vs the controls) and ``curves.png``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.explain import faithfulness as fa
from edgekd.explain.model_maps import ALL_MAPS, default_maps, model_map, probabilities
from edgekd.fileio import atomic_write_json
from edgekd.progress import progress_bar

FILL_CHOICES = ("auto", *fa.FILLS)


def _label(path: Path, content: dict[str, Any], taken: set[str]) -> str:
    label = f"{content['model']['name']} ({path.parent.name or path.stem})"
    base, i = label, 2
    while label in taken:
        label, i = f"{base} #{i}", i + 1
    taken.add(label)
    return label


def _r(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 5) for v in values]


def score_record(curves: dict[str, np.ndarray], inform: np.ndarray,
                 controls: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Summary of one map's ins−del on one model: mean curves, the score with its interval on
    all images and on the informative subset, and (``controls``: their per-image scores)
    the paired map − control intervals."""
    s = curves["ins_del"]
    rec = {"deletion": curves["deletion"].mean(0).tolist(), "insertion": curves["insertion"].mean(0).tolist(),
           "ins_del": fa.paired_interval(s), "informative": fa.paired_interval(s[inform]), "per_image": _r(s)}
    if controls:
        rec["vs"] = {c: fa.paired_interval(s, v) for c, v in controls.items()}
        rec["informative_vs"] = {c: fa.paired_interval(s[inform], v[inform]) for c, v in controls.items()}
    return rec


def _check_inputs(paths: list[Path], contents: list[dict], dataset: str, info: Any) -> None:
    for path, content in zip(paths, contents, strict=True):
        d = content["data"]
        if (d["channels"], d["size"], d["num_classes"]) != (info.channels, info.size, info.num_classes):
            raise EdgekdError(f"{path} takes {d['channels']}x{d['size']}x{d['size']} inputs with {d['num_classes']} "
                              f"classes but {dataset} has {info.channels}x{info.size}x{info.size} with "
                              f"{info.num_classes}: compare models trained on the same data set")


def measure_model(model: Any, x: np.ndarray, y: np.ndarray, maps: list[str], filled: np.ndarray,
                  controls: dict[str, np.ndarray], steps: int, seed: int, batch_size: int,
                  advance: Any = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(record, computed maps) of one model: accuracy, the informative subset, every map's
    and every control's ins−del (maps also against each control)."""
    def prob(b: np.ndarray) -> np.ndarray:
        return probabilities(model, b)

    pred = np.concatenate([prob(x[s:s + batch_size]).argmax(1) for s in range(0, len(x), batch_size)])
    inform = fa.informative(prob, filled, pred, batch_size)
    rec: dict[str, Any] = {"accuracy": float(np.mean(pred == y)), "n_informative": int(inform.sum()),
                           "informative_mask": inform.tolist(), "controls": {}, "maps": {}, "unavailable": {}}
    control_scores = {}
    for name, cmap in controls.items():
        curves = fa.ins_del(prob, x, cmap, filled, pred, steps, seed, batch_size)
        control_scores[name] = curves["ins_del"]
        rec["controls"][name] = score_record(curves, inform)
        advance and advance()
    computed = {}
    for name in maps:
        try:
            m = model_map(model, x, name, batch_size)
        except EdgekdError as exc:
            rec["unavailable"][name] = str(exc)
            advance and advance()
            continue
        computed[name] = m
        rec["maps"][name] = score_record(fa.ins_del(prob, x, m, filled, pred, steps, seed, batch_size), inform,
                                         control_scores)
        rec["maps"][name]["nonfinite"] = int((~np.isfinite(m.reshape(len(m), -1))).any(axis=1).sum())
        advance and advance()
    return rec, computed


def _agreement(student: dict[str, np.ndarray], teacher: dict[str, np.ndarray], perm: np.ndarray) -> dict[str, Any]:
    out = {}
    for name in student.keys() & teacher.keys():
        g = fa.agreement_gain(student[name], teacher[name], perm)
        out[name] = {"r": fa.paired_interval(g["r"]), "r_shuffled": fa.paired_interval(g["r_shuffled"]),
                     "gain": fa.paired_interval(g["gain"]), "per_image": _r(g["gain"])}
    return out


def _cached(cache_dir: str | Path | None, key: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    if cache_dir is None or not (Path(cache_dir) / f"{key}.json").exists():
        return None
    with np.load(Path(cache_dir) / f"{key}.npz") as z:
        maps = {k: z[k] for k in z.files}
    return json.loads((Path(cache_dir) / f"{key}.json").read_text()), maps


def _store(cache_dir: str | Path | None, key: str, rec: dict[str, Any], maps: dict[str, np.ndarray]) -> None:
    if cache_dir is None:
        return
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    np.savez(Path(cache_dir) / f"{key}.npz", **maps)
    atomic_write_json(Path(cache_dir) / f"{key}.json", rec)  # written last: its presence marks a complete entry


def attention_agreement(teacher: str | Path, students: list[str | Path], dataset: str | None = None,
                        split: str = "test", maps: list[str] | None = None, out: str | Path = "agreement",
                        data_dir: str | Path | None = None, limit: int | None = None, steps: int = 10,
                        fill: str = "auto", seed: int = 0, batch_size: int = 256, quiet: bool = False,
                        cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Run the comparison and write its JSON and figures; returns the JSON's content.

    ``cache_dir``: keep each model's measurement there (keyed by the checkpoint's SHA-256 and
    every setting) and reuse it, so a benchmark can measure its teacher while students train.
    """
    from edgekd.data.registry import get_source, load_split
    from edgekd.explain.figures import curves_figure, faithfulness_figure
    from edgekd.training.batches import TensorSplit
    from edgekd.training.checkpoint import build_model, load_checkpoint

    maps = list(maps) if maps else default_maps()
    unknown = [m for m in maps if m not in ALL_MAPS]
    if unknown:
        raise EdgekdError(f"unknown map {unknown[0]!r}: choose among {', '.join(ALL_MAPS)}")
    if fill not in FILL_CHOICES:
        raise EdgekdError(f"unknown fill {fill!r}: choose one of {', '.join(FILL_CHOICES)}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EdgekdError(f"--out {out} is a file: give a folder for agreement.json and the figures")
    if limit is not None and limit < 2:
        raise EdgekdError(f"--limit must be at least 2 (intervals need pairs), got {limit}")
    paths = [Path(teacher), *(Path(s) for s in students)]
    contents = [load_checkpoint(p) for p in paths]
    dataset = dataset or contents[0]["data"]["name"]
    source = get_source(dataset)
    info = source.info
    _check_inputs(paths, contents, dataset, info)
    data = TensorSplit.from_split(load_split(dataset, split, data_dir, source=source), info)
    x, y = data.x.numpy()[:limit], data.y.numpy()[:limit]
    models = [build_model(c) for c in contents]
    if fill == "auto":
        fill, decisiveness = fa.choose_fill(lambda b: probabilities(models[0], b), x, batch_size)
    else:
        decisiveness = None
    filled = fa.fill_images(x, fill)
    controls = fa.control_maps(x, seed, info.mean, info.std)
    perm = fa.derangement(len(x), seed)
    taken: set[str] = set()
    records, computed = [], []
    with progress_bar("maps", disable=quiet) as bar:
        task = bar.add_task("faithfulness", total=len(models) * (len(maps) + len(controls)), status="")
        for path, content, model in zip(paths, contents, models, strict=True):
            label = _label(path, content, taken)
            bar.update(task, status=label)
            key = f"{content['checkpoint_sha256'][:16]}-{dataset}-{split}-n{len(x)}-s{steps}-{fill}-{seed}-{'+'.join(maps)}"
            cached = _cached(cache_dir, key)
            if cached:
                rec, m = cached
                bar.advance(task, len(maps) + len(controls))
            else:
                rec, m = measure_model(model, x, y, maps, filled, controls, steps, seed, batch_size,
                                       lambda: bar.advance(task))
                _store(cache_dir, key, rec, m)
            records.append({"label": label, "checkpoint": str(path), "model": content["model"]["name"],
                            "params": content.get("params"),
                            "method": (content.get("distill") or {}).get("method", "none"), **rec})
            computed.append(m)
    for rec, m in zip(records[1:], computed[1:], strict=True):
        rec["agreement"] = _agreement(m, computed[0], perm)
    result = {"dataset": dataset, "split": split, "n": int(len(x)), "maps": maps, "controls": list(controls),
              "target": "softmax probability of the class predicted on the intact image", "steps": steps,
              "fractions": np.linspace(0, 1, steps + 1).tolist(), "seed": seed, "binary": info.num_classes == 2,
              "fill": fill, "fill_decisiveness": decisiveness,
              "fill_rule": "the fill whose fully-removed images get the teacher's lowest mean top-class probability",
              "shuffle": "teacher map of image perm[i], perm a fixed seeded derangement",
              "teacher": records[0], "students": records[1:]}
    atomic_write_json(out / "agreement.json", result)
    faithfulness_figure(result, out / "faithfulness.png")
    curves_figure(result, out / "curves.png")
    return result
