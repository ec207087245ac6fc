"""ONNX int8 weight settings on one checkpoint: per-channel vs per-tensor, 8-bit vs 7-bit (reduce_range).

onnxruntime static QDQ on the checkpoint's float32 ONNX (exported first with ``edgekd
export``), 256 calibration images from the train split, min / max ranges; agreement with
the float32 ONNX and test accuracy on the whole test split, batch 1, onnxruntime on this
CPU. Accuracy figures only. Usage::

    edgekd export runs/pneu/model.pt --format onnx --out /tmp/p32.onnx
    python benchmarks/int8/int8_weights.py runs/pneu/model.pt /tmp/p32.onnx
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

VARIANTS = {
    "per-channel, 8-bit (edgekd before issue 16)": dict(per_channel=True),
    "per-tensor, 8-bit": dict(per_channel=False),
    "per-channel, 7-bit (reduce_range, the default now)": dict(per_channel=True, reduce_range=True),
    "per-channel, 8-bit, symmetric activations": dict(per_channel=True, extra_options={"ActivationSymmetric": True}),
}


def main() -> None:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edgekd.exporters.data import calibration_images, test_images
    from edgekd.exporters.onnx_export import calibration_reader, name_nodes
    from edgekd.training.checkpoint import artifact_metadata, load_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("fp32_onnx", type=Path)
    args = ap.parse_args()
    meta = artifact_metadata(load_checkpoint(args.checkpoint))
    calib = calibration_images(meta["dataset"], 256, meta, None)
    x, y = test_images(meta, None)

    def run(path: str) -> np.ndarray:
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return np.concatenate([session.run(None, {"input": x[i:i + 1]})[0] for i in range(len(x))])

    z = run(str(args.fp32_onnx))
    print(f"| setting | top-1 agreement | test acc int8 / fp32 ({meta['dataset']}, {len(x)} images) |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(args.fp32_onnx), str(pre), skip_symbolic_shape=True)
        model = onnx.load(str(pre))
        name_nodes(model)
        onnx.save(model, str(pre))
        for name, kw in VARIANTS.items():
            out = Path(tmp) / "q.onnx"
            quantize_static(str(pre), str(out), calibration_reader(calib), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, **kw)
            zq = run(str(out))
            print(f"| {name} | {(zq.argmax(1) == z.argmax(1)).mean():.2%} | {(zq.argmax(1) == y).mean():.2%} / "
                  f"{(z.argmax(1) == y).mean():.2%} |", flush=True)


if __name__ == "__main__":
    main()
