"""``edgekd export``: a checkpoint -> ONNX / TFLite / TensorRT artifact, parity-checked; or an
exported .onnx -> TensorRT engine on the device (no torch needed).

A thin wrapper over :func:`edgekd.exporters.exporter.export`. Register with
``app.command("export")(export_cmd.export)``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli.common import DataDir, handle_errors


@handle_errors
def export(
    checkpoint: Path = typer.Argument(..., help="A model.pt written by train or distill, or an .onnx exported by "
                                      "edgekd (-> a TensorRT engine on the device, no torch needed)."),
    fmt: str | None = typer.Option(None, "--format", "-f", help="onnx, tflite or tensorrt (default: onnx for a "
                                   "checkpoint, tensorrt for an .onnx)."),
    head: str = typer.Option("auto", "--attention-head", help="Second output 'attention': none, fma, mip, cam, or auto "
                             "(cam where the model's CAM is not constant, else none: CAM is the head measured "
                             "faithful for students, benchmarks/faithfulness/faithfulness.md; an .onnx keeps its own head)."),
    quantize: str = typer.Option("none", "--quantize", "-q", help="none, fp16, dynamic, or an int8 scheme "
                                 "(calibrated): int8 (the measured fastest per format), int8-all, int8-pt, int8-io "
                                 "(tflite), int8-s8, int8-sym, int8-qop (onnx); docs/quantization.md."),
    calib_dataset: str | None = typer.Option(None, "--calib-dataset", help="int8 calibration images: a data set "
                                                "name, folder:PATH, or (.onnx -> engine) a folder of image files "
                                                "(default: the model's data set, train split)."),
    calib_samples: int = typer.Option(256, "--calib-samples", help="Number of calibration images (int8 schemes), "
                                      "a fixed random subset of the train split."),
    calibration: str = typer.Option("minmax", "--calibration", help="int8 activation ranges: minmax, or (ONNX) "
                                    "percentile, onnxruntime's calibration methods."),
    full_range: bool = typer.Option(False, "--full-range", help="ONNX int8: 8-bit weights instead of the default "
                                    "7-bit (reduce_range, which kept x86 CPUs without VNNI from saturating)."),
    accept_drop: float | None = typer.Option(None, "--accept-accuracy-drop", metavar="POINTS",
                                             help="Keep a quantized artifact whose test accuracy is at most POINTS "
                                                  "points below PyTorch's, whatever its top-1 agreement (recorded in "
                                                  "the parity file)."),
    opset: int | None = typer.Option(None, "--opset", help="ONNX opset (onnx, tensorrt; default 18)."),
    dynamic_batch: bool = typer.Option(False, "--dynamic-batch", help="Dynamic batch axis (onnx, tensorrt)."),
    nhwc: bool = typer.Option(False, "--nhwc", help="NHWC input (tflite)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: beside the checkpoint, "
                                       "named from format, head and quantization)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Skip the parity gate (warns)."),
    data_dir: DataDir = None,
    parity_samples: int = typer.Option(64, "--parity-samples", help="Test images for the max-difference checks."),
    workspace_mb: int = typer.Option(1024, "--workspace-mb", help="TensorRT builder workspace limit (MiB)."),
    dla_core: int | None = typer.Option(None, "--dla-core", help="TensorRT: build for this Jetson DLA core."),
    verbose: bool = typer.Option(False, "--verbose", help="Show the converters' own logs (absl, oneDNN, warnings)."),
) -> None:
    """Export a checkpoint for edge devices and check it against PyTorch in the real runtime.

    A refused artifact is not written (a file already there keeps its own records): the parity table
    is printed, <file>.refused.parity.json records it, and the error names the ways forward
    (edgekd qat, more or other calibration images, another int8 scheme, --calibration, another
    --quantize or --format, or --accept-accuracy-drop POINTS).

    On a Jetson: `edgekd export student.onnx --quantize fp16` builds a TensorRT engine from an
    exported ONNX and checks it against onnxruntime; torch is not needed.
    """
    from rich.console import Console

    from edgekd.exporters.exporter import ExportOptions
    from edgekd.exporters.exporter import export as run_export
    from edgekd.exporters.verify import print_report
    from edgekd.model_files import file_format

    console = Console(stderr=True)
    onnx_input = file_format(checkpoint) == "onnx"
    if fmt is None:
        fmt = "tensorrt" if onnx_input else "onnx"
    auto = head == "auto" and not onnx_input
    if head == "auto":
        head = "none" if onnx_input else _default_head(checkpoint)
    opts = ExportOptions(format=fmt, head=head, quantize=quantize, calib_dataset=calib_dataset,
                         calib_samples=calib_samples, opset=opset, dynamic_batch=dynamic_batch, nhwc=nhwc,
                         out=out, force=force, verify=not no_verify, data_dir=data_dir and str(data_dir),
                         parity_samples=parity_samples, workspace_mb=workspace_mb, dla_core=dla_core,
                         calibration=calibration, reduce_range=not full_range, accept_drop=accept_drop,
                         verbose=verbose)
    result = run_export(checkpoint, opts, console=console)
    if auto:  # said only after success, so a failure stays one line
        console.print(f"note: attention head {head} (the default, auto: cam where it is not constant)")
    for note in result.notes:
        console.print(f"note: {note}")
    if result.parity is not None:
        print_report(result.parity, f"parity: {result.path.name} in {result.parity['runtime']}", console)
    size = result.path.stat().st_size
    typer.echo(f"exported {result.path} ({size / 1024:.1f} KiB, {result.seconds:.1f} s"
               f"{'' if result.parity is None else f', verified in {result.verify_seconds:.1f} s'})")


def _default_head(checkpoint: Path) -> str:
    """``cam`` when the checkpoint's model gives a non-constant CAM at its input size, else ``none``."""
    from edgekd.exporters.head import default_head

    return default_head(checkpoint)
