"""``edgekd qat``: quantisation-aware distillation of a finished run, then its int8 export.

A thin wrapper over :func:`edgekd.quant.qat.qat` (which says why this is a step after
``distill`` and not a flag of it). Register with ``app.command("qat")(qat_cmd.qat)``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli.common import DataDir, handle_errors


@handle_errors
def qat(
    run: Path = typer.Argument(..., help="A run folder (or its model.pt) written by train or distill."),
    out: Path | None = typer.Option(None, "--out", "-o", help="New run folder (default: RUN/qat-FORMAT)."),
    scheme: str = typer.Option("int8", "--scheme", help="The int8 scheme to train for and export (edgekd export "
                               "--quantize names; docs/quantization.md)."),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx or tflite: the file to export, and the weight "
                            "grid to train for (onnxruntime's 7-bit, LiteRT's 8-bit); run once per format."),
    epochs: int = typer.Option(3, "--epochs", min=0, help="Fine-tuning epochs (0: fold, round and export only)."),
    lr: float = typer.Option(0.0005, "--lr", help="Peak learning rate (cosine to 0); the folded weights have no "
                             "BatchNorm to renormalise them, so keep it small."),
    batch_size: int = typer.Option(128, "--batch-size", min=1, help="Batch size."),
    calib_samples: int = typer.Option(256, "--calib-samples", min=1, help="Calibration images (train split) for "
                                      "the activation ranges, in training and in the export."),
    teacher: Path | None = typer.Option(None, "--teacher", "-t", help="KD target checkpoint (default: the run's "
                                        "own teacher; a run trained alone distils from its float model)."),
    alpha: float | None = typer.Option(None, "--alpha", help="KD weight (default: the run's, 0.9 without one)."),
    head: str = typer.Option("none", "--attention-head", help="Attention head of the exported files: none, fma, "
                             "mip or cam."),
    seed: int = typer.Option(0, "--seed", help="Seed of the batch order."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch CPU threads."),
    data_dir: DataDir = None,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing OUT/model.pt."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Fine-tune a trained student with fake quantisation against its teacher, then export it in int8.

    Folds BatchNorm, trains a few epochs with the distillation loss while weights and activations
    are rounded as the int8 file will round them, keeps the best validation epoch, writes OUT/model.pt
    (weights on the format's int8 grid) and exports OUT/model-SCHEME.onnx (or .tflite) through the parity gate.
    """
    from rich.console import Console
    from rich.table import Table

    from edgekd.errors import EdgekdError
    from edgekd.quant.qat import QatConfig, summary_rows
    from edgekd.quant.qat import qat as run_qat

    if fmt not in ("onnx", "tflite"):
        raise EdgekdError(f"--format {fmt!r}: give onnx or tflite")
    if not run.exists():
        raise EdgekdError(f"run {run} does not exist: give a run folder or its model.pt")
    target = out or (run if run.is_dir() else run.parent) / f"qat-{fmt}"
    cfg = QatConfig(epochs=epochs, lr=lr, batch_size=batch_size, scheme=scheme, format=fmt,
                    calib_samples=calib_samples, alpha=alpha, seed=seed, threads=threads, head=head)
    console = Console(stderr=True)
    result = run_qat(run, target, cfg, teacher, data_dir and str(data_dir), force, None if quiet else console)
    table = Table(title=f"qat {scheme}: {target}", show_header=False)
    for name, text in summary_rows(result):
        table.add_row(name, text)
    Console().print(table)
    bad = {f: r for f, r in result["exports"].items() if r["status"] != "ok"}
    if bad:
        raise EdgekdError("; ".join(f"{f} {r['status']} ({r.get('record') or r.get('reason')})" for f, r in bad.items())
                          + f": the fine-tuned model is kept in {target}/model.pt; try more --epochs or another "
                            "--scheme")
