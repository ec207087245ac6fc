"""The other commands of the Python API: datasets, models, import-teacher, explain, report,
attention-agreement, and the site side (classify, adapt; torch-free).
Each takes its command's spec and returns what the command prints from. Heavy imports happen
inside the functions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekd.data.options import DatasetsSpec
from edgekd.errors import EdgekdError
from edgekd.explain.spec import AgreementSpec, ExplainSpec, ReportSpec
from edgekd.models.spec import ModelsSpec
from edgekd.onsite.spec import AdaptSpec, ClassifySpec
from edgekd.training.spec import ImportTeacherSpec

__all__ = ["DatasetsAnswer", "adapt", "attention_agreement", "classify", "datasets", "explain", "import_teacher",
           "list_models", "report"]


@dataclass
class DatasetsAnswer:
    """One of three answers: ``rows`` (the list), ``source`` (one set checked from its headers,
    a folder's ``scan`` among them), or ``audit`` (every image decoded) with its report file."""

    rows: list[dict[str, Any]] | None = None
    data_dir: Path | None = None
    source: Any = None
    audit: Any = None
    audit_lines: list[str] | None = None
    report: Path | None = None


def datasets(spec: DatasetsSpec) -> DatasetsAnswer:
    """The list of data sets, one set checked (``spec.name``), or a folder audited (``spec.audit``:
    the ``--check PATH`` option)."""
    from edgekd.data.registry import describe, get_source
    from edgekd.data.spec import default_data_dir

    spec.check()
    if spec.audit is not None:
        if spec.name is not None:
            raise EdgekdError("give a data set name or --check PATH, not both")
        return _audit(spec.audit if spec.audit.startswith("folder:") else f"folder:{spec.audit}", spec)
    if spec.report is not None:
        raise EdgekdError("--report goes with --check PATH: drop it, or add --check")
    if spec.name is not None:
        return DatasetsAnswer(source=get_source(spec.name, spec.image_size, spec.resize))
    return DatasetsAnswer(rows=describe(spec.data_dir), data_dir=default_data_dir(spec.data_dir))


def _audit(name: str, spec: DatasetsSpec) -> DatasetsAnswer:
    """Decode every image of the set and write the full list (``spec.report``, else beside the folder)."""
    from edgekd.data.folder import problem_list_path
    from edgekd.data.folder_audit import audit, report_text, summary_lines
    from edgekd.data.registry import get_source
    from edgekd.fileio import atomic_write_text

    source = get_source(name, spec.image_size, spec.resize)
    result = audit(source.scan)
    path = spec.report or problem_list_path(source.scan.root, "audit")
    atomic_write_text(path, report_text(result))
    return DatasetsAnswer(source=source, audit=result, audit_lines=summary_lines(result), report=path)


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
