"""``datasets``: what the data registry holds, what edgekd reads from a folder, and the audit
that decodes every image of one. The CLI prints what these return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekd.data.options import DatasetsSpec
from edgekd.errors import EdgekdError

__all__ = ["DatasetsAnswer", "datasets"]


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
