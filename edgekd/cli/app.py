"""The ``edgekd`` command line: one command per spec, each a thin wrapper that prints what the Python API
(:mod:`edgekd.api`) returns; heavy imports happen inside the commands."""

from __future__ import annotations

import typer

from edgekd import __version__
from edgekd.api import (
    AdaptSpec,
    AgreementSpec,
    BenchSpec,
    CalibrateSpec,
    ClassifySpec,
    DatasetsSpec,
    DistillSpec,
    EvalSpec,
    ExplainSpec,
    ExportSpec,
    ImportTeacherSpec,
    ModelsSpec,
    QatSpec,
    ReportSpec,
    TrainSpec,
)
from edgekd.cli import bench, catalog, explain_cmd, export_cmd, qat_cmd, runs_cmd, site_cmd
from edgekd.cli.spec_command import register

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


register(app, DatasetsSpec, catalog.datasets, help=catalog.LAYOUT_HELP)
register(app, ModelsSpec, catalog.models)
register(app, TrainSpec, runs_cmd.train)
register(app, EvalSpec, runs_cmd.evaluate)
register(app, CalibrateSpec, runs_cmd.calibrate)
register(app, DistillSpec, runs_cmd.distill)
register(app, ImportTeacherSpec, catalog.import_teacher)
register(app, QatSpec, qat_cmd.qat)
register(app, ExportSpec, export_cmd.export, help=export_cmd.HELP)
register(app, BenchSpec, bench.bench)
register(app, ExplainSpec, explain_cmd.explain)
register(app, ClassifySpec, site_cmd.classify)
register(app, AdaptSpec, site_cmd.adapt)
register(app, AgreementSpec, explain_cmd.attention_agreement)
register(app, ReportSpec, explain_cmd.report)


def main() -> None:
    from edgekd.api import calm_openmp_waits

    calm_openmp_waits()  # before any command imports torch (benchmarks/contention/contention.md)
    app()


if __name__ == "__main__":
    main()
