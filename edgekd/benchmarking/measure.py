"""Measure ONE model in this process: load time, first inference, latency, memory, accuracy.

Order of work (so each number means one thing):

1. RSS before loading; load the model (``load_ms``); RSS after loading.
2. Decide how the evaluation data, if any, is fed to the model
   (:func:`edgekd.benchmarking.feed.plan_feed`: an edgekd model's input must match the data, a
   model without metadata is fed as the feed options say, or timed on random input
   only); a contradiction is an :class:`EdgekdError` before any timing.
3. First inference (``first_inference_ms``: lazy initialisation, XNNPACK packing...).
4. ``warmup`` untimed runs, then ``iters`` timed runs; with ``min_time`` instead, timed
   runs until that many seconds have passed (``iters`` is ignored then; at least 1 run).
   Each run is timed alone with ``time.perf_counter_ns``.
5. Peak RSS of the process so far (``rss_peak_mb``: interpreter + numpy + runtime +
   model + one batch; the data set is memory-mapped and not yet read).
6. Accuracy and ROC AUC (binary, or macro one-vs-rest, :mod:`edgekd.metrics`) over
   the split, in chunks; the RSS high-water mark after it is ``rss_peak_eval_mb``.
7. Optionally the machine's MatMul peak (:mod:`edgekd.benchmarking.peak`) and the model's
   achieved GFLOP/s at its p50 latency.
8. Optionally (``profile``) the per-op profile (:mod:`edgekd.benchmarking.profile`), after every
   other measurement so that profiling never slows the timed runs.

Use :func:`edgekd.benchmarking.child.measure_in_child` to get a model's memory on its own.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.benchmarking.data import load_data, open_shared
from edgekd.benchmarking.decisions import decision_figures
from edgekd.benchmarking.feed import Feed, feed_images, is_edgekd, plan_feed
from edgekd.benchmarking.naming import model_name
from edgekd.benchmarking.options import FeedOptions
from edgekd.benchmarking.stats import latency_stats, throughput
from edgekd.errors import EdgekdError
from edgekd.metrics import classification_report
from edgekd.runtime.base import LOGITS, Runner
from edgekd.runtime.registry import create_runner

#: upper bound on timed runs with ``min_time`` (a guard against a broken clock)
MAX_ITERS = 1_000_000
#: evaluation chunk for models with a dynamic (or batch-1) input
EVAL_CHUNK = 256


def rss_mb() -> float:
    """Current resident set size of this process in MiB."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """High-water mark of this process's resident set size in MiB.

    Linux: ``VmHWM`` from /proc/self/status, which starts afresh at exec. ``ru_maxrss``
    does not: a child started from a large parent (a demo that has torch loaded) would
    report the parent's size. Elsewhere ``ru_maxrss`` (the child is a fresh process).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows: psutil's peak working set
        import psutil

        info = psutil.Process().memory_info()
        return getattr(info, "peak_wset", info.rss) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def model_size_bytes(path: Path) -> int:
    """Size of the model file plus an ONNX external-data file beside it, if any."""
    size = path.stat().st_size
    for extra in (path.with_name(path.name + ".data"), path.with_suffix(".data")):
        if extra.is_file():
            size += extra.stat().st_size
            break
    return size


def model_chw(runner: Runner) -> tuple[int, int, int]:
    """The model's (C, H, W), from the input tensor, else from the metadata's input_size."""
    shape = runner.input_shape
    if len(shape) == 4 and all(d is not None for d in shape[1:]):
        return tuple(int(d) for d in shape[1:])  # type: ignore[return-value]
    size = runner.metadata.get("input_size")
    if size and len(size) == 3:
        return tuple(int(d) for d in size)  # type: ignore[return-value]
    raise EdgekdError(f"{runner.path}: cannot tell the input size (dynamic shape, no metadata): re-export with edgekd")


def check_input_shape(chw: tuple[int, ...], images: np.ndarray, model: Path, dataset: str) -> None:
    """EdgekdError when uint8 NCHW ``images`` do not fit a model taking ``chw``."""
    got = tuple(int(d) for d in images.shape[1:])
    if got != tuple(chw):
        raise EdgekdError(
            f"{model.name} expects input {'x'.join(map(str, chw))} (CxHxW) but data set {dataset} gives "
            f"{'x'.join(map(str, got))}: benchmark it on the data set it was trained for"
        )


def time_runs(runner: Runner, x: np.ndarray, iters: int, min_time: float | None) -> np.ndarray:
    """Per-run durations in seconds: ``iters`` runs, or runs for ``min_time`` seconds."""
    times: list[int] = []
    clock = time.perf_counter_ns
    if min_time:
        deadline = clock() + int(min_time * 1e9)
        while (not times or clock() < deadline) and len(times) < MAX_ITERS:
            t0 = clock()
            runner.run(x)
            times.append(clock() - t0)
    else:
        for _ in range(iters):
            t0 = clock()
            runner.run(x)
            times.append(clock() - t0)
    return np.asarray(times, dtype=np.float64) * 1e-9


def evaluate(runner: Runner, images: np.ndarray, labels: np.ndarray, feed: Feed) -> tuple[dict[str, Any], np.ndarray]:
    """Accuracy and AUC (binary, or macro one-vs-rest; None where undefined) of ``runner``
    on uint8 NCHW ``images`` fed as ``feed`` says, and the logits they came from."""
    fixed = runner.input_shape[0] if runner.input_shape else None
    chunk = fixed if fixed and fixed > 1 else EVAL_CHUNK
    parts = []
    n = images.shape[0]
    for start in range(0, n, chunk):
        x = feed_images(np.asarray(images[start:start + chunk]), feed)
        real = x.shape[0]
        if fixed and fixed > 1 and real < fixed:  # pad the last chunk of a fixed-batch model
            x = np.concatenate([x, np.repeat(x[-1:], fixed - real, axis=0)])
        parts.append(runner.run(x)[LOGITS][:real])
    logits = np.concatenate(parts).reshape(n, -1)
    labels = np.asarray(labels).reshape(-1)
    k = len(feed.columns) if feed.columns is not None else logits.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        bad = int(labels.max() if labels.max() >= k else labels.min())
        name = getattr(runner.path, "name", "the model")
        raise EdgekdError(f"the data set has label {bad} but {name} has {k} classes (0..{k - 1}): "
                          f"benchmark it on the data set it was trained for, or map its outputs with --class-map")
    report = classification_report(labels, logits, feed.columns)
    auc = report["auc"] if np.isfinite(report["auc"]) else None
    return {"accuracy": report["accuracy"], "auc": auc, "eval_samples": int(n)}, logits


def measure(
    model: str | Path,
    runtime: str = "auto",
    threads: int | None = None,
    batch: int = 1,
    warmup: int = 10,
    iters: int = 100,
    min_time: float | None = None,
    dataset: str | None = None,
    split: str = "test",
    data_dir: str | Path | None = None,
    shared_data: dict[str, str] | None = None,
    limit: int | None = None,
    peak: bool = False,
    seed: int = 0,
    feed: dict[str, Any] | None = None,
    class_names: list[str] | None = None,
    data_norm: list[list[float]] | None = None,
    label: str | None = None,
    profile: bool = False,
    estimate_prior: bool = False,
) -> dict[str, Any]:
    """Benchmark one model file; return a plain JSON-able record (keys: see the README/report).

    Data: ``shared_data`` (paths from :func:`edgekd.benchmarking.data.save_shared`) or
    ``dataset``/``split``/``data_dir``; without either, the timing input is seeded noise
    and accuracy is ``None``. ``limit`` evaluates only the first N samples. ``feed``:
    :class:`~edgekd.benchmarking.feed.FeedOptions` as JSON, for models without edgekd metadata;
    ``class_names`` / ``data_norm`` ([mean, std]): the data set's, for those options.
    ``label``: the row name (default: :func:`edgekd.benchmarking.naming.model_name`). ``profile``: add
    the per-op profile (:func:`edgekd.benchmarking.profile.profile_model`) as ``record["profile"]``.
    ``record["decision"]``: what the model's shipped decision rule achieves on the data
    (:func:`edgekd.benchmarking.decisions.decision_figures`; ``estimate_prior`` adds the class
    prior of the images estimated without their labels); None without a rule or data.
    """
    if batch < 1 or warmup < 0 or iters < 1 or (min_time is not None and min_time <= 0):
        raise EdgekdError("batch and iters must be at least 1, warmup at least 0, min_time positive")
    path = Path(model)
    options = FeedOptions.from_json(feed)
    rss_baseline = rss_mb()
    t0 = time.perf_counter_ns()
    runner = create_runner(path, runtime, threads, options.layout)
    load_ms = (time.perf_counter_ns() - t0) / 1e6
    rss_load = rss_mb()
    meta = runner.metadata
    name = label or model_name(meta, path)

    images = labels = None
    if shared_data:
        images, labels = open_shared(shared_data)
    elif dataset:
        images, labels = load_data(dataset, split, data_dir, meta.get("preprocess"))
        if class_names is None:
            class_names, data_norm = dataset_facts(dataset, meta.get("preprocess"))
    if images is not None:
        if is_edgekd(meta):
            check_input_shape(model_chw(runner), images, path, dataset or "(shared)")
        if limit:
            images, labels = images[:limit], labels[:limit]
    if images is not None and not class_names:  # an .npz: classes by index, as many as labels and outputs say
        k = max(int(np.max(labels)) + 1 if len(labels) else 1, runner.num_classes or 0)
        class_names = [str(i) for i in range(k)]
    plan = plan_feed(meta, runner.input_shape[1:], images.shape[1:] if images is not None else None,
                     runner.num_classes, class_names or [], data_norm, options, name)
    if plan.mode == "random":
        images = labels = None
    notes = list(runner.notes) + list(plan.notes)

    if images is not None and images.shape[0] > 0:
        idx = np.arange(batch) % images.shape[0]
        x = feed_images(np.asarray(images[idx]), plan)
    else:
        x = np.random.default_rng(seed).standard_normal((batch, *plan.chw), dtype=np.float32)

    t0 = time.perf_counter_ns()
    runner.run(x)
    first_ms = (time.perf_counter_ns() - t0) / 1e6
    for _ in range(warmup):
        runner.run(x)
    times = time_runs(runner, x, iters, min_time)
    rss_peak = peak_rss_mb()
    lat = latency_stats(times)

    quality: dict[str, Any] = {"accuracy": None, "auc": None, "eval_samples": 0}
    decision = None
    if images is not None:
        quality, logits = evaluate(runner, images, labels, plan)
        if plan.mode == "metadata":
            decision = decision_figures(meta, path, logits, labels, estimate_prior)
    rss_peak_eval = peak_rss_mb()

    record: dict[str, Any] = {  # keys: tests/test_runtime.py RECORD_KEYS
        "model": str(path),
        "name": name,
        "format": path.suffix.lstrip(".").lower(),
        "size_bytes": model_size_bytes(path),
        "runtime": runner.name,
        "runtime_version": runner.version,
        "notes": notes,
        "threads": threads,
        "batch": batch,
        "input_shape": [batch, *plan.chw],
        "feed": plan.to_json(),
        "outputs": runner.output_names,
        "params": meta.get("params"),
        "macs": meta.get("macs"),
        "attention_head": meta.get("attention_head"),
        "metadata": meta,
        "load_ms": load_ms,
        "first_inference_ms": first_ms,
        "warmup": warmup,
        "iters": int(times.size),
        "min_time": min_time,
        "latency": lat,
        "throughput_ips": throughput(times, batch),
        "rss_baseline_mb": rss_baseline,
        "rss_load_mb": rss_load,
        "rss_peak_mb": rss_peak,
        "rss_peak_eval_mb": rss_peak_eval,
        "dataset": dataset,
        "split": split if images is not None else None,
        **quality,
        "decision": decision,
        "peak": None,
        "profile": None,
        "achieved_gflops": None,
        "peak_fraction": None,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    runtime_name = runner.name
    runner.close()
    if profile:
        from edgekd.benchmarking.profile import profile_model

        record["profile"] = profile_model(path, runtime_name, threads, batch)
    if peak:
        from edgekd.benchmarking.peak import efficiency, peak_gflops

        record["peak"] = peak_gflops(threads)
        record.update(efficiency(record["macs"], batch, lat["p50_ms"] / 1e3, record["peak"]["gflops"]))
    return record


def dataset_facts(dataset: str, preprocess: dict | None = None) -> tuple[list[str] | None, list[list[float]] | None]:
    """(class names, [mean, std]) of a registry data set; (None, None) for an .npz file."""
    if dataset.endswith(".npz"):
        return None, None
    from edgekd.benchmarking.data import registry_source

    info = registry_source(dataset, preprocess).info
    return list(info.class_names), [list(info.mean), list(info.std)]
