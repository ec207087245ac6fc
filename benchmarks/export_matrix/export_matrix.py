"""Export matrix: format x quantization x attention head -> size, parity, accuracy, export time.

Student: cnn-small trained 5 epochs on PneumoniaMNIST (seed 0, the data in $EDGEKD_DATA),
unless ``--checkpoint`` names one; the report states how the exported model was made, read
from its checkpoint (``benchmarks/_lib/provenance.py``). Each cell is a real ``edgekd.exporters.exporter.export``
with the parity gate on (onnxruntime / ai-edge-litert); a cell whose gate fails is
re-exported with the gate off so its figures are still reported, marked FAIL.
Accuracy is on the full PneumoniaMNIST test split (624 images). TensorRT cannot run
here (no TensorRT, no GPU) and is not in the table.

    .venv/bin/python benchmarks/export_matrix/export_matrix.py            # writes export_matrix.md / .json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks._lib.provenance import describe, made_how  # noqa: E402

HERE = Path(__file__).resolve().parent
FORMATS = ("onnx", "tflite")
QUANTIZE = ("none", "fp16", "int8", "dynamic")
HEADS = ("none", "fma", "mip", "cam")


def train_student(out: Path) -> Path:
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    if not (out / "model.pt").is_file():
        train_supervised("cnn-small", "pneumoniamnist", out, TrainConfig(epochs=5, seed=0), quiet=True)
    return out / "model.pt"


def cell(ckpt: Path, work: Path, fmt: str, quantize: str, head: str) -> dict:
    from edgekd.errors import EdgekdError
    from edgekd.exporters.exporter import ExportOptions, export
    from edgekd.exporters.verify import check_parity

    out = work / f"{fmt}-{quantize}-{head}{'.onnx' if fmt == 'onnx' else '.tflite'}"
    opts = ExportOptions(format=fmt, quantize=quantize, head=head, out=out, force=True)
    row = {"format": fmt, "quantize": quantize, "head": head}
    t0 = time.perf_counter()
    try:
        result = export(ckpt, opts)
        row.update(gate="pass", parity=result.parity)
    except EdgekdError as exc:
        row["gate"] = f"FAIL: {exc}"
        if "parity check failed" not in str(exc):
            return row
        opts.verify = False
        result = export(ckpt, opts)
        from edgekd.exporters.data import test_images
        from edgekd.exporters.head import ExportHead
        from edgekd.training.checkpoint import build_model, load_checkpoint

        x, y = test_images(result.metadata)
        with ExportHead(build_model(load_checkpoint(ckpt)), head, tuple(result.metadata["input_size"])) as w:
            row["parity"] = check_parity(out, w, quantize, x, y)
    row.update(bytes=out.stat().st_size, export_s=round(result.seconds, 2),
               wall_s=round(time.perf_counter() - t0, 2))
    return row


def fmt_row(r: dict) -> str:
    p = r.get("parity") or {}

    def g(key: str, spec: str) -> str:
        v = p.get(key)
        return "-" if v is None else format(v, spec)

    gate = "pass" if r["gate"] == "pass" else "**FAIL**"
    return (f"| {r['format']} | {r['quantize']} | {r['head']} | {r.get('bytes', 0) / 1024:.1f} | "
            f"{g('max_abs_logits', '.2e')} | {g('max_abs_attention', '.2e')} | {g('mean_abs_attention', '.2e')} | "
            f"{g('top1_agreement', '.2%')} | {g('max_flip_margin', '.3g')} | {g('accuracy_artifact', '.2%')} | "
            f"{r.get('export_s', '-')} | {gate} |")


def versions() -> dict:
    out = {"python": platform.python_version(), "machine": platform.machine(), "cpus": __import__("os").cpu_count()}
    for dist in ("torch", "onnx", "onnxscript", "onnxruntime", "litert-torch", "ai-edge-litert", "ai-edge-quantizer"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, help="student checkpoint (default: train cnn-small 5 epochs)")
    ap.add_argument("--formats", nargs="+", default=list(FORMATS))
    ap.add_argument("--quantize", nargs="+", default=list(QUANTIZE))
    ap.add_argument("--heads", nargs="+", default=list(HEADS))
    ap.add_argument("--out", type=Path, default=HERE / "export_matrix")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgekd-export-matrix-") as tmp:
        work = Path(tmp)
        ckpt = args.checkpoint or train_student(work / "student")
        from edgekd.training.checkpoint import load_checkpoint

        content = load_checkpoint(ckpt)
        rows = []
        for fmt in args.formats:
            for quantize in args.quantize:
                for head in args.heads:
                    rows.append(cell(ckpt, work, fmt, quantize, head))
                    print(fmt_row(rows[-1]), flush=True)
    torch_acc = next((r["parity"]["accuracy_torch"] for r in rows if r.get("parity")), None)
    record = {"student": content["model"]["name"], "dataset": content["data"]["name"], "made": made_how(ckpt),
              "params": content.get("params"), "macs": content.get("macs"), "accuracy_torch": torch_acc,
              "versions": versions(), "rows": rows}
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1, default=str) + "\n")
    head = ("| format | quantize | head | KiB | logits max abs diff | map max abs diff | map mean abs diff | "
            "top-1 agree | max flip margin | test acc | export s | gate |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    fails = sorted(dict.fromkeys(f"{r['format']} {r['quantize']}: " + "; ".join((r.get("parity") or {}).get(
        "failures", [r["gate"]])) for r in rows if r["gate"] != "pass"))
    acc = f"{torch_acc:.2%}" if torch_acc is not None else "?"
    text = (f"# Export matrix\n\n{describe(record['made'])} ({record['params']:,} params) on "
            f"{record['dataset']}; PyTorch test accuracy {acc} (624 test images). Parity: logits / map "
            f"differences on 64 test images, top-1 agreement and accuracy on the whole test split, in "
            f"onnxruntime / ai-edge-litert on this CPU (x86_64, 2 shared cores: export times are indicative). "
            f"Gate limits: edgekd/exporters/verify.py. Produced by `benchmarks/export_matrix/export_matrix.py`.\n\n"
            f"{head}\n" + "\n".join(fmt_row(r) for r in rows) + "\n\n"
            + ("Gate failures:\n\n" + "".join(f"- {f}\n" for f in fails) + "\n" if fails else "")
            + "*max flip margin*: the largest PyTorch top-1 minus top-2 logit among test images whose prediction "
            "changed (small: only near-ties flipped). *map max abs diff* 1.0 for int8 CAM: an image whose int8 "
            "prediction flipped gets the other class's map.\n\nVersions: "
            + ", ".join(f"{k} {v}" for k, v in record["versions"].items()) + "\n")
    args.out.with_suffix(".md").write_text(text)
    print(f"wrote {args.out.with_suffix('.md')} and .json")


if __name__ == "__main__":
    main()
