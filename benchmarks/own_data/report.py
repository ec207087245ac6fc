"""own_data.md and own_data.png from own_data.json (see own_data.py for what was run)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

T95 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}  # two-sided 95 % t quantiles by n (df = n - 1)


def interval(values: list[float]) -> tuple[float, float, float]:
    """(mean, low, high): the 95 % t interval of the mean over seeds."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), math.nan, math.nan
    half = T95.get(len(v), 1.96) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def accuracy_table(results: dict) -> tuple[list[str], dict]:
    rows = results.get("accuracy", {})
    lines = ["| data set | read from | epochs | test AUC per seed | mean [95 % seed interval] | mean inside the npz "
             "interval |", "|---|---|---:|---|---|---|"]
    verdicts = {}
    for name in sorted({r["dataset"] for r in rows.values()}):
        by = {}
        for r in rows.values():
            if r["dataset"] == name:
                by.setdefault(r["variant"], []).append((r["seed"], r["test_auc"], r["epochs"]))
        ref = interval([a for _, a, _ in by.get("npz", [])])
        for variant, runs in sorted(by.items(), key=lambda kv: kv[0] != "npz"):
            runs.sort()
            mean, lo, hi = interval([a for _, a, _ in runs])
            inside = "-" if variant == "npz" else ("yes" if ref[1] <= mean <= ref[2] else "no")
            verdicts[f"{name}/{variant}"] = inside
            lines.append(f"| {name} | {variant} | {runs[0][2]} | {', '.join(f'{a:.4f}' for _, a, _ in runs)} | "
                         f"{mean:.4f} [{lo:.4f}, {hi:.4f}] | {inside} |")
    return lines, verdicts


def cost_table(results: dict) -> list[str]:
    lines = ["| model | size | peak RSS measured | estimate | error | s / epoch measured (epoch 2) | estimate | error | "
             "estimate's parts (MB) |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(results.get("cost", {}).values(), key=lambda r: (r["model"], r["size"])):
        parts = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in r["estimate_parts"].items())
        lines.append(f"| {r['model']} | {r['size']} px | {r['peak_rss_bytes'] / 2**30:.2f} GB | "
                     f"{r['estimated_peak_bytes'] / 2**30:.2f} GB "
                     f"| {r['peak_error']:+.0%} | {r['epoch2_s']:.1f} | {r['estimated_epoch_s']:.1f} | "
                     f"{r['epoch_error']:+.0%} | {parts} |")
    return lines


def figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(results.get("cost", {}).values(), key=lambda r: (r["model"], r["size"]))
    if not rows:
        return
    sizes = [f"{r['model']}\n{r['size']} px" for r in rows]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, (meas, est, unit, scale, title) in zip(axes, (
            ("peak_rss_bytes", "estimated_peak_bytes", "GB", 2**30, "peak RSS"),
            ("epoch2_s", "estimated_epoch_s", "s", 1, "seconds per epoch"))):
        ax.bar(x - 0.18, [r[meas] / scale for r in rows], 0.36, label="measured")
        ax.bar(x + 0.18, [r[est] / scale for r in rows], 0.36, label="estimate (before the run)")
        ax.set_xticks(x, sizes)
        ax.set_ylabel(unit)
        ax.set_title(title)
    axes[0].axhline(2, color="grey", lw=0.8, ls="--")
    axes[0].legend(fontsize=8)
    fig.suptitle("edgekd train on 5,856 JPEG chest X-rays (PneumoniaMNIST, 150-449 px), 1 thread, batch 128", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def findings(results: dict, verdicts: dict) -> list[str]:
    """The summary at the top, from the numbers (each claim checked, not written by hand)."""
    acc = results.get("accuracy", {})

    def mean(name: str, variant: str) -> float:
        return float(np.mean([r["test_auc"] for r in acc.values() if r["dataset"] == name and r["variant"] == variant]))

    cost = results.get("cost", {})
    worst_peak = max((abs(r["peak_error"]) for r in cost.values()), default=math.nan)
    worst_time = max((abs(r["epoch_error"]) for r in cost.values()), default=math.nan)
    at64 = [r["peak_rss_bytes"] / 2**30 for r in cost.values() if r["size"] == 64 and r["model"] == "cnn-small"]
    audit, colour = results.get("audit", {}), results.get("colour", {})
    right = colour.get("classify_new", {})
    lines = ["## Findings", ""]
    if acc:
        lines.append(
            f"- **Accuracy**: read back from the JPEG folders at `--image-size 28`, `stretch` lands inside the npz "
            f"runs' seed interval on both sets (PneumoniaMNIST test AUC {mean('pneumoniamnist', 'jpeg-stretch'):.4f} "
            f"vs {mean('pneumoniamnist', 'npz'):.4f}: {verdicts.get('pneumoniamnist/jpeg-stretch')}; BreastMNIST "
            f"{mean('breastmnist', 'jpeg-stretch'):.4f} vs {mean('breastmnist', 'npz'):.4f}: "
            f"{verdicts.get('breastmnist/jpeg-stretch')}), so decoding, JPEG and the resize lose nothing that matters. "
            f"The default `shorter-crop` loses "
            f"{mean('pneumoniamnist', 'npz') - mean('pneumoniamnist', 'jpeg-shorter-crop'):.3f} AUC on PneumoniaMNIST "
            f"({mean('pneumoniamnist', 'jpeg-shorter-crop'):.4f}, inside the interval: "
            f"{verdicts.get('pneumoniamnist/jpeg-shorter-crop')}; BreastMNIST: "
            f"{verdicts.get('breastmnist/jpeg-shorter-crop')}): these folders were made by stretching square X-rays "
            "to aspect ratios up to 3:1, and the centre crop cuts up to two thirds of each away. On photographs "
            "whose aspect ratio is real the crop is the convention; where the whole field matters (a chest X-ray, "
            "a slide), `--resize letterbox` (real aspect ratios) or `stretch` (distorted ones) keeps all of it.")
    if cost:
        lines.append(f"- **Memory and time**: peak RSS {at64[0] if at64 else math.nan:.2f} GB at 64 px for 5,856 "
                     f"photos (target <= 2 GB); the estimate made before each run was within {worst_peak:.0%} of "
                     f"the measured peak and {worst_time:.0%} of the measured seconds per epoch (target 30 %).")
    if audit:
        lines.append(f"- **Audit**: {len(audit.get('found', []))} of {len(audit.get('planted', []))} planted bad "
                     f"files found in one run over {audit.get('files')} files, {len(audit.get('false_alarms', []))} "
                     "false alarms.")
    if colour:
        lines.append(f"- **Colour path**: real colour photographs trained, exported (ONNX, CAM head, the "
                     f"preprocessing in its metadata) and classified by `classify.py` on new crops: "
                     f"{right.get('right')} of {right.get('of')} right.")
    return lines + [""]


def write_report(results: dict, md: Path, png: Path) -> None:
    acc, verdicts = accuracy_table(results)
    audit = results.get("audit", {})
    colour = results.get("colour", {})
    root = str(Path(__file__).resolve().parents[2]) + "/"
    lines = ["# A user's own photos: accuracy, memory, time and the audit",
             "",
             "Script: `benchmarks/own_data/own_data.py` (folders: `build.py`; table and figure: `report.py`); "
             "results `own_data.json`, figure `own_data.png`. Every run: `--threads 1`, one at a time, on a shared "
             "2-core x86_64 machine (other jobs running: seconds are indicative). The photo folders are built "
             "from this project's data (`build.py`: every PneumoniaMNIST / BreastMNIST image upscaled bicubic to "
             "a random width and height in 150..449 px, so aspect ratios vary from about 1:3 to 3:1, JPEG "
             "quality 90) and from scikit-image's real colour photographs; they live under "
             "`benchmarks/_work/own_data/` (ignored by git).",
             "", *findings(results, verdicts),
             "## 1. The same data from a JPEG folder at `--image-size 28`",
             "",
             "cnn-small from scratch (`edgekd train`, defaults but the epochs: short runs), seeds 0, 1, 2, on the "
             "npz arrays and on the JPEG folder read back at 28 px. The default policy, `shorter-crop`, crops "
             "the longer side of each (deliberately distorted) JPEG, so it sees less of each X-ray than the "
             "arrays hold; `stretch` undoes the distortion.",
             "", *acc, "",
             "## 2. Memory and time: measured against the estimate made before the run",
             "",
             "`edgekd train -m MODEL --image-size N --epochs 2 --threads 1` (batch 128) on the PneumoniaMNIST JPEG folder "
             "(5,856 photos; 4,708 train), each with an empty image cache, so decoding every JPEG is part of the "
             "peak. Peak RSS: `ru_maxrss` of the process; seconds: epoch 2 of `metrics.json`; estimate: the run's "
             "own `estimate.json`, written before any image is decoded (`edgekd/training/cost.py`: the process as it "
             "is, the data as float32 tensors plus one split's uint8 copy and temporaries, weights x 3, "
             "activations = 64 MB + batch x leaf-output bytes, its factor measured by `activation_memory.py`; "
             "time from a probe of 2 real steps at the run's batch, times the steps of an epoch, plus validation).",
             "", *cost_table(results), "", "![measured vs estimated](own_data.png)", "",
             "## 3. The audit finds every planted file in one run",
             "",
             f"`edgekd datasets --check pneumonia_planted --image-size 64` over {audit.get('files', '?')} files "
             f"({audit.get('seconds', '?')} s, exit code {audit.get('exit_code', '?')}): planted "
             f"{len(audit.get('planted', []))}, found {len(audit.get('found', []))}, missed "
             f"{len(audit.get('missed', []))}, false alarms {len(audit.get('false_alarms', []))}.",
             "", *[f"- `{p}`" for p in audit.get("found", [])], "",
             "## 4. The colour path and the layout without a test split",
             "",
             "Real colour photographs (`skimage.data`: astronaut and chelsea the cat as `living`, coffee and rocket "
             "as `object`, 40 random crops each at random sizes, plus two crops of the grey `camera` photo and the "
             "RGBA `logo`) in a flat `<class>/` folder, split 70/15/15 by edgekd; cnn-small at `--image-size 64`, "
             "30 epochs at batch 16; exported to ONNX with a CAM head; `deploy/examples/classify.py` on a folder of 20 new "
             "crops of the same photos.",
             "", *[f"- audit: {line}" for line in colour.get("audit_summary", [])],
             *[f"- train: `{line}`" for line in colour.get("train_stderr_data_lines", [])],
             f"- test: {colour.get('test')}",
             f"- exported metadata `preprocess`: `{colour.get('preprocess')}`, attention grid "
             f"{colour.get('attention_grid')}",
             f"- classify.py on new photos: {colour.get('classify_new', {}).get('right')} of "
             f"{colour.get('classify_new', {}).get('of')} right",
             f"- BreastMNIST `train/ val/` (no test split), what `edgekd train` printed: "
             f"`{colour.get('trainval_stdout', '').replace(root, '')}`; its test.json: `test` = "
             f"{colour.get('trainval_test_json', {}).get('test')}, `no_test` = "
             f"\"{colour.get('trainval_test_json', {}).get('no_test', '')}\"",
             ""]
    md.write_text("\n".join(lines) + "\n")
    figure(results, png)
