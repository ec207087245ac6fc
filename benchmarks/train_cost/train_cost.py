"""Training cost per method: per-step time of CE, KD, AT, FMA, MIP, SALS (teacher live and cached),
as ratios to the KD step measured in the same run (median of interleaved repetitions).

Targets: FMA and MIP <= 1.10x the KD step; SALS <= 2.5x; with the teacher cached,
a student epoch >= 3x faster than with the live teacher, for a teacher of >= 20x the
student's MACs. What is measured is per-step medians; an epoch is estimated as the step time
x the steps of one epoch over the training split, and the one-off cost of building each
method's cache is timed and reported beside it, with the epoch speed-up over 1 and over
``--epochs`` epochs once the build is included. Writes benchmarks/train_cost/train_cost.json and .md.
Timing wants a quiet machine.

With augmentation: the student epoch with the K-view teacher cache vs a live
teacher with the same augmentation, at the study's teacher / student pairs, with the cache's
build time, disk size and memory (``benchmarks/train_cost/cost_views.py``; target >= 5x), written to
benchmarks/train_cost/train_cost_views.json and .md. ``--views-only`` runs just that measurement;
``--limit N`` trains on the first N images (a quick check that the script runs, not a result).

    python benchmarks/train_cost/train_cost.py [--dataset pneumoniamnist] [--reps 7] [--steps 10]
    python benchmarks/train_cost/train_cost.py --views-only [--views 8]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks._lib.provenance import rel_path  # noqa: E402
from benchmarks.train_cost import cost_views  # noqa: E402
from edgekd.distillation.cache import TeacherCache, data_fingerprint  # noqa: E402
from edgekd.distillation.distiller import Distiller  # noqa: E402
from edgekd.models.registry import create_model  # noqa: E402
from edgekd.models.stats import count_macs, count_params  # noqa: E402
from edgekd.training.augment import Views  # noqa: E402
from edgekd.training.run import load_run_data  # noqa: E402

HERE = Path(__file__).resolve().parent
CASES = [  # (label, method, alpha, cached)
    ("CE only", "none", None, False), ("KD", "kd", None, False), ("AT", "at", None, False),
    ("FMA", "fma", None, False), ("MIP", "mip", None, False), ("SALS", "sals", None, False),
    ("KD, cached teacher", "kd", None, True), ("AT, cached teacher", "at", None, True),
    ("FMA, cached teacher", "fma", None, True), ("MIP, cached teacher", "mip", None, True),
    ("SALS, cached teacher", "sals", None, True),
]
TARGETS = {"FMA": 1.10, "MIP": 1.10, "SALS": 2.5}


def time_steps(distiller: Distiller, opt, x, y, idx, cache, steps: int) -> float:
    """Median seconds of one optimisation step (forward_train + backward + update)."""
    samples = []
    for _ in range(steps):
        t0 = time.perf_counter()
        _, terms = distiller.forward_train(x, y, cache.lookup(idx) if cache else None)
        opt.zero_grad(set_to_none=True)
        sum(terms.values()).backward()
        opt.step()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="pneumoniamnist")
    parser.add_argument("--teacher", default="resnet56")
    parser.add_argument("--student", default="cnn-tiny")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=30, help="training length the cache build is amortised over")
    parser.add_argument("--out", type=Path, default=HERE / "train_cost")
    parser.add_argument("--views-only", action="store_true", help="only the K-view cache vs live teacher measurement")
    parser.add_argument("--views", type=int, default=8, help="K, views per image in the augmented cache")
    parser.add_argument("--limit", type=int, default=None, help="first N training images only (a quick check)")
    args = parser.parse_args()
    torch.manual_seed(0)
    data = load_run_data(args.dataset, None)
    data.train = cost_views.subset(data.train, args.limit)
    info = data.info
    views_out = args.out.with_name(args.out.name + "_views")
    setup = {"dataset": args.dataset, "batch": args.batch, "reps": args.reps, "steps": args.steps,
             "epochs": args.epochs, "limit": args.limit, "threads": torch.get_num_threads(), "torch": torch.__version__}
    if args.views_only:
        cost_views.write(cost_views.measure(data.train, info, args.views, args.batch, args.reps, args.steps,
                                            args.epochs), setup, views_out)
        return
    teacher = create_model(args.teacher, info.channels, info.num_classes).eval()
    students = {}
    for label, method, alpha, _ in CASES:
        student = create_model(args.student, info.channels, info.num_classes)
        d = Distiller(teacher, student, method, alpha)
        students[label] = (d, torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9))
    idx = torch.arange(args.batch)
    x, y = data.train.x[idx], data.train.y[idx]
    work = Path(tempfile.mkdtemp(prefix="edgekd_cost_"))
    identity = {"dataset": info.name, "train_sha256": data_fingerprint(data.train), "teacher_sha256": "random-init"}
    caches, cache_build_s = {}, {}
    for label, method, _, cached in CASES:
        if cached:
            t0 = time.perf_counter()
            caches[label] = TeacherCache.open_or_build(work / method, students[label][0], data.train, identity,
                                                       Views(None, 0), quiet=True)
            cache_build_s[label.split(",")[0]] = time.perf_counter() - t0
    times: dict[str, list[float]] = {label: [] for label, *_ in CASES}
    for _ in range(args.reps):  # interleaved, so drifts in machine load hit every case alike
        for label, *_ in CASES:
            d, opt = students[label]
            times[label].append(time_steps(d, opt, x, y, idx, caches.get(label), args.steps))
    step_ms = {label: 1e3 * statistics.median(v) for label, v in times.items()}
    kd = step_ms["KD"]
    teacher_macs = count_macs(teacher, info.input_shape)
    student_model = students["KD"][0].student
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "torch": torch.__version__},
        "setup": {**vars(args), "out": rel_path(args.out), "teacher_params": count_params(teacher),
                  "teacher_macs": teacher_macs, "student_params": count_params(student_model),
                  "student_macs": count_macs(student_model, info.input_shape)},
        "step_ms": step_ms, "ratio_to_kd": {k: v / kd for k, v in step_ms.items()},
        "cache_build_s": cache_build_s,
        "step_speedup_cached_vs_live": {m: step_ms[m] / step_ms[f"{m}, cached teacher"]
                                        for m in ("KD", "AT", "FMA", "MIP", "SALS")},
    }
    steps_per_epoch = -(-len(data.train) // args.batch)
    result["epoch_estimate"] = {
        m: epoch_estimate(step_ms[m], step_ms[f"{m}, cached teacher"], cache_build_s[m], steps_per_epoch, args.epochs)
        for m in result["step_speedup_cached_vs_live"]}
    result["setup"]["macs_ratio"] = teacher_macs / result["setup"]["student_macs"]
    result["targets"] = {
        **{f"{m} <= {t}x KD": {"value": result["ratio_to_kd"][m], "met": result["ratio_to_kd"][m] <= t}
           for m, t in TARGETS.items()},
        "cached student epoch >= 3x faster (FMA; step medians x steps per epoch, cache build excluded)": {
            "value": result["step_speedup_cached_vs_live"]["FMA"], "met": result["step_speedup_cached_vs_live"]["FMA"] >= 3},
    }
    write(result, args.out)
    cost_views.write(cost_views.measure(data.train, info, args.views, args.batch, args.reps, args.steps, args.epochs),
                     setup, views_out)


def epoch_estimate(live_ms: float, cached_ms: float, build_s: float, steps: int, epochs: int) -> dict:
    """Seconds per epoch estimated from step medians (live and cached teacher), and the cached
    run's speed-up over 1 and over ``epochs`` epochs once the one-off cache build is added."""
    live, cached = live_ms * steps / 1e3, cached_ms * steps / 1e3
    return {"steps_per_epoch": steps, "live_s": live, "cached_s": cached, "cache_build_s": build_s,
            "speedup_excluding_build": live / cached, "speedup_first_epoch": live / (cached + build_s),
            f"speedup_over_{epochs}_epochs": epochs * live / (epochs * cached + build_s)}


def write(result: dict, out: Path) -> None:
    s = result["setup"]
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Training cost per method", "",
             f"Teacher {s['teacher']} ({s['teacher_params']:,} params, {s['teacher_macs'] / 1e6:.1f}M MACs), student "
             f"{s['student']} ({s['student_params']:,} params, {s['student_macs'] / 1e6:.2f}M MACs; teacher/student MACs "
             f"{s['macs_ratio']:.0f}x), {s['dataset']}, batch {s['batch']}, {result['machine']['threads']} threads, "
             f"median of {s['reps']} interleaved repetitions x {s['steps']} steps. "
             "Generated by benchmarks/train_cost/train_cost.py.",
             "", "| step | ms | x KD step |", "|---|---|---|"]
    lines += [f"| {k} | {v:.2f} | {result['ratio_to_kd'][k]:.2f} |" for k, v in result["step_ms"].items()]
    lines += ["", "Cached vs live teacher, step speed-up: "
              + ", ".join(f"{k} {v:.1f}x" for k, v in result["step_speedup_cached_vs_live"].items()) + "."]
    n = s["epochs"]
    lines += ["", f"Epochs estimated from the step medians x {next(iter(result['epoch_estimate'].values()))['steps_per_epoch']} "
              "steps per epoch; the cache is built once per method (timed):", "",
              f"| method | live s/epoch | cached s/epoch | cache build s | speed-up, 1st epoch incl. build | over {n} epochs |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {m} | {e['live_s']:.1f} | {e['cached_s']:.1f} | {e['cache_build_s']:.1f} | {e['speedup_first_epoch']:.2f}x | "
              f"{e[f'speedup_over_{n}_epochs']:.2f}x |" for m, e in result["epoch_estimate"].items()]
    lines += ["", "| target | value | met |", "|---|---|---|"]
    lines += [f"| {k} | {v['value']:.2f} | {'yes' if v['met'] else 'MISSED'} |" for k, v in result["targets"].items()]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
