"""The other commands of the Python API: models, import-teacher, explain, report, attention-agreement,
and the site side (classify, adapt; torch-free).
Each takes its command's spec and returns what the command prints from. Heavy imports happen
inside the functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekd.explain.faithfulness import format_interval  # noqa: F401  (how the CLI prints an interval)
from edgekd.explain.spec import AgreementSpec, ExplainSpec, ReportSpec
from edgekd.models.spec import ModelsSpec
from edgekd.onsite.spec import AdaptSpec, ClassifySpec
from edgekd.training.spec import ImportTeacherSpec

__all__ = ["adapt", "attention_agreement", "classify", "explain", "import_teacher", "list_models", "report"]


def list_models(spec: ModelsSpec) -> list[dict[str, Any]]:
    """One row per registered model: name, role, parameters, MACs and stages at the spec's input."""
    from edgekd.models.registry import create_model, model_entries
    from edgekd.models.stats import count_macs, count_params

    spec.check()
    rows = []
    for entry in model_entries(spec.role):
        model = create_model(entry.name, spec.channels, spec.num_classes)
        rows.append({"name": entry.name, "role": entry.role, "params": count_params(model),
                     "macs": count_macs(model, (spec.channels, spec.size, spec.size)), "stages": len(model.stages),
                     "description": entry.description})
    return rows


def _floats(value: str | None, flag: str) -> list[float] | None:
    from edgekd.errors import EdgekdError

    if not value:
        return None
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise EdgekdError(f"{flag} takes comma-separated numbers, got {value!r}") from None


def import_teacher(spec: ImportTeacherSpec) -> dict[str, Any]:
    """Write ``spec.out``: a model.pt of ``tv:<arch>`` with the given weights (evaluated on the
    data set's test split when one is named)."""
    from edgekd.training.outside import import_torchvision

    spec.check()
    names = [c.strip() for c in spec.classes.split(",") if c.strip()] if spec.classes else None
    return import_torchvision(spec.arch, spec.weights, spec.out, spec.dataset,
                              str(spec.data_dir) if spec.data_dir else None, spec.download, names,
                              _floats(spec.mean, "--mean"), _floats(spec.std, "--std"), spec.size, spec.force)


def report(spec: ReportSpec) -> Path:
    """Write the self-contained HTML report of a run folder; returns its path."""
    from edgekd.explain.report import write_report

    spec.check()
    return write_report(spec.run_dir, spec.out, spec.bench)


def attention_agreement(spec: AgreementSpec) -> dict[str, Any]:
    """Faithfulness of each map of the teacher and students, and their agreement with the teacher."""
    from edgekd.explain.study import attention_agreement as run

    spec.check()
    return run(spec.teacher, list(spec.student), spec.dataset, spec.split, list(spec.map) or None, spec.out,
               spec.data_dir, spec.limit, spec.steps, spec.fill, spec.seed, quiet=spec.quiet)


def explain(spec: ExplainSpec) -> dict[str, Any]:
    """Overlays of the model's attention on each input and explain.json's content (torch-free
    for an exported model)."""
    from edgekd.explain.run import explain as run

    spec.check()
    layers = [v.strip() for item in spec.layers for v in item.split(",") if v.strip()] or None
    return run(spec.model, list(spec.inputs), spec.map, spec.out, spec.split, spec.n, spec.data_dir, spec.runtime,
               layers, resize=spec.resize)


def classify(spec: ClassifySpec) -> Any:
    """One decision per image with the model's rule (under the site prior when adapted); writes the CSV.
    Returns :class:`edgekd.onsite.run.Classified`."""
    from edgekd.onsite.run import classify_images

    return classify_images(spec)


def adapt(spec: AdaptSpec) -> Any:
    """The class prior of the images, with its interval, written beside the model for classify and bench.
    Returns :class:`edgekd.onsite.run.Adaptation`."""
    from edgekd.onsite.run import adapt_model

    return adapt_model(spec)
