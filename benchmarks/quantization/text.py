"""quantization.md: the schemes side by side, their profiles, the QAT rows, the targets."""

from __future__ import annotations

from typing import Any

from benchmarks.provenance import describe

from edgekd.int8_schemes import INT8_SCHEMES, scheme_names

RUNTIMES = {"onnx": "onnxruntime", "tflite": "LiteRT (XNNPACK)"}


def _f(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def scheme_table(report: dict, role: str) -> list[str]:
    lines = ["| format | scheme | KiB | gate | agreement | acc int8 / fp32 | p50 b1 ms | p50 b32 ms | int8/fp32 b1 | "
             "int8/fp32 b32 |", "|---|---|---:|---|---:|---|---:|---:|---:|---:|"]
    for fmt in ("onnx", "tflite"):
        for q in ("none", *scheme_names(fmt)):
            e = report["exports"][f"{role} {fmt} {q}"]
            p = e["parity"]
            gate = "pass" if not e["refused"] else f"**refused** ({e['refused_because']})"
            lat = {b: report["latency"].get(f"{role} {fmt} {q} b{b}", {}).get("p50_ms") for b in (1, 32)}
            ratio = {b: (report["ratios"].get(f"{role} {fmt} {q} b{b}") or {}).get("median") for b in (1, 32)}
            lines.append(f"| {fmt} | {'float32' if q == 'none' else q} | {e['bytes'] / 1024:.0f} | {gate} | "
                         f"{_f(p['top1_agreement'], '.2%')} | {_f(p['accuracy_artifact'], '.4f')} / "
                         f"{_f(p['accuracy_torch'], '.4f')} | {_f(lat[1], '.3f')} | {_f(lat[32], '.3f')} | "
                         f"{_f(ratio[1], '.2f')} | {_f(ratio[32], '.2f')} |")
    return lines


def profile_table(report: dict) -> list[str]:
    lines = ["| model | ops | compute ops on int8 kernels | compute µs | quantize µs | layout µs | sum of ops µs | "
             "whole run µs | profile |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for key, prof in report["profiles"].items():
        s, k = prof["summary"], prof["summary"]["by_kind"]
        lines.append(f"| {key} | {s['ops']} | {s['int8_compute_ops']} of {s['compute_ops']} | "
                     f"{k.get('compute', {}).get('us', 0):.0f} | {k.get('quantize', {}).get('us', 0):.0f} | "
                     f"{k.get('layout', {}).get('us', 0):.0f} | {s['op_us']:.0f} | {s['run_us']:.0f} | "
                     f"[{key.replace(' ', '-')}](profiles.md#{key.replace(' ', '-')}) |")
    return lines


def qat_table(report: dict) -> list[str]:
    lines = ["| data set | model | scheme | format | method | gate | agreement | flips | int8 test acc | "
             "fp32 test acc |", "|---|---|---|---|---|---|---:|---:|---:|---:|"]
    for r in report["qat"]:
        gate = "pass" if r.get("passed") else "**refused**"
        lines.append(f"| {r['dataset']} | {r.get('model', 'student')} | {r['scheme']} | {r['format']} | {r['method']} | "
                     f"{gate} | "
                     f"{_f(r.get('top1_agreement'), '.2%')} | {_f(r.get('flips'), 'd')} | "
                     f"{_f(r.get('accuracy_artifact'), '.4f')} | {_f(r.get('fp32_test_accuracy'), '.4f')} |")
    return lines


def document(report: dict) -> str:
    m, t = report["machine"], report["timing"]
    loads = t["load_average"]
    lines = ["# int8 schemes: speed, parity, profiles and quantisation-aware distillation", "",
             f"**Taken on a shared machine**: {m.get('cpu')} ({m['cores'].get('usable')} usable cores, x86-64 "
             f"AVX2 without VNNI), other jobs running: 1-minute load average {min(loads):.1f}-{max(loads):.1f} during "
             f"the {t['rounds']} timing rounds (recorded per round in the JSON). Latencies are medians over "
             f"rounds of each file's p50 ({t['min_time']} s of timed runs per file and round, after 20 warm-up runs, "
             f"{t['threads']} thread, each file in its own process as `edgekd bench` runs it, files in a shuffled "
             "order per round); an int8/fp32 ratio is the median of the per-round ratios, which cancels most of "
             "the load. Rerun on a quiet machine: `python benchmarks/quantization/run.py` "
             "(see `--help`).", "",
             f"Models (PneumoniaMNIST): student {describe(report['models']['student'])}; teacher "
             f"{describe(report['models']['teacher'])}. Calibration: 256 training images (a fixed random subset). "
             f"MatMul peak measured here: {report['peak']['gflops']:.1f} GFLOP/s (1 thread, best of "
             f"{len(report['peak']['tries'])}).", "", "## Schemes", ""]
    lines += [f"- `{s.name}` ({', '.join(f for f in s.formats if f != 'tensorrt')}): {s.summary}"
              for s in INT8_SCHEMES.values()]
    lines += ["", "Batch 32: onnxruntime runs a dynamic-batch file in one call; LiteRT runs its batch-1 file 32 "
                  "times (TFLite exports are batch-1).", ""]
    for role in ("student", "teacher"):
        lines += [f"### {role}", "", *scheme_table(report, role), ""]
    lines += ["## Where the time goes (profiles, batch 1)", "",
              "`edgekd bench --profile`: onnxruntime's own profiler per node (after its graph optimizations); "
              "LiteRT per op timed alone in the interpreter with XNNPACK (so the sum of ops exceeds the whole run "
              "by what one fused run shares). Full per-op tables in `profiles.md`.", "", *profile_table(report), ""]
    if report.get("qat"):
        lines += ["## Quantisation-aware distillation", "",
                  f"`edgekd qat RUN --format FORMAT --epochs {report['qat_epochs']}` after distillation (one run per "
                  "format: each trains on its format's weight grid), against post-training int8 of the same model "
                  "(same calibration, same gate). fp32 test acc: the model before fine-tuning. The gate asks for 99 % "
                  "agreement on the whole test split: 624 images for PneumoniaMNIST (6 flips allowed), 156 for "
                  "BreastMNIST (1 flip), 10,000 for MNIST.", "", *qat_table(report), ""]
    if report.get("matrix"):
        mx = report["matrix"]
        lines += ["## Bench matrix", "", f"`edgekd bench --all-formats` on the student: {mx['cells']} cells "
                  f"({mx['ok']} ok, {mx['refused']} refused, {mx['failed']} failed) in {mx['seconds']:.0f} s "
                  f"(exports {mx['export_seconds']:.0f} s, benchmarks {mx['seconds'] - mx['export_seconds']:.0f} s).",
                  ""]
    lines += ["## Targets", "", "| target | value | met | why (from the profile) |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['value']} | {'yes' if v['met'] else '**missed**'} | {v.get('why') or ''} |"
              for k, v in report["targets"].items()]
    return "\n".join(lines) + "\n"
