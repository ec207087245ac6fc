"""The quantization benchmark's targets, Markdown and figure (``benchmarks/quantization/run.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekd.int8_schemes import scheme_names

RUNTIMES = {"onnx": "onnxruntime", "tflite": "LiteRT"}


def _r(report: dict, role: str, fmt: str, scheme: str, batch: int) -> float | None:
    rec = report["ratios"].get(f"{role} {fmt} {scheme} b{batch}")
    return rec["median"] if rec else None


def explain_speed(report: dict, role: str, fmt: str) -> str:
    """Why int8 is (not) faster than float32, from the two batch-1 profiles: the ops with MACs
    paired in order (same model), and the quantize / layout ops the int8 graph adds."""
    fp, q = report["profiles"].get(f"{role} {fmt} none"), report["profiles"].get(f"{role} {fmt} int8")
    if not fp or not q:
        return "no profile"
    pairs = [(a, b) for a, b in zip([o for o in fp["ops"] if o.get("macs")], [o for o in q["ops"] if o.get("macs")])
             if b.get("path") == "int8"]
    fp_us, q_us = sum(a["us"] for a, _ in pairs), sum(b["us"] for _, b in pairs)

    def overhead(prof: dict) -> float:
        return sum(v["us"] for k, v in prof["summary"]["by_kind"].items() if k in ("quantize", "layout"))

    return (f"{q['summary']['int8_compute_ops']} of {q['summary']['compute_ops']} compute ops ran int8 kernels; "
            f"those {len(pairs)} convolutions took {q_us:.0f} µs in int8 against {fp_us:.0f} µs in float32, and "
            f"quantize / layout ops took {overhead(q):.0f} µs against {overhead(fp):.0f} µs")


def targets(report: dict) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for role, need_both in (("student", False), ("teacher", True)):
        per = {fmt: [_r(report, role, fmt, "int8", b) for b in (1, 32)] for fmt in ("onnx", "tflite")}
        faster = {fmt: all(v is not None and v < 1 for v in vals) for fmt, vals in per.items()}
        met = all(faster.values()) if need_both else any(faster.values())
        value = "; ".join(f"{RUNTIMES[f]} int8/fp32 p50 {v[0]:.2f} (b1), {v[1]:.2f} (b32)" for f, v in per.items()
                          if None not in v)
        why = "" if met else " | ".join(f"{RUNTIMES[f]}: {explain_speed(report, role, f)}" for f in per if not faster[f])
        name = (f"{role} int8 faster than fp32 at batch 1 and 32 in "
                f"{'both runtimes' if need_both else 'at least one runtime'}")
        out[name] = {"value": value, "met": met, "why": why}
    pairs = {f"{role} {fmt}": (report["exports"][f"{role} {fmt} int8"], report["exports"][f"{role} {fmt} none"])
             for role in ("student", "teacher") for fmt in ("onnx", "tflite")}
    sizes = {k: q["bytes"] / f["bytes"] for k, (q, f) in pairs.items()}
    worst = max(sizes, key=sizes.get)
    q, f = pairs[worst]
    out["int8 size <= 0.3x fp32"] = {
        "value": ", ".join(f"{k} {v:.2f}" for k, v in sizes.items()), "met": max(sizes.values()) <= 0.3,
        "why": "" if max(sizes.values()) <= 0.3 else
        f"{worst}: {q['name_bytes'] / 1024:.0f} KiB of the file are tensor names (the converter's module paths), "
        f"the same in both precisions; without them {(q['bytes'] - q['name_bytes']) / (f['bytes'] - f['name_bytes']):.2f}"
        "; the rest is per-channel scales and zero points, and the float first conv and classifier"}
    if report.get("qat"):
        sets = sorted({r["dataset"] for r in report["qat"]})
        ok = []
        for d in sets:
            rows = [r for r in report["qat"] if r["dataset"] == d and r["scheme"] == "int8" and r["method"] != "post-training"
                    and r.get("model", "student") == "student"]
            ok.append(bool(rows) and all(r["passed"] and r["accuracy_artifact"] >= r["fp32_test_accuracy"] - 0.005
                                         for r in rows))
        out["after qat: int8 within 0.5 points of fp32 and the gate passes (all data sets)"] = {
            "value": ", ".join(f"{d}: {'yes' if k else 'no'}" for d, k in zip(sets, ok)), "met": all(ok) and len(sets) == 3,
            "why": "" if all(ok) else qat_why(report)}
    best = min((report["latency"][k]["p50_ms"], k) for k in report["latency"] if k.startswith("student") and k.endswith("b1"))
    macs = report["models"]["student"].get("macs") or 0
    frac = 2 * macs / (best[0] / 1e3) / 1e9 / report["peak"]["gflops"] if macs else None
    out["student's fastest format at batch 1 >= 60 % of the measured peak"] = {
        "value": f"{best[1].removesuffix(' b1')}: {best[0]:.3f} ms, {frac:.0%} of {report['peak']['gflops']:.0f} GFLOP/s"
        if frac else "-", "met": bool(frac and frac >= 0.6), "why": "" if frac and frac >= 0.6 else fixed_costs(report, best[1])}
    if report.get("matrix"):
        s = report["matrix"]["seconds"]
        out["bench --all-formats for one cnn-small in under 3 minutes"] = {"value": f"{s:.0f} s", "met": s < 180,
                                                                            "why": "" if s < 180 else report["matrix"]["why"]}
    return out


def qat_why(report: dict) -> str:
    """The refused QAT rows with their test-set size: on a small test set 99 % agreement allows few flips."""
    bad = [r for r in report["qat"] if r["method"] != "post-training" and not r["passed"]]
    ptq = [r for r in report["qat"] if r["method"] == "post-training" and r.get("model", "student") == "student"]
    return ("; ".join(f"{r['dataset']} {r['scheme']} {r['format']}: {r['flips']} flips, agreement "
                      f"{r['top1_agreement']:.2%}" for r in bad)
            + f" (post-training int8 passed in {sum(bool(r['passed']) for r in ptq)} of {len(ptq)} student rows)")


def fixed_costs(report: dict, key: str) -> str:
    """Where the batch-1 time of the fastest student goes, from its profile: MAC-carrying ops vs the rest."""
    prof = report["profiles"].get(key.removesuffix(" b1"))
    if not prof:
        return "no profile"
    peak = report["peak"]["gflops"]
    heavy = [o for o in prof["ops"] if (o.get("macs") or 0) >= 1e5]
    light = [o for o in prof["ops"] if (o.get("macs") or 0) < 1e5]
    rate = 2 * sum(o["macs"] for o in heavy) / max(sum(o["us"] for o in heavy), 1e-9) / 1e3
    return (f"the {len(heavy)} big convolutions run at {rate:.0f} GFLOP/s ({rate / peak:.0%} of peak) in "
            f"{sum(o['us'] for o in heavy):.0f} µs; the other {len(light)} ops (first conv at "
            f"{next((o['macs'] for o in light if o.get('macs')), 0) / 1e3:.0f} kMAC, pads, reshape, mean, quantize, fc) "
            f"take {sum(o['us'] or 0 for o in light):.0f} µs as timed alone: a fixed cost per op")


def markdown(report: dict) -> str:
    from benchmarks.quantization.text import document

    return document(report)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [2, 2, 1.6]})
    for ax, role in zip(axes[:2], ("student", "teacher")):
        labels, x = [], 0
        for fmt in ("onnx", "tflite"):
            for scheme in scheme_names(fmt):
                for j, b in enumerate((1, 32)):
                    v = _r(report, role, fmt, scheme, b)
                    if v is not None:
                        ax.bar(x + 0.4 * j, v, 0.4, color=("#4c72b0", "#dd8452")[j], label=f"batch {b}" if x == 0 else None)
                labels.append((x + 0.2, f"{fmt}\n{scheme}"))
                x += 1
            x += 0.5
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks([p for p, _ in labels], [t for _, t in labels], fontsize=6, rotation=60)
        ax.set_ylabel("p50 int8 / p50 float32 (below 1: faster)")
        ax.set_title(f"{role}: int8 schemes against float32, 1 thread", fontsize=9)
        ax.legend(fontsize=7)
    ax = axes[2]
    rows = [r for r in report.get("qat", []) if r["scheme"] == "int8-all"] or report.get("qat", [])
    sets = sorted({(r["dataset"], r.get("model", "student")) for r in rows})
    for i, (d, who) in enumerate(sets):
        for j, method in enumerate(("post-training", "qat")):
            vals = [r["top1_agreement"] for r in rows if (r["dataset"], r.get("model", "student")) == (d, who)
                    and r["method"].startswith(method) and r.get("top1_agreement") is not None]
            if vals:
                ax.bar(i + 0.4 * j, min(vals), 0.4, color=("#c44e52", "#55a868")[j], label=method if i == 0 else None)
    ax.axhline(0.99, color="black", linestyle="--", linewidth=0.8)
    ax.set_xticks([i + 0.2 for i in range(len(sets))], [f"{d}\n{who}" for d, who in sets], fontsize=7)
    ax.set_ylim(0.9, 1.001)
    ax.set_ylabel("top-1 agreement with PyTorch (worst format)")
    ax.set_title(f"{rows[0]['scheme'] if rows else ''}: post-training vs qat (gate at 99 %)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
