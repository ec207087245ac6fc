"""edgekd from Python: one function per command, each taking that command's spec.

    import edgekd
    teacher = edgekd.train(edgekd.TrainSpec(model="resnet20", dataset="digits", epochs=5, out="runs/t"))
    student = edgekd.distill(edgekd.DistillSpec(teacher=[teacher.checkpoint], epochs=5, out="runs/s"))

The specs are the ones the CLI builds from its options (:mod:`edgekd.spec`), so a Python run
and a command-line run with the same values are the same run, and both save the same
``config.toml``. Importing this package imports no torch.
"""

from edgekd.api.catalog import datasets
from edgekd.api.results import EvalResult, RunResult
from edgekd.api.runs import calibrate, distill, evaluate, train
from edgekd.api.tools import adapt, attention_agreement, classify, explain, import_teacher, list_models, report
from edgekd.data.options import DatasetsSpec
from edgekd.distillation.spec import DistillSpec
from edgekd.explain.spec import AgreementSpec, ExplainSpec, ReportSpec
from edgekd.models.spec import ModelsSpec
from edgekd.onsite.spec import AdaptSpec, ClassifySpec
from edgekd.training.spec import CalibrateSpec, EvalSpec, ImportTeacherSpec, TrainSpec
from edgekd.training.threads import calm_openmp_waits

__all__ = ["AdaptSpec", "AgreementSpec", "CalibrateSpec", "ClassifySpec", "DatasetsSpec", "DistillSpec", "EvalResult",
           "EvalSpec", "ExplainSpec", "ImportTeacherSpec", "ModelsSpec", "ReportSpec", "RunResult", "TrainSpec",
           "adapt", "attention_agreement", "calibrate", "calm_openmp_waits", "classify", "datasets", "distill",
           "evaluate", "explain", "import_teacher", "list_models", "report", "train"]
