"""The K-view teacher cache against a live teacher with the same augmentation.

Called by ``benchmarks/train_cost/train_cost.py`` (``--views-only`` runs just this). For each of the
study's teacher / student pairs (resnet20 and resnet56 teachers, cnn-tiny and cnn-small
students) and for KD and MIP (+ KD, the default method), it times one optimisation step of
the student both ways, on the same seeded views (``edgekd/training/augment.py``, shifts of up
to 2 px, K views per image): the live teacher runs on the augmented batch; the cached
student reads the teacher's outputs for those views from the cache. Both steps include
building the augmented batch (it is paid either way). Per teacher it also reports the
cache's one-off build time (K passes of the teacher over the training set, MIP's map and
the logits, which KD reads from the same folder), its size on disk, and the process's
resident memory before and after the build and after one epoch of lookups (the cache is
read memory-mapped: pages come in as they are read and the page cache may drop them).

Target: the cached student epoch >= 5x faster than the live teacher's.
Writes ``benchmarks/train_cost/train_cost_views.json`` and ``.md``. Timing wants a quiet machine.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from edgekd.distillation.cache import TeacherCache, data_fingerprint
from edgekd.distillation.distiller import Distiller
from edgekd.models.registry import create_model
from edgekd.models.stats import count_macs, count_params
from edgekd.training.augment import AugmentPolicy, Views
from edgekd.training.batches import TensorSplit, batches, epoch_order

TEACHERS = ("resnet20", "resnet56")
STUDENTS = ("cnn-tiny", "cnn-small")
METHODS = ("kd", "mip")
TARGET = 5.0


def rss_mb() -> float:
    """The process's resident memory now (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _step(distiller: Distiller, opt, views: Views, train: TensorSplit, idx: torch.Tensor, epoch: int,
          cache: TeacherCache | None) -> float:
    t0 = time.perf_counter()
    x, view = views.batch(train.x[idx], idx, epoch)
    _, terms = distiller.forward_train(x, train.y[idx], cache.lookup(idx, view) if cache else None)
    opt.zero_grad(set_to_none=True)
    sum(terms.values()).backward()
    opt.step()
    return time.perf_counter() - t0


def measure(train: TensorSplit, info, k: int, batch: int, reps: int, steps: int, epochs: int) -> dict:
    """Step medians live vs cached per (teacher, student, method), and each teacher's cache costs."""
    torch.manual_seed(0)
    views = Views(AugmentPolicy(), seed=0, k=k)
    order = list(batches(epoch_order(len(train), 0, 1), batch))
    work = Path(tempfile.mkdtemp(prefix="edgekd_views_"))
    n_steps = len(order)
    out: dict = {"k": k, "policy": views.policy.identity(), "train_images": len(train), "steps_per_epoch": n_steps,
                 "caches": {}, "pairs": []}
    for t_name in TEACHERS:
        teacher = create_model(t_name, info.channels, info.num_classes).eval()
        folder = work / t_name
        identity = {"dataset": info.name, "train_sha256": data_fingerprint(train), "teacher_sha256": t_name}
        before = rss_mb()
        t0 = time.perf_counter()
        builder = Distiller(teacher, create_model(STUDENTS[0], info.channels, info.num_classes), "mip")
        cache = TeacherCache.open_or_build(folder, builder, train, identity, views, quiet=True)
        build_s = time.perf_counter() - t0
        after_build = rss_mb()
        for idx in order:  # one epoch of lookups, as a cached student reads them
            cache.lookup(idx, views.view(idx, 1))
        out["caches"][t_name] = {
            "build_s": build_s, "disk_mb": sum(f.stat().st_size for f in folder.glob("*.npy")) / 2**20,
            "arrays_mb": cache.nbytes() / 2**20, "rss_mb_before": before, "rss_mb_after_build": after_build,
            "rss_mb_after_epoch_of_lookups": rss_mb(), "teacher_params": count_params(teacher),
            "teacher_macs": count_macs(teacher, info.input_shape)}
        for s_name in STUDENTS:
            for method in METHODS:
                runs = {}
                for how in ("live", "cached"):
                    torch.manual_seed(0)
                    student = create_model(s_name, info.channels, info.num_classes)
                    d = Distiller(teacher, student, method)
                    c = TeacherCache.open_or_build(folder, d, train, identity, views, quiet=True) if how == "cached" \
                        else None
                    runs[how] = (d, torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9), c)
                times: dict[str, list[float]] = {"live": [], "cached": []}
                for rep in range(reps):  # interleaved: drifts in machine load hit both alike
                    for how, (d, opt, c) in runs.items():
                        samples = [_step(d, opt, views, train, order[(rep * steps + s) % n_steps], 1 + s % k, c)
                                   for s in range(steps)]
                        times[how].append(statistics.median(samples))
                live_ms, cached_ms = (1e3 * statistics.median(times[h]) for h in ("live", "cached"))
                build = out["caches"][t_name]["build_s"]
                out["pairs"].append({
                    "teacher": t_name, "student": s_name, "method": method, "live_step_ms": live_ms,
                    "cached_step_ms": cached_ms, "live_epoch_s": live_ms * n_steps / 1e3,
                    "cached_epoch_s": cached_ms * n_steps / 1e3, "speedup": live_ms / cached_ms,
                    f"speedup_over_{epochs}_epochs_incl_build": epochs * live_ms * n_steps / 1e3
                    / (epochs * cached_ms * n_steps / 1e3 + build),
                    "student_params": count_params(runs["live"][0].student)})
    out["target"] = {"value": min(p["speedup"] for p in out["pairs"]), "min": TARGET}
    out["target"]["met"] = out["target"]["value"] >= TARGET
    return out


def write(result: dict, setup: dict, out: Path) -> None:
    """``out``.json and ``out``.md (a table per pair, one per cache)."""
    full = {"setup": setup, **result}
    out.with_suffix(".json").write_text(json.dumps(full, indent=2) + "\n")
    e = setup["epochs"]
    lines = ["# Student epoch: K-view teacher cache vs live teacher, same augmentation", "",
             f"{setup['dataset']} ({result['train_images']} training images, {result['steps_per_epoch']} steps of "
             f"batch {setup['batch']}), K = {result['k']} views per image, policy {result['policy']}, "
             f"{setup['threads']} threads, median of {setup['reps']} interleaved repetitions x {setup['steps']} "
             "steps; both steps include building the augmented batch. Generated by "
             "`benchmarks/train_cost/train_cost.py --views-only`.", "",
             f"| teacher | student | method | live ms/step | cached ms/step | live s/epoch | cached s/epoch | "
             f"speed-up | over {e} epochs incl. build |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {p['teacher']} | {p['student']} | {p['method']} | {p['live_step_ms']:.2f} | "
              f"{p['cached_step_ms']:.2f} | {p['live_epoch_s']:.2f} | {p['cached_epoch_s']:.2f} | "
              f"{p['speedup']:.1f}x | {p[f'speedup_over_{e}_epochs_incl_build']:.1f}x |" for p in result["pairs"]]
    lines += ["", "| cache (MIP map + logits) | build s | disk MiB | RSS MiB before / after build / after an epoch "
              "of lookups |", "|---|---|---|---|"]
    lines += [f"| {t} | {c['build_s']:.1f} | {c['disk_mb']:.1f} | {c['rss_mb_before']:.0f} / "
              f"{c['rss_mb_after_build']:.0f} / {c['rss_mb_after_epoch_of_lookups']:.0f} |"
              for t, c in result["caches"].items()]
    t = result["target"]
    lines += ["", f"Target: cached epoch >= {t['min']:g}x faster than the live teacher's at every pair: slowest "
              f"{t['value']:.1f}x, {'met' if t['met'] else 'MISSED'}."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def subset(train: TensorSplit, limit: int | None) -> TensorSplit:
    """The first ``limit`` training images (a short check), or all of them."""
    if not limit:
        return train
    return TensorSplit(train.x[:limit].contiguous(), train.y[:limit].contiguous())


__all__ = ["measure", "subset", "write"]
