"""edgekd from Python: one function per command, each taking that command's spec.

    import edgekd
    teacher = edgekd.train(edgekd.TrainSpec(model="resnet20", dataset="digits", epochs=5, out="runs/t"))
    student = edgekd.distill(edgekd.DistillSpec(teacher=[teacher.checkpoint], epochs=5, out="runs/s"))
    onnx = edgekd.export(edgekd.ExportSpec(checkpoint=student.checkpoint)).path
    report = edgekd.bench(edgekd.BenchSpec(models=[onnx], dataset="digits"))

The specs are the ones the CLI builds from its options (:mod:`edgekd.spec`), so a Python run
and a command-line run with the same values are the same run, and both save the same
``config.toml``. Importing this package imports no torch. How the CLI shows the results is
:mod:`edgekd.api.printing`.
"""

from edgekd.api.bench import bench
from edgekd.api.exports import export, qat
from edgekd.api.results import EvalResult, QatResult, RunResult
from edgekd.api.runs import calibrate, distill, evaluate, train
from edgekd.api.tools import (
    adapt,
    attention_agreement,
    classify,
    datasets,
    explain,
    import_teacher,
    list_models,
    report,
)
from edgekd.benchmarking.spec import BenchSpec
from edgekd.data.options import DatasetsSpec
from edgekd.distillation.spec import DistillSpec
from edgekd.explain.spec import AgreementSpec, ExplainSpec, ReportSpec
from edgekd.exporters.records import ExportResult
from edgekd.exporters.spec import ExportSpec
from edgekd.models.spec import ModelsSpec
from edgekd.onsite.spec import AdaptSpec, ClassifySpec
from edgekd.quant.spec import QatSpec
from edgekd.training.spec import CalibrateSpec, EvalSpec, ImportTeacherSpec, TrainSpec
from edgekd.training.threads import calm_openmp_waits

__all__ = ["AdaptSpec", "AgreementSpec", "BenchSpec", "CalibrateSpec", "ClassifySpec", "DatasetsSpec", "DistillSpec",
           "EvalResult", "EvalSpec", "ExplainSpec", "ExportResult", "ExportSpec", "ImportTeacherSpec", "ModelsSpec",
           "QatResult", "QatSpec", "ReportSpec", "RunResult", "TrainSpec", "adapt", "attention_agreement", "bench",
           "calibrate", "calm_openmp_waits", "classify", "datasets", "distill", "evaluate", "explain", "export",
           "import_teacher", "list_models", "qat", "report", "train"]
