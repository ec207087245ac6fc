"""``benchmarks/device_check/device_check.md`` from the check's JSON record, plus the x86 facts it quotes.

x86 outputs against arm64 outputs of the same files on the same inputs, and the pass rule.

The rule: every model must give the same top-1 class for every input on both
machines; an fp32 model's logits must also agree within :data:`FP32_TOL` (the kernels differ
between x86 and Arm -- AVX vs NEON, other blockings -- so float sums are taken in another
order; 1e-4 is the project's fp32 parity tolerance against PyTorch). The attention map is an
fp32 output too and is held to the same tolerance. An int8 model's logits are dequantised
integers: the two machines may legitimately round a requantisation step differently, so only
its top-1 is gated and its largest difference is reported.
"""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

import numpy as np

FP32_TOL = 1e-4


def precision_of(name: str) -> str:
    """``int8`` for the check's int8 exports (``*int8*``), ``fp32`` otherwise."""
    return "int8" if "int8" in name else "fp32"


def split_outputs(outputs: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """``{"a.onnx|logits": x, ...}`` (what infer.py saves) -> ``{"a.onnx": {"logits": x}, ...}``."""
    models: dict[str, dict[str, np.ndarray]] = {}
    for key, value in outputs.items():
        model, _, output = key.rpartition("|")
        models.setdefault(model, {})[output] = np.asarray(value)
    return models


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0


def compare_model(name: str, ref: dict[str, np.ndarray], dev: dict[str, np.ndarray]) -> dict:
    """One model's record: top-1 agreement, largest logit and map differences, pass and why not."""
    precision = precision_of(name)
    record: dict = {"model": name, "precision": precision, "n": int(len(ref["logits"]))}
    if ref["logits"].shape != dev["logits"].shape:
        return {**record, "passed": False, "why": f"logits shape {dev['logits'].shape} vs {ref['logits'].shape} on x86"}
    agree = ref["logits"].argmax(axis=1) == dev["logits"].argmax(axis=1)
    record.update(top1_agree=int(agree.sum()), max_logit_diff=_max_diff(ref["logits"], dev["logits"]), max_map_diff=None)
    why = []
    if ("attention" in ref) != ("attention" in dev):
        why.append("attention output on one machine only")
    elif "attention" in ref:
        record["max_map_diff"] = _max_diff(ref["attention"], dev["attention"])
    if not agree.all():
        why.append(f"top-1 differs on {int((~agree).sum())} of {len(agree)} inputs")
    if precision == "fp32":
        if record["max_logit_diff"] > FP32_TOL:
            why.append(f"max |logit diff| {record['max_logit_diff']:.2e} > {FP32_TOL:g}")
        if record["max_map_diff"] is not None and record["max_map_diff"] > FP32_TOL:
            why.append(f"max |map diff| {record['max_map_diff']:.2e} > {FP32_TOL:g}")
    return {**record, "passed": not why, "why": "; ".join(why)}


def fp32_sibling(name: str, names: list[str]) -> str | None:
    """The fp32 model of the same format as an int8 one (``student_int8.onnx`` -> ``student_fma.onnx``)."""
    suffix = name.rpartition(".")[2]
    return next((n for n in names if precision_of(n) == "fp32" and n.endswith("." + suffix)), None)


def compare_all(ref: dict[str, np.ndarray], dev: dict[str, np.ndarray]) -> list[dict]:
    """Every model of the x86 run against the arm64 run (a model missing on arm64 fails).

    An int8 model also gets its top-1 agreement with its fp32 sibling on each machine: when
    x86 and arm64 disagree, it shows which machine's int8 kernels moved away from fp32.
    """
    ref_models, dev_models = split_outputs(ref), split_outputs(dev)
    records = []
    for name, outputs in ref_models.items():
        if name not in dev_models:
            records.append({"model": name, "precision": precision_of(name), "passed": False, "why": "no arm64 output"})
            continue
        record = compare_model(name, outputs, dev_models[name])
        sibling = fp32_sibling(name, list(ref_models)) if record["precision"] == "int8" else None
        if sibling and sibling in dev_models:
            for side, models in (("x86", ref_models), ("arm64", dev_models)):
                same = models[name]["logits"].argmax(axis=1) == models[sibling]["logits"].argmax(axis=1)
                record[f"{side}_top1_vs_fp32"] = float(same.mean())
        records.append(record)
    return records


def _pixel_diff(a: str | None, b: str | None) -> int | None:
    """Largest per-pixel difference (0-255) of two overlay PNGs; None when one is missing."""
    if not a or not b:
        return None
    from PIL import Image

    x, y = (np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in (a, b))
    return int(np.abs(x - y).max()) if x.shape == y.shape else 255


def same_answer(line: str, x86_line: str, precision: str) -> bool:
    """classify.py's ``class: probability`` lines agree: same class; fp32 also the printed probability
    within its last printed digit (two probabilities 1e-6 apart can round to neighbouring values)."""
    (cls, _, prob), (x86_cls, _, x86_prob) = line.partition(": "), x86_line.partition(": ")
    if cls != x86_cls or precision != "fp32":
        return cls == x86_cls
    try:
        return abs(float(prob) - float(x86_prob)) <= 0.0011
    except ValueError:
        return line == x86_line


def compare_commands(ref: dict, dev: dict) -> dict:
    """bench accuracy, classify.py's answer and overlay, explain's predictions: x86 (``ref``) vs arm64."""
    found: dict = {"bench": {}, "classify": {}, "explain": {}}
    for name, rec in dev.get("bench", {}).items():
        x86 = ref.get("bench", {}).get(name, {}).get("accuracy")
        found["bench"][name] = {"accuracy": rec["accuracy"], "x86_accuracy": x86, "same": rec["accuracy"] == x86}
    for name, rec in dev.get("classify", {}).items():
        x86 = ref["classify"][name]
        found["classify"][name] = {"line": rec["line"], "x86_line": x86["line"],
                                   "same": rec["rc"] == 0 and same_answer(rec["line"], x86["line"], precision_of(name)),
                                   "overlay_max_pixel_diff": _pixel_diff(rec["overlay"], x86["overlay"])}
    for name, rec in dev.get("explain", {}).items():
        if rec["rc"] != 0:
            found["explain"][name] = {"ok": False, "error": rec["error"]}
            continue
        pairs = list(zip(rec["images"], ref["explain"][name].get("images", [])))
        same = len(pairs) == len(rec["images"]) > 0 and all(a["predicted_index"] == b["predicted_index"] for a, b in pairs)
        diff = max((abs(a["probability"] - b["probability"]) for a, b in pairs), default=None)
        found["explain"][name] = {"ok": True, "images": len(rec["images"]), "same_classes": same, "max_prob_diff": diff}
    return found


def problems_of(cpu: dict, explain_required: bool) -> list[str]:
    """What fails one CPU's check, from its record (errors, models, bench, classify, explain).

    An ``edgekd explain`` failure fails it only with ``explain_required``; otherwise it is a
    recorded, known gap.
    """
    problems = list(cpu.get("errors", []))
    problems += [f"{m['model']}: {m['why']}" for m in cpu["models"] if not m["passed"]]
    problems += [f"bench accuracy of {n}: {b['accuracy']} on arm64, {b['x86_accuracy']} on x86"
                 for n, b in cpu["bench"].items() if b["accuracy"] != b["x86_accuracy"]]
    problems += [f"classify.py {n}: '{c['line']}' on arm64, '{c['x86_line']}' on x86"
                 for n, c in cpu["classify"].items() if not same_answer(c["line"], c["x86_line"], precision_of(n))]
    for name, e in cpu["explain"].items():
        if not e["ok"] and explain_required:
            problems.append(f"edgekd explain {name}: {e['error']}")
        elif e["ok"] and not e["same_classes"]:
            problems.append(f"edgekd explain {name}: predicted classes differ from x86")
    return problems


PACKAGES = ("numpy", "onnxruntime", "ai-edge-litert")


def host_cpu() -> str:
    """The x86 host's CPU model name (from /proc/cpuinfo)."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def x86_versions() -> dict[str, str]:
    return {name: importlib.metadata.version(name) for name in PACKAGES}


def _e(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def markdown(record: dict) -> str:
    """The committed report: parity per model and CPU first, then the install, then how long it took."""
    lines = [
        "# edgekd's device side on arm64 (qemu-user), checked against x86",
        "",
        "Generated by `benchmarks/device_check/device_check.py` (`just device-check`); the record is `device_check.json`.",
        f"Students: ResNet-20 teacher -> cnn-small student (FMA + KD), {record['dataset']}, exported by `edgekd export`; "
        f"inputs: the {record['n_inputs']} test images, run one at a time, 1 thread, by the same files on both machines.",
        "Each file's parity gate against PyTorch when `edgekd export` wrote it on x86: "
        + "; ".join(f"{n} {s['x86_gate']}" + ("" if s["x86_gate"] == "passed" else " (kept with --no-verify: this check "
                                                                                  "compares the file on two machines)")
                    for n, s in record["students"].items()) + ".",
        f"Emulator: {record['qemu']} on {record['host']['cpu']}; userland: Debian bookworm arm64 "
        f"(Raspberry Pi OS's base), {record['rootfs_mb']:.0f} MB unpacked.",
        "",
        f"**{record['note']}** Nothing here says how fast a Raspberry Pi is; `deploy/raspberry-pi/bench.sh` on a board does.",
        "",
        "## Outputs: arm64 against x86 on the same inputs",
        "Rule: identical top-1 for every input; fp32 logits and attention maps within 1e-4; int8: top-1 only, "
        "its largest difference reported.",
        "",
        "| CPU (board) | model | precision | top-1 agreement | max abs logit diff | max abs map diff | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for cpu in record["cpus"]:
        for m in cpu["models"]:
            agree = f"{m['top1_agree']}/{m['n']}" if "top1_agree" in m else "-"
            verdict = "pass" if m["passed"] else f"**fail**: {m['why']}"
            lines.append(f"| {cpu['cpu']} ({cpu['board']}) | {m['model']} | {m['precision']} | {agree} | "
                         f"{_e(m.get('max_logit_diff'))} | {_e(m.get('max_map_diff'))} | {verdict} |")
    siblings = [f"- {cpu['cpu']}, {m['model']}: top-1 agreement with the fp32 file of the same format "
                f"{m['x86_top1_vs_fp32']:.2%} on x86, {m['arm64_top1_vs_fp32']:.2%} on arm64."
                for cpu in record["cpus"] for m in cpu["models"] if "x86_top1_vs_fp32" in m]
    if siblings:
        lines += ["", "Which machine moved an int8 answer: each int8 file against its fp32 sibling on the same machine.", "",
                  *siblings]
    if any(m.get("x86_top1_vs_fp32", 1) < m.get("arm64_top1_vs_fp32", 1) for cpu in record["cpus"] for m in cpu["models"]):
        lines += ["", "Where an int8 file is further from fp32 on x86 than on arm64, the difference comes from the x86 "
                  "int8 kernels, not from the arm64 side. A likely cause for onnxruntime: on x86 with AVX2 but no VNNI "
                  "its u8s8 products (VPMADDUBSW) can saturate, and its quantization guide advises `reduce_range` or "
                  "the U8U8 format there; arm64 accumulates exactly. The same cause would explain the x86 export "
                  "gate's verdict on that file."]
    lines += ["", "## The device commands under emulation", "",
              "| CPU | edgekd bench (accuracy, arm64 = x86) | classify.py (same answer; overlay max pixel diff) | "
              "edgekd explain |", "|---|---|---|---|"]
    for cpu in record["cpus"]:
        bench = ", ".join(f"{n} {b['accuracy']:.4f}{'' if b['same'] else ' (x86 differs)'}" for n, b in cpu["bench"].items())
        classify = ", ".join(f"{n}: {'same' if c['same'] else 'differs'}; "
                             + ("no head" if c["overlay_max_pixel_diff"] is None else f"{c['overlay_max_pixel_diff']}")
                             for n, c in cpu["classify"].items())
        explain = ", ".join(f"{n}: " + (f"{e['images']} overlays, same classes, max prob diff {_e(e['max_prob_diff'])}"
                                        if e["ok"] and e["same_classes"] else e.get("error", "classes differ"))
                            for n, e in cpu["explain"].items())
        lines.append(f"| {cpu['cpu']} | {bench or '-'} | {classify or '-'} | {explain or '-'} |")
    if not record["explain_required"]:
        lines += ["", "`edgekd explain` is recorded, not gated, until its overlays are drawn without matplotlib "
                  "(`EXPLAIN_REQUIRED` in `benchmarks/device_check/device_check.py`, or `--require-explain`)."]
    lines += ["", "## The arm64 install", "",
              "`pip install \"edgekd[runtime]\"` by the emulated python's own pip (Debian's pip 23.0.1), aarch64 wheels "
              "from PyPI; edgekd itself from a wheel built from this checkout.", "",
              "| CPU | features in /proc/cpuinfo (from qemu's AT_HWCAP) | python | numpy | onnxruntime | ai-edge-litert | "
              "venv MB |", "|---|---|---|---|---|---|---|"]
    for cpu in record["cpus"]:
        v = cpu["versions"]
        lines.append(f"| {cpu['cpu']} | {cpu['cpuinfo_features']} | {v['python']} ({v['machine']}) | {v['numpy']} | "
                     f"{v['onnxruntime']} | {v['ai-edge-litert']} | {cpu['venv_mb']:.0f} |")
    x86 = record["x86_versions"]
    lines += ["", f"x86 reference: numpy {x86['numpy']}, onnxruntime {x86['onnxruntime']}, "
              f"ai-edge-litert {x86['ai-edge-litert']}, python {record['host']['python']}.", "",
              "## How long the check took (emulated; not device timings)", ""]
    for cpu in record["cpus"]:
        steps = ", ".join(f"{k} {v:.0f} s" for k, v in cpu["seconds"].items())
        lines.append(f"- {cpu['cpu']}: {steps}; {cpu['wall_s']:.0f} s in all.")
    install = record["cpus"][0]["install"]
    lines.append(f"- The arm64 install (venv, then `pip install edgekd[runtime]`), run as {install['cpu']} on "
                 f"{install['when']}: {install['seconds'] / 60:.1f} min.")
    lines.append(f"- This run, x86 side included (students and arm64 install reused when cached): "
                 f"{record['total_s'] / 60:.1f} min on a shared 2-core host.")
    problems = [f"- {cpu['cpu']}: {p}" for cpu in record["cpus"] for p in cpu["problems"]]
    lines += ["", f"## Result: {'PASS' if record['passed'] else 'FAIL'}", "", *(problems or ["No problems."]), ""]
    return "\n".join(lines)
