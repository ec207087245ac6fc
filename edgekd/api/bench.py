"""``bench``: latency, memory, size and accuracy of model files on this machine. Torch-free.

Each model is measured in its own child process (:func:`edgekd.benchmarking.child.measure_in_child`)
and the records are compared by :mod:`edgekd.benchmarking.report`. Models without edgekd
metadata (any ONNX / TFLite classifier) are fed the data set as the feed options say
(:mod:`edgekd.benchmarking.feed`), or timed on random input only. ``--all-formats`` is
:mod:`edgekd.api.matrix`. Heavy imports happen inside the function.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from edgekd.benchmarking.spec import BenchSpec
from edgekd.errors import EdgekdError

__all__ = ["bench"]


def bench(spec: BenchSpec, console: Any = None) -> dict[str, Any]:
    """Benchmark ``spec.models``, one fresh process each, and compare them to the first; writes
    ``--json`` / ``--md`` / ``--plot`` when asked. Returns the report (``rows``, ``machine``,
    ``settings``...: :func:`edgekd.benchmarking.report.build_report`) or, with ``all_formats``,
    ``{"machine", "settings", "models": [one table per MODEL]}`` as its ``--json`` holds it.
    ``console`` (a rich Console) shows progress and notes; None: silent."""
    from edgekd.benchmarking.child import measure_in_child
    from edgekd.benchmarking.data import load_data, save_shared
    from edgekd.benchmarking.feed import is_edgekd
    from edgekd.benchmarking.machine import machine_info
    from edgekd.benchmarking.measure import check_input_shape, dataset_facts
    from edgekd.benchmarking.report import build_report, write_json, write_markdown, write_plot
    from edgekd.runtime.metadata import read_metadata
    from edgekd.runtime.registry import resolve_runtime

    spec.check()
    if spec.all_formats:
        from edgekd.api.matrix import run_all_formats

        return run_all_formats(spec, console)
    for model in spec.models:  # fail fast, before any child starts
        if not model.is_file():
            raise EdgekdError(f"model file {model} does not exist: check the path")
        chosen = resolve_runtime(model, spec.runtime)[0]
        if spec.profile and chosen not in ("onnxruntime", "litert", "tflite-runtime"):
            raise EdgekdError(f"--profile reads onnxruntime and LiteRT profiles; {model.name} runs in {chosen}: "
                              "drop --profile or that model")
    feed = spec.feed().to_json()
    settings = {
        "runtime": spec.runtime, "threads": spec.threads, "batch": spec.batch, "warmup": spec.warmup,
        "iters": spec.iters, "min_time": spec.min_time, "dataset": spec.dataset,
        "split": spec.split if spec.dataset else None, "limit": spec.limit, "feed": feed, "profile": spec.profile,
    }
    with tempfile.TemporaryDirectory(prefix="edgekd-data-") as tmp:
        shared, class_names, data_norm = None, None, None
        if spec.dataset:
            metas = [read_metadata(model) for model in spec.models]
            stored = next((m["preprocess"] for m in metas if is_edgekd(m) and m.get("preprocess")), None)
            # a photo folder: read as the models were trained
            images, targets = load_data(spec.dataset, spec.split, spec.data_dir, stored)
            for model, meta in zip(spec.models, metas):
                if is_edgekd(meta):
                    check_input_shape(tuple(meta["input_size"]), images, model, spec.dataset)
            limit = spec.limit
            shared = save_shared(images[:limit] if limit else images, targets[:limit] if limit else targets, tmp)
            class_names, data_norm = dataset_facts(spec.dataset, stored)
            del images, targets
        records = []
        for i, model in enumerate(spec.models):
            if console is not None:
                console.print(f"[bold]bench[/bold] {model} ...")
            job = {
                "model": str(model), "runtime": spec.runtime, "threads": spec.threads, "batch": spec.batch,
                "warmup": spec.warmup, "iters": spec.iters, "min_time": spec.min_time, "dataset": spec.dataset,
                "split": spec.split, "shared_data": shared, "peak": spec.peak, "feed": feed,
                "class_names": class_names, "data_norm": data_norm,
                "label": spec.labels[i] if spec.labels else None, "profile": spec.profile,
                "estimate_prior": spec.estimate_prior,
            }
            records.append(measure_in_child(job, timeout=spec.timeout))

    report = build_report(records, machine_info(), settings)
    if spec.md:
        write_markdown(spec.md, report)
    if spec.plot:
        skipped = write_plot(spec.plot, report)
        if skipped and console is not None:
            console.print(f"[yellow]note[/yellow] {skipped}")
        elif not skipped and spec.json:  # edgekd report shows the plot beside the table
            report["plot"] = os.path.relpath(spec.plot.resolve(), spec.json.resolve().parent)
    if spec.json:
        write_json(spec.json, report)
    return report
