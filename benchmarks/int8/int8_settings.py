"""Which int8 settings pass the parity gate: calibration method and calibration images, per format.

For each checkpoint given, exports int8 ONNX with onnxruntime's calibration methods
(minmax, percentile; weights per channel, 7-bit unless ``--full-range``) at 256 and 1024
calibration images, and int8 TFLite (ai-edge-quantizer, per-channel weights, min / max
ranges), each through ``edgekd.exporters.exporter.export`` with the real gate; refused
exports are read back from their ``<file>.refused.parity.json``. Accuracy and agreement only
(no timings). Usage::

    python benchmarks/int8/int8_settings.py runs/pneu/model.pt runs/mnist/model.pt --out benchmarks/int8_settings
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from edgekd.errors import EdgekdError
from edgekd.exporters.exporter import ExportOptions, export, refused_path

SETTINGS = [("onnx", "minmax", 256), ("onnx", "percentile", 256), ("onnx", "minmax", 1024),
            ("onnx", "percentile", 1024), ("tflite", "minmax", 256), ("tflite", "minmax", 1024)]


def cell(ckpt: Path, work: Path, fmt: str, calibration: str, samples: int, full_range: bool) -> dict:
    out = work / f"{ckpt.parent.name}-{fmt}-{calibration}-{samples}.{fmt}"
    opts = ExportOptions(format=fmt, quantize="int8", calibration=calibration, calib_samples=samples, out=out,
                         reduce_range=not (full_range and fmt == "onnx"))
    record = out.with_name(out.name + ".parity.json")
    try:
        export(ckpt, opts)
    except EdgekdError:
        record = refused_path(out)
    rep = json.loads(record.read_text())
    return {"checkpoint": str(ckpt), "format": fmt, "calibration": calibration, "calib_samples": samples,
            **{k: rep[k] for k in ("top1_agreement", "accuracy_torch", "accuracy_artifact", "flips",
                                   "flips_near_tie", "near_ties", "test_samples", "passed")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "int8_settings")
    ap.add_argument("--full-range", action="store_true", help="ONNX: 8-bit weights (edgekd's setting before)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ckpt in args.checkpoints:
            for fmt, calibration, samples in SETTINGS:
                rows.append(cell(ckpt, Path(tmp), fmt, calibration, samples, args.full_range))
                print(json.dumps(rows[-1]), flush=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["| checkpoint | format | calibration | calib images | top-1 agreement | flips (near ties) | "
             "test acc artifact / PyTorch | gate |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {Path(r['checkpoint']).parent.name} | {r['format']} | {r['calibration']} | "
                     f"{r['calib_samples']} | {r['top1_agreement']:.2%} | {r['flips']} ({r['flips_near_tie']}) | "
                     f"{r['accuracy_artifact']:.2%} / {r['accuracy_torch']:.2%} | "
                     f"{'pass' if r['passed'] else '**refused**'} |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
