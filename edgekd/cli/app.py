"""The ``edgekd`` command line: thin wrappers over the library, heavy imports inside commands."""

from __future__ import annotations

import typer

from edgekd import __version__
from edgekd.cli import (
    catalog,
    distill_cmd,
    eval_cmd,
    explain_cmd,
    export_cmd,
    import_teacher_cmd,
    qat_cmd,
    report_cmd,
    train_cmd,
)
from edgekd.cli.bench import bench
from edgekd.cli.common import handle_errors

app = typer.Typer(
    name="edgekd", no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
    help="Small, fast, explainable image classifiers for edge devices: train a teacher, distill a student "
         "with attention guidance, export it (ONNX / TFLite / TensorRT) and benchmark it on the device.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edgekd {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(version: bool | None = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                         help="Print the version and exit.")) -> None:
    """edgekd: attention-guided knowledge distillation for edge devices."""


app.command("datasets")(catalog.datasets)
app.command("models")(catalog.models)
app.command("train")(train_cmd.train)
app.command("eval")(eval_cmd.eval_checkpoint)
app.command("distill")(distill_cmd.distill)
app.command("import-teacher")(import_teacher_cmd.import_teacher)
app.command("qat")(qat_cmd.qat)
app.command("export")(export_cmd.export)
app.command("bench")(handle_errors(bench))  # one-line errors, exit code 2
app.command("explain")(explain_cmd.explain)
app.command("attention-agreement")(explain_cmd.attention_agreement)
app.command("report")(report_cmd.report)


def main() -> None:
    from edgekd.train.threads import calm_openmp_waits

    calm_openmp_waits()  # before any command imports torch (benchmarks/contention.md)
    app()


if __name__ == "__main__":
    main()
