"""Are the maps faithful, and do distilled students look where the teacher looks *for this image*?

Per data set, one ResNet-20 teacher and cnn-tiny students trained alone (CE), with FMA
(alpha 0), FMA + KD, MIP + KD (the default), FMA + KD with the centred map loss, CAM + KD and
CAM + KD with the cosine map loss (the tries at faithful student maps), 3 seeds each, made by ``edgekd train`` / ``edgekd distill
--teacher-cache`` as ``COMMANDS`` says (the study's recipes, benchmarks/study/lib/plan.py,
with shorter teacher schedules to fit a shared 2-core machine; each run's own config is
read back from its metrics.json into the JSON). Runs
``edgekd attention-agreement`` once per data set on the first ``--n`` test images (every
map: fma, mip, cam, sals, GradCAM; four controls; paired intervals), pools the seeds
(per image, the mean over seeds; on the informative subset over the seeds where the image
is informative), and writes benchmarks/faithfulness/faithfulness.{json,md} and faithfulness.png
(overlays per map), plus the command's own figures under benchmarks/faithfulness/.

    OMP_NUM_THREADS=1 python benchmarks/faithfulness/faithfulness.py --train [--n 300] [--work benchmarks/_work/faithfulness]

``--measure-only`` measures the finished models into the cache (run it while students train);
``--cached-only`` reports only what the cache holds (the JSON lists the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
METHODS = {"ce": "student alone (CE)", "fma": "FMA (alpha 0)", "fma+kd": "FMA + KD (alpha 0.9)",
           "mip+kd": "MIP + KD (the default)", "fma+kd-centred": "FMA + KD, centred map loss",
           "cam+kd": "CAM + KD", "cam+kd-cosine": "CAM + KD, cosine map loss (e2KD-style)"}
# The tries at faithful student maps: (group, compared with, map), paired over images
TRIES = (("fma+kd-centred", "fma+kd", "fma"), ("fma+kd-centred", "fma+kd", "cam"), ("cam+kd", "fma+kd", "cam"),
         ("cam+kd", "mip+kd", "cam"), ("cam+kd", "ce", "cam"), ("mip+kd", "ce", "cam"),
         ("cam+kd-cosine", "cam+kd", "cam"), ("cam+kd-cosine", "ce", "cam"), ("cam+kd-cosine", "mip+kd", "cam"))
MATCHED_MAP = {"fma": "fma", "fma+kd": "fma", "mip+kd": "mip", "fma+kd-centred": "fma", "cam+kd": "cam",
               "cam+kd-cosine": "cam"}
SEEDS = (0, 1, 2)
DATASETS = ("pneumoniamnist", "mnist")
THRESHOLDS = {"teacher_fma_vs_random": 0.15, "teacher_fma_vs_centre": 0.05, "head_vs_random_informative": 0.05,
              "head_within_gradcam": 0.05, "agreement_gain_over_alone": 0.10}
DEFAULT_HEAD = "cam"
# How the models under --work were made (W = the work folder; {m} in ce, fma, fma+kd; {s} in 0 1 2;
# {opts} = STUDENT_OPTS[m]). MNIST trains on a seed-dependent 10 % subsample, so its teacher cache is per seed.
STUDENT_OPTS = {"ce": "--method none", "fma": "--method fma --alpha 0 --beta 1",
                "fma+kd": "--method fma --alpha 0.9 --beta 1", "mip+kd": "--method mip --alpha 0.9 --beta 1",
                "fma+kd-centred": "--method fma --alpha 0.9 --beta 1 --att-loss centred",
                "cam+kd": "--method cam --alpha 0.9 --beta 1",
                "cam+kd-cosine": "--method cam --alpha 0.9 --beta 1 --att-loss cosine"}
COMMANDS = {
    "pneumoniamnist": [
        "edgekd train --model resnet20 --dataset pneumoniamnist --epochs 6 --batch-size 128 --lr 0.1 --augment "
        "--seed 0 --select auc --out W/pneumoniamnist/teacher",
        "edgekd distill --teacher W/pneumoniamnist/teacher/model.pt --student cnn-tiny {opts} "
        "--temperature 4 --no-augment --teacher-cache W/pneumoniamnist/cache --epochs 10 --batch-size 128 --lr 0.05 "
        "--select auc --seed {s} --out W/pneumoniamnist/{m}/s{s}"],
    "mnist": [
        "edgekd train --model resnet20 --dataset mnist --epochs 3 --batch-size 128 --lr 0.1 --augment --seed 0 "
        "--select accuracy --label-fraction 0.2 --out W/mnist/teacher",
        "edgekd distill --teacher W/mnist/teacher/model.pt --student cnn-tiny {opts} --temperature 4 "
        "--no-augment --teacher-cache W/mnist/cache-s{s} --epochs 15 --batch-size 64 --lr 0.05 --select accuracy "
        "--label-fraction 0.1 --seed {s} --out W/mnist/{m}/s{s}"],
}


def pooled(per_seed: list[list[float | None]], masks: list[np.ndarray] | None = None,
           base: list[list[float | None]] | None = None) -> dict:
    """Per image, the mean over seeds (of ``a - base`` where given; only seeds where ``masks``
    is true), then the paired t-interval over images; plus the per-seed means."""
    from edgekd.explain.faithfulness import paired_interval

    a = np.array([[np.nan if v is None else v for v in s] for s in per_seed], dtype=np.float64)
    if base is not None:
        a = a - np.array([[np.nan if v is None else v for v in s] for s in base], dtype=np.float64)
    if masks is not None:
        a = np.where(np.array(masks), a, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns: an image no seed makes informative
        per_image = np.nanmean(a, axis=0)
        seeds = [float(np.nanmean(s)) if np.isfinite(s).any() else None for s in a]
    return {**paired_interval(per_image), "per_seed": seeds}


def _seed_mean(per_seed: list[list[float | None]]) -> list[float | None]:
    a = np.array([[np.nan if v is None else v for v in s] for s in per_seed], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmean(a, axis=0)
    return [None if not np.isfinite(v) else float(v) for v in m]


def _masked_seed_mean(group: list[dict], name: str, informative: bool) -> list[float | None]:
    """Per image, one group's ins−del of map ``name`` averaged over its seeds (informative
    images only, per seed, when ``informative``)."""
    rows = []
    for s in group:
        scores = (s["maps"].get(name) or s["controls"].get(name))["per_image"]
        mask = s["informative_mask"] if informative else [True] * len(scores)
        rows.append([v if keep else None for v, keep in zip(scores, mask, strict=True)])
    return _seed_mean(rows)


def tries(result: dict, binary: bool) -> list[dict]:
    """Each try of ``TRIES`` against its comparison group: ins−del difference of the same map,
    per image (seed means), paired over images; on binary sets also the informative subset."""
    out = []
    for group, other, name in TRIES:
        a, b = _students(result, group), _students(result, other)
        if not a or not b:
            continue
        rec = {"group": group, "vs": other, "map": name,
               "all": pooled([_masked_seed_mean(a, name, False)], None, [_masked_seed_mean(b, name, False)])}
        if binary:
            rec["informative"] = pooled([_masked_seed_mean(a, name, True)], None, [_masked_seed_mean(b, name, True)])
        out.append(rec)
    return out


def _students(result: dict, method: str) -> list[dict]:
    return [s for s in result["students"] if s["group"] == method]


def summarise(result: dict, dataset: str) -> dict:
    """The tables of one data set: per model group and map, ins−del vs random / centre /
    brightness / GradCAM, all images and the informative subset; agreement gains."""
    t = result["teacher"]
    out = {"n": result["n"], "fill": result["fill"], "fill_decisiveness": result["fill_decisiveness"],
           "binary": result["binary"], "teacher": {"accuracy": t["accuracy"], "n_informative": t["n_informative"],
                                                   "maps": {}}, "students": {}}
    for name, m in {**t["maps"], **t["controls"]}.items():
        out["teacher"]["maps"][name] = {"ins_del": m["ins_del"], "informative": m["informative"],
                                        "vs": m.get("vs", {}), "informative_vs": m.get("informative_vs", {}),
                                        "vs_gradcam": _vs_gradcam_single(t, name)}
    for method in METHODS:
        group = _students(result, method)
        if not group:
            continue
        masks = [np.array(s["informative_mask"]) for s in group]
        rec = {"seeds": [s["seed"] for s in group], "accuracy": [s["accuracy"] for s in group],
               "n_informative": [s["n_informative"] for s in group],
               "maps": {}, "agreement": {}}
        names = list(group[0]["maps"]) + list(group[0]["controls"])
        for name in names:
            scores = [(s["maps"].get(name) or s["controls"].get(name))["per_image"] for s in group]
            entry = {"ins_del": pooled(scores), "informative": pooled(scores, masks), "vs": {}, "informative_vs": {}}
            for control in result["controls"] + (["gradcam"] if "gradcam" in group[0]["maps"] else []):
                if control == name:
                    continue
                base = [(s["controls"].get(control) or s["maps"].get(control))["per_image"] for s in group]
                entry["vs"][control] = pooled(scores, None, base)
                entry["informative_vs"][control] = pooled(scores, masks, base)
            rec["maps"][name] = entry
        for name in group[0].get("agreement", {}):
            gains = [s["agreement"][name]["per_image"] for s in group]
            rec["agreement"][name] = {"gain": pooled(gains), "r": float(np.mean([s["agreement"][name]["r"]["mean"]
                                                                                 for s in group]))}
            if method != "ce" and _students(result, "ce"):
                alone = [s["agreement"][name]["per_image"] for s in _students(result, "ce")]
                # per image: this group's seed-mean gain minus the student alone's seed-mean gain
                rec["agreement"][name]["over_alone"] = pooled([_seed_mean(gains)], None, [_seed_mean(alone)])
        out["students"][method] = rec
    out["tries"] = tries(result, result["binary"])
    return out


def _vs_gradcam_single(model: dict, name: str) -> dict | None:
    from edgekd.explain.faithfulness import paired_interval

    if "gradcam" not in model["maps"] or name == "gradcam":
        return None
    own = (model["maps"].get(name) or model["controls"].get(name))["per_image"]
    ref = model["maps"]["gradcam"]["per_image"]
    return paired_interval([np.nan if v is None else v for v in own], [np.nan if v is None else v for v in ref])


def train_missing(work: Path, ds: str) -> None:
    """Make the models of ``COMMANDS`` that ``work`` lacks (the teacher first; a finished run is kept)."""
    import subprocess
    import sys

    edgekd = Path(sys.executable).parent / "edgekd"
    teacher_cmd, student_cmd = COMMANDS[ds]
    todo = [(work / ds / "teacher", teacher_cmd)]
    todo += [(work / ds / m / f"s{s}", student_cmd.format(opts=STUDENT_OPTS[m], m=m, s=s))
             for s in SEEDS for m in METHODS]
    for run, cmd in todo:
        if (run / "test.json").exists():
            continue
        args = cmd.replace("W/", f"{work}/").split()[1:] + ["--force", "--quiet"]
        print("+ edgekd", " ".join(args), flush=True)
        subprocess.run([str(edgekd), *args], check=True)


def recipe(run: Path) -> dict:
    """How a model was made, read back from its run folder."""
    m = json.loads((run / "metrics.json").read_text())
    d = m.get("distill") or {}
    return {"run": str(run.relative_to(HERE.parents[1])) if run.is_relative_to(HERE.parents[1]) else str(run),
            "model": m["model"]["name"], "params": m["params"], "train": m["config"],
            "distill": {k: d.get(k) for k in ("method", "alpha", "temperature", "beta", "att_loss", "teacher_layers",
                                              "student_layers")} if d else None,
            "command": "edgekd distill --teacher-cache" if d else "edgekd train",
            "best": {"epoch": m["best"]["epoch"], "val": m["best"]["val"]}}


def overlays(work: Path, datasets: list[str], path: Path, n_images: int = 3) -> None:
    """Rows: images of each data set; columns: maps of the teacher and of the seed-0 students."""
    import torch

    from edgekd.data.registry import get_source, load_split
    from edgekd.explain.model_maps import model_map
    from edgekd.plotting import pyplot
    from edgekd.training.batches import TensorSplit
    from edgekd.training.checkpoint import load_model

    cols = [("teacher", "fma"), ("teacher", "cam"), ("teacher", "gradcam"), ("ce", "fma"), ("ce", "cam"),
            ("fma+kd", "fma"), ("fma+kd", "cam"), ("mip+kd", "mip"), ("mip+kd", "cam"), ("fma+kd-centred", "fma"),
            ("cam+kd", "cam"), ("cam+kd", "gradcam")]
    cols = [(who, name) for who, name in cols  # a group every data set has a finished seed-0 model of
            if all((work / ds / (who if who == "teacher" else f"{who}/s0") / "test.json").exists() for ds in datasets)]
    plt = pyplot()
    fig, axes = plt.subplots(n_images * len(datasets), len(cols) + 1,
                             figsize=(1.5 * (len(cols) + 1), 1.6 * n_images * len(datasets) + 0.5), squeeze=False)
    torch.manual_seed(0)
    for di, ds in enumerate(datasets):
        info = get_source(ds).info
        data = TensorSplit.from_split(load_split(ds, "test"), info)
        x = data.x.numpy()[:n_images]
        raw = x * np.asarray(info.std).reshape(1, -1, 1, 1) + np.asarray(info.mean).reshape(1, -1, 1, 1)
        for i in range(n_images):
            ax = axes[di * n_images + i, 0]
            ax.imshow(raw[i].mean(0), cmap="gray")
            ax.set_ylabel(f"{ds}\n#{i} (y={int(data.y[i])})", fontsize=6)
        for j, (who, name) in enumerate(cols, start=1):
            run = work / ds / "teacher" if who == "teacher" else work / ds / who / "s0"
            model, _ = load_model(run / "model.pt")
            maps = model_map(model, x, name)
            for i in range(n_images):
                ax = axes[di * n_images + i, j]
                ax.imshow(raw[i].mean(0), cmap="gray")
                ax.imshow(maps[i], cmap="jet", alpha=0.45, vmin=0, vmax=1)
                if di == 0 and i == 0:
                    label = "teacher" if who == "teacher" else METHODS[who].split(" (")[0].replace(", ", "\n")
                    ax.set_title(f"{label}\n{name}",
                                 fontsize=6)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Maps of the predicted class (seed-0 students, cnn-tiny); jet = most attended", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def targets(summary: dict) -> dict:
    """The targets per data set: met / missed, the interval, and by how much."""
    out = {}
    for ds, s in summary.items():
        t = s["teacher"]["maps"]["fma"]
        rows = [("teacher FMA − random (ins−del)", t["vs"]["random"], THRESHOLDS["teacher_fma_vs_random"]),
                ("teacher FMA − centre (ins−del)", t["vs"]["centre"], THRESHOLDS["teacher_fma_vs_centre"])]
        for method in s["students"]:
            head = s["students"][method]["maps"][DEFAULT_HEAD]
            key = "informative_vs" if s["binary"] else "vs"
            subset = "informative subset" if s["binary"] else "all images"
            rows.append((f"{method} student, {DEFAULT_HEAD} head − random ({subset})", head[key]["random"],
                         THRESHOLDS["head_vs_random_informative"]))
            if "gradcam" in head["vs"]:
                rows.append((f"{method} student, |{DEFAULT_HEAD} − GradCAM| (all images)", head["vs"]["gradcam"],
                             -THRESHOLDS["head_within_gradcam"]))
        for method in [m for m in MATCHED_MAP if m in s["students"] and "ce" in s["students"]]:
            name = MATCHED_MAP[method]
            g = s["students"][method]["agreement"][name]["over_alone"]
            rows.append((f"{method} student: {name.upper()} r − r_shuffled over the student alone's", g,
                         THRESHOLDS["agreement_gain_over_alone"]))
        out[ds] = []
        for label, iv, thr in rows:
            if thr < 0:  # "within |thr|": the whole interval inside [-|thr|, |thr|]
                met = iv["low"] is not None and -thr >= max(abs(iv["low"]), abs(iv["high"]))
                by = -thr - max(abs(iv["low"]), abs(iv["high"]))
                goal = f"within ±{-thr:.2f}"
            else:
                met = iv["mean"] >= thr and iv["low"] is not None and iv["low"] > 0
                by = iv["mean"] - thr
                goal = f">= {thr:.2f}, interval above 0"
            out[ds].append({"target": label, "goal": goal, "interval": iv, "met": bool(met), "margin": by})
    return out


def markdown(summary: dict, goals: dict, models: dict) -> str:
    from edgekd.explain.faithfulness import format_interval

    lines = ["# Faithfulness of the maps, and image-specific agreement with the teacher", "",
             "Generated by `benchmarks/faithfulness/faithfulness.py` (`edgekd attention-agreement`). Per data set: one ResNet-20 "
             "teacher, cnn-tiny students trained alone (CE), with FMA (alpha 0), FMA + KD (alpha 0.9), MIP + KD (edgekd's "
             "default), FMA + KD with the centred map loss (image-specific parts only), CAM + KD (the student's CAM "
             "matched to the teacher's) and CAM + KD with the cosine map loss (`--att-loss cosine`, e2KD-style), seeds "
             f"{', '.join(map(str, SEEDS))} where measured (listed per data set; recipes in faithfulness.json). "
             "Score: insertion AUC − deletion AUC of the "
             "softmax probability of the class predicted on the intact image (10 steps of 10 % of the pixels, most "
             "attended first, ties in a seeded random order); higher = more faithful; random orderings score 0 by "
             "construction. Intervals: paired 95 % t-intervals over images of map − control (students: per image the "
             "mean over the 3 seeds; informative subset: over the seeds where the fully-removed image is not the "
             "predicted class). Controls: random, smooth random (7 x 7 noise upsampled), centre (Gaussian, sigma H/4), "
             "brightness (the image itself). GradCAM: pytorch-grad-cam 1.5.7 on the last stage, the reference.", ""]
    for ds, s in summary.items():
        dec = ", ".join(f"{k} {v:.3f}" for k, v in (s["fill_decisiveness"] or {}).items())
        lines += [f"## {ds} (test, first {s['n']} images)", "",
                  f"Fill: **{s['fill']}** (mean top-class probability of the fully-removed image, teacher: {dec}; "
                  "the less decisive one is used for every model).", "",
                  f"Teacher: accuracy {s['teacher']['accuracy']:.4f}, informative images "
                  f"{s['teacher']['n_informative']} of {s['n']}.", "",
                  "| model | map | ins−del | − random | − smooth random | − centre | − brightness | − GradCAM |"
                  + (" informative: − random |" if s["binary"] else ""),
                  "|---|---|---|---|---|---|---|---|" + ("---|" if s["binary"] else "")]
        groups = [("teacher", s["teacher"])] + [(METHODS[m], r) for m, r in s["students"].items()]
        for who, rec in groups:
            for name, e in rec["maps"].items():
                if name in ("random", "smooth random", "centre", "brightness") and who != "teacher":
                    continue
                vs = e.get("vs") or {}
                cells = [format_interval(e["ins_del"])]
                cells += [format_interval(vs.get(c)) for c in ("random", "smooth random", "centre", "brightness")]
                cells.append(format_interval(e.get("vs_gradcam") or vs.get("gradcam")))
                if s["binary"]:
                    cells.append(format_interval((e.get("informative_vs") or {}).get("random")))
                lines.append(f"| {who} | {name} | " + " | ".join(cells) + " |")
        missing = [METHODS[m] for m in METHODS if m not in s["students"]]
        lines += ["", "Students measured (seed: test accuracy): " + ("; ".join(
            f"{METHODS[m]} " + ", ".join(f"s{k}: {a:.4f}" for k, a in zip(r["seeds"], r["accuracy"]))
            for m, r in s["students"].items()) or "none")
            + (f"; not measured yet: {', '.join(missing)}" if missing else ""),
            "",
                  "Agreement with the teacher's same map: r − r_shuffled (r with the teacher's map of the same image "
                  "minus r with its map of another image, a fixed derangement), seed-pooled, and its gain over the "
                  "student alone:", "", "| student | map | mean r | r − r_shuffled | over alone |", "|---|---|---|---|---|"]
        for m, r in s["students"].items():
            for name, g in r["agreement"].items():
                lines.append(f"| {METHODS[m]} | {name} | {g['r']:.3f} | {format_interval(g['gain'])} | "
                             f"{format_interval(g.get('over_alone'))} |")
        if s.get("tries"):
            lines += ["", "The tries at faithful student maps: ins−del of the same map, try − comparison, per image "
                      "(seed means), paired over images:", "",
                      "| try | compared with | map | all images |" + (" informative subset |" if s["binary"] else ""),
                      "|---|---|---|---|" + ("---|" if s["binary"] else "")]
            for t in s["tries"]:
                lines.append(f"| {METHODS[t['group']]} | {METHODS[t['vs']]} | {t['map']} | "
                             f"{format_interval(t['all'])} |"
                             + (f" {format_interval(t.get('informative'))} |" if s["binary"] else ""))
        lines.append("")
    lines += ["## Targets", "", "| data set | target | goal | measured [95 % interval] | met | margin |",
              "|---|---|---|---|---|---|"]
    for ds, rows in goals.items():
        for r in rows:
            lines.append(f"| {ds} | {r['target']} | {r['goal']} | {format_interval(r['interval'])} | "
                         f"{'yes' if r['met'] else 'no'} | {r['margin']:+.3f} |")
    lines += ["", "Figures: faithfulness.png (overlays per map), faithfulness/<data set>/faithfulness.png (ins−del "
              "per map and control per model), faithfulness/<data set>/curves.png (mean curves)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--work", type=Path, default=HERE.parent / "_work" / "faithfulness")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--train", action="store_true", help="First make the models COMMANDS lists that --work "
                        "lacks (hours on 2 busy cores, minutes on a quiet machine or a GPU).")
    parser.add_argument("--cached-only", action="store_true", help="Report only the students already measured "
                        "into the cache (the JSON lists which).")
    parser.add_argument("--measure-only", action="store_true", help="Measure the given data sets' teacher and "
                        "finished students into the cache, write nothing under benchmarks/ (then run without it).")
    args = parser.parse_args()
    os.environ.setdefault("EDGEKD_DATA", str(HERE.parents[2] / "shared" / "data"))
    from edgekd.explain.model_maps import gradcam_installed
    from edgekd.explain.study import attention_agreement

    if not gradcam_installed():  # the reference map: without it the tables lose their yardstick silently
        raise SystemExit('error: pytorch-grad-cam is not installed: pip install -c constraints.txt "edgekd[bench]"')

    summary, models = {}, {}
    for ds in args.datasets:
        if args.train:
            train_missing(args.work, ds)
        teacher = args.work / ds / "teacher"
        runs = [(m, seed, args.work / ds / m / f"s{seed}") for m in METHODS for seed in SEEDS]
        out = args.work / ds / "agreement"
        ready = [r for r in runs if (r[2] / "test.json").exists()]  # finished runs only
        if args.cached_only:  # only models already measured into the cache (a partial report, said so)
            from edgekd.training.checkpoint import load_checkpoint

            cached = {p.name.split("-")[0] for p in (args.work / ds / "measured").glob("*.json")}
            ready = [r for r in ready if load_checkpoint(r[2] / "model.pt")["checkpoint_sha256"][:16] in cached]
        result = attention_agreement(teacher / "model.pt", [r / "model.pt" for _, _, r in ready], ds, "test",
                                     None, out, None, args.n, cache_dir=args.work / ds / "measured")
        if args.measure_only:
            continue
        for (method, seed, _), rec in zip(ready, result["students"], strict=True):
            rec["group"], rec["seed"] = method, seed
        summary[ds] = summarise(result, ds)
        models[ds] = {"teacher": recipe(teacher), **{f"{m} s{seed}": recipe(r) for m, seed, r in ready}}
        figs = HERE / ds
        figs.mkdir(parents=True, exist_ok=True)
        for png in ("faithfulness.png", "curves.png"):
            shutil.copy(out / png, figs / png)
    if args.measure_only:
        return
    goals = targets(summary)
    (HERE / "faithfulness.json").write_text(json.dumps({"summary": summary, "targets": goals, "models": models,
                                                        "commands": {d: COMMANDS.get(d) for d in summary},
                                                        "student_options": STUDENT_OPTS,
                                                        "default_head": DEFAULT_HEAD, "n": args.n}, indent=1) + "\n")
    (HERE / "faithfulness.md").write_text(markdown(summary, goals, models))
    overlays(args.work, args.datasets, HERE / "faithfulness.png")
    print((HERE / "faithfulness.md").read_text())


if __name__ == "__main__":
    main()
