"""``bench --profile``: where one inference spends its time, op by op, and how many ops ran
on the runtime's fast path. Torch-free (it runs on the device).

- onnxruntime (:mod:`.profile_onnx`): its own profiler (``SessionOptions.enable_profiling``)
  over the graph *as optimized* (QDQ pairs fused into QLinearConv, NCHWc layouts...): the
  median time of each node over the profiled runs, and its input / output shapes.
- LiteRT (:mod:`.profile_litert`): ai-edge-litert's Python interpreter exposes no op
  profiler, so each op of the flatbuffer is cut out into a one-op model and timed alone in
  the same interpreter and thread count (XNNPACK on, as in a real run); whether XNNPACK took
  the op is read from that interpreter (a delegate node appears), and the whole model's
  partitions from the full interpreter's node list. The sum of the op times against the
  whole model's time is the cost of running them one after another (boundaries, dispatch).

Each op gets a *kind*: ``compute`` (convolutions, matrix products, pooling, element-wise
arithmetic), ``quantize`` (Quantize / Dequantize: what a quantized graph adds), ``layout``
(transposes, reshapes, pads, NCHWc reorders) or ``other``; and, for compute ops, a *path*:
``int8`` (an integer kernel: MLAS's QLinearConv / QGemm..., XNNPACK's QS8), ``float``, or
``float-nchwc`` (onnxruntime's blocked float convolution). ``macs`` and ``gflops`` are given
where the shapes say them (convolutions, fully connected), so each op's share of the peak
shows which layers are too small to use the hardware.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekd.benchmarking.profile_ops import INT8_OPS, kind, summarize

__all__ = ["INT8_OPS", "gflops", "kind", "profile_lines", "profile_model", "summarize"]


def profile_model(path: str | Path, runtime: str, threads: int | None, batch: int = 1, runs: int = 200
                  ) -> dict[str, Any]:
    """The profile of the model at ``path`` in ``runtime`` (``onnxruntime`` or ``litert``)."""
    from edgekd.errors import EdgekdError

    if runtime == "onnxruntime":
        from edgekd.benchmarking.profile_onnx import profile_onnx

        return profile_onnx(Path(path), threads, batch, runs)
    if runtime in ("litert", "tflite-runtime"):
        from edgekd.benchmarking.profile_litert import profile_litert

        return profile_litert(Path(path), threads, runs, runtime)
    raise EdgekdError(f"--profile supports onnxruntime and litert models, not {runtime}: drop --profile for it")


def gflops(macs: int | None, us: float | None) -> float | None:
    """Achieved GFLOP/s of ``macs`` multiply-accumulates in ``us`` microseconds."""
    return 2.0 * macs / us / 1e3 if macs and us else None


def profile_lines(profile: dict[str, Any], peak: float | None = None, top: int | None = None) -> list[str]:
    """A plain-text (Markdown) table of the ops, slowest first, and a summary line."""
    s = profile["summary"]
    ops = sorted(profile["ops"], key=lambda op: -(op["us"] or 0.0))[:top]
    lines = ["| op | kind | path | µs | MMAC | GFLOP/s" + (" | of peak |" if peak else " |"),
             "|---|---|---|---:|---:|---:|" + ("---:|" if peak else "")]
    for op in ops:
        rate = gflops(op.get("macs"), op["us"])
        cells = [f"{op['op']} {op['name']}"[:48], op["kind"], op.get("path") or "-",
                 "-" if op["us"] is None else f"{op['us']:.1f}",
                 f"{op['macs'] / 1e6:.2f}" if op.get("macs") else "-", f"{rate:.1f}" if rate else "-"]
        if peak:
            cells.append(f"{rate / peak:.0%}" if rate else "-")
        lines.append("| " + " | ".join(cells) + " |")
    kinds = ", ".join(f"{k} {v['ops']} ops {v['us']:.0f} µs" for k, v in sorted(s["by_kind"].items()))
    run = f"; whole run {s['run_us']:.0f} µs" if s.get("run_us") else ""
    lines += ["", f"{profile['runtime']}: {s['ops']} ops ({kinds}); compute ops on the int8 path "
                  f"{s['int8_compute_ops']} of {s['compute_ops']}; sum of op times {s['op_us']:.0f} µs{run}."]
    lines += [f"{profile['fast_path']}"] + [f"note: {n}" for n in profile.get("notes", [])]
    return lines
