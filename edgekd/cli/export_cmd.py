"""``edgekd export``: a checkpoint -> ONNX / TFLite / TensorRT artifact, parity-checked; or an
exported .onnx -> TensorRT engine on the device (no torch needed).

Printing only: the work is :func:`edgekd.api.export`. Registered in :mod:`edgekd.cli.app` with
``register(app, ExportSpec, export_cmd.export, help=export_cmd.HELP)``.
"""

from __future__ import annotations

import typer

from edgekd.api import ExportSpec

#: ``edgekd export --help``: the spec's first line, what a refusal leaves, and the Jetson route
HELP = """Export a checkpoint for edge devices and check it against PyTorch in the real runtime.

A refused artifact is not written (a file already there keeps its own records): the parity table
is printed, <file>.refused.parity.json records it, and the error names the ways forward
(edgekd qat, more or other calibration images, another int8 scheme, --calibration, another
--quantize or --format, or --accept-accuracy-drop POINTS).

On a Jetson: `edgekd export student.onnx --quantize fp16` builds a TensorRT engine from an
exported ONNX and checks it against onnxruntime; torch is not needed.
"""


def export(spec: ExportSpec) -> None:
    """Print the notes, the parity table and what was written (edgekd.api.export)."""
    from rich.console import Console

    from edgekd.api import export as run
    from edgekd.api.printing import print_report

    console = Console(stderr=True)
    result = run(spec, console=console)
    for note in result.notes:
        console.print(f"note: {note}")
    if result.parity is not None:
        print_report(result.parity, f"parity: {result.path.name} in {result.parity['runtime']}", console)
    size = result.path.stat().st_size
    typer.echo(f"exported {result.path} ({size / 1024:.1f} KiB, {result.seconds:.1f} s"
               f"{'' if result.parity is None else f', verified in {result.verify_seconds:.1f} s'})")
