"""The spec of ``edgekd export`` (see :mod:`edgekd.spec`). Torch-free: a Jetson builds a TensorRT
engine from an exported .onnx (``edgekd export model.onnx``) without torch installed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.exporters.records import DEFAULT_CALIB_SAMPLES, DEFAULT_PARITY_SAMPLES, ExportOptions
from edgekd.exporters.tensorrt_export import DEFAULT_WORKSPACE_MB
from edgekd.spec import REQUIRED, Spec, option

__all__ = ["ExportSpec"]


@dataclass(kw_only=True)
class ExportSpec(Spec):
    """Export a checkpoint for edge devices and check it against PyTorch in the real runtime.

    ``format`` None and ``head`` ``auto`` are resolved by :func:`edgekd.api.export` (onnx for a
    checkpoint and tensorrt for an .onnx; cam where the model's CAM is not constant, else none)."""

    command = "export"

    checkpoint: Path = option(REQUIRED, "A model.pt written by train or distill, or an .onnx exported by edgekd (-> a "
                                        "TensorRT engine on the device, no torch needed).", argument=True)
    format: str | None = option(None, "onnx, tflite or tensorrt (default: onnx for a checkpoint, tensorrt for an "
                                      ".onnx).", "-f")
    head: str = option("auto", "Second output 'attention': none, fma, mip, cam, or auto (cam where the model's CAM is "
                               "not constant, else none: CAM is the head measured faithful for students, "
                               "benchmarks/faithfulness/faithfulness.md; an .onnx keeps its own head).",
                       flag="--attention-head")
    quantize: str = option("none", "none, fp16, dynamic, or an int8 scheme (calibrated): int8 (the measured fastest "
                                   "per format), int8-all, int8-pt, int8-io (tflite), int8-s8, int8-sym, int8-qop "
                                   "(onnx); docs/quantization.md.", "-q")
    calib_dataset: str | None = option(None, "int8 calibration images: a data set name, folder:PATH, or (.onnx -> "
                                             "engine) a folder of image files (default: the model's data set, train "
                                             "split).")
    calib_samples: int = option(DEFAULT_CALIB_SAMPLES, "Number of calibration images (int8 schemes), a fixed random "
                                                       "subset of the train split.")
    calibration: str = option("minmax", "int8 activation ranges: minmax, or (ONNX) percentile, onnxruntime's "
                                        "calibration methods.")
    full_range: bool = option(False, "ONNX int8: 8-bit weights instead of the default 7-bit (reduce_range, which kept "
                                     "x86 CPUs without VNNI from saturating).", negatable=False)
    accept_drop: float | None = option(None, "Keep a quantized artifact whose test accuracy is at most POINTS points "
                                             "below PyTorch's, whatever its top-1 agreement (recorded in the parity "
                                             "file).", metavar="POINTS", flag="--accept-accuracy-drop")
    opset: int | None = option(None, "ONNX opset (onnx, tensorrt; default 18).")
    dynamic_batch: bool = option(False, "Dynamic batch axis (onnx, tensorrt).", negatable=False)
    nhwc: bool = option(False, "NHWC input (tflite).", negatable=False)
    out: Path | None = option(None, "Output file (default: beside the checkpoint, named from format, head and "
                                    "quantization).", "-o", record=False)
    force: bool = option(False, "Overwrite an existing output.", negatable=False, record=False)
    no_verify: bool = option(False, "Skip the parity gate (warns).", negatable=False)
    data_dir: Path | None = option(None, "Data root (default: $EDGEKD_DATA or ~/.cache/edgekd/data).")
    parity_samples: int = option(DEFAULT_PARITY_SAMPLES, "Test images for the max-difference checks.")
    workspace_mb: int = option(DEFAULT_WORKSPACE_MB, "TensorRT builder workspace limit (MiB).")
    dla_core: int | None = option(None, "TensorRT: build for this Jetson DLA core.")
    verbose: bool = option(False, "Show the converters' own logs (absl, oneDNN, warnings).", negatable=False,
                           record=False)

    def to_options(self) -> ExportOptions:
        """What the exporter takes, from a spec whose format and head are resolved (not None / auto)."""
        if self.format is None or self.head == "auto":
            raise ValueError("resolve the format and the attention head first (edgekd.api.export does)")
        return ExportOptions(format=self.format, head=self.head, quantize=self.quantize,
                             calib_dataset=self.calib_dataset, calib_samples=self.calib_samples, opset=self.opset,
                             dynamic_batch=self.dynamic_batch, nhwc=self.nhwc, out=self.out, force=self.force,
                             verify=not self.no_verify, data_dir=self.data_dir and str(self.data_dir),
                             parity_samples=self.parity_samples, workspace_mb=self.workspace_mb,
                             dla_core=self.dla_core, calibration=self.calibration, reduce_range=not self.full_range,
                             accept_drop=self.accept_drop, verbose=self.verbose)
