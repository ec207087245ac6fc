"""Load the teacher of a distillation: one checkpoint, or several as one ensemble teacher.

``load_teacher`` reads every ``--teacher`` checkpoint, checks each against the run's data
set (input shape, classes, normalisation: a teacher fed differently normalised images
would teach from garbage) and the members against each other (same data set, input
shape, class names and normalisation; a one-line error names the member and what
differs), and returns a :class:`Teacher`: the model (the checkpoint's model, or a
:class:`~edgekd.distillation.ensemble.TeacherEnsemble` of them) and the record the student's
checkpoint keeps.

One teacher is recorded exactly as before (model, checkpoint, sha256, params, macs, val).
An ensemble records ``model`` ``ensemble(a+b)``, ``checkpoint`` the paths joined by
commas, ``sha256`` the SHA-256 of the members' checkpoint hashes in order (what the
teacher cache checks: a cache built for other teachers, or the same ones in another
order, is stale), summed params and MACs, and ``members``: each member's record.
:func:`add_test_metrics` adds ``test`` (and each member's) before training, so the
student's model.pt holds them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from edgekd.data.spec import DatasetInfo
from edgekd.distillation.ensemble import TeacherEnsemble
from edgekd.errors import EdgekdError
from edgekd.training.checkpoint import build_model, load_checkpoint
from edgekd.training.evaluate import evaluate

__all__ = ["Teacher", "add_test_metrics", "check_compatible", "load_teacher"]

NORM_TOL = 1e-6  # mean / std are stored as Python floats: equal values compare equal, other sets differ by >= 1e-3


@dataclass
class Teacher:
    """The teacher model (one, or the ensemble), its record, and its members' models."""

    model: nn.Module
    record: dict
    members: list[nn.Module]


def check_compatible(teacher: dict, info: DatasetInfo, teacher_path: Path) -> None:
    """One-line EdgekdError unless the checkpoint takes the data set's inputs, classes and
    normalisation."""
    t = teacher["data"]
    if (t["channels"], t["size"]) != (info.channels, info.size):
        raise EdgekdError(f"teacher {teacher_path} takes {t['channels']}x{t['size']}x{t['size']} inputs but "
                          f"{info.name} has {info.channels}x{info.size}x{info.size}; use a teacher trained on it")
    if t["num_classes"] != info.num_classes:
        raise EdgekdError(f"teacher {teacher_path} has {t['num_classes']} classes but {info.name} has "
                          f"{info.num_classes}; use a teacher trained on it")
    for key in ("mean", "std"):
        if not _close(t[key], getattr(info, key)):
            raise EdgekdError(f"teacher {teacher_path} expects inputs normalised with {key} {list(t[key])} but "
                              f"{info.name} uses {list(getattr(info, key))}; use a teacher trained on it")
    was, now = (t.get("preprocess") or {}).get("resize"), (info.preprocess or {}).get("resize")
    if was and now and was != now:
        raise EdgekdError(f"teacher {teacher_path} saw its images through --resize {was} but this run reads them with "
                          f"--resize {now}: pass --resize {was} (a teacher taught on other crops teaches worse)")


def _close(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(float(u) - float(v)) <= NORM_TOL for u, v in zip(a, b))


def _check_members(contents: list[dict], paths: list[Path]) -> None:
    """Every member agrees with the first on data set, input shape, class names and normalisation."""
    first, first_path = contents[0]["data"], paths[0]
    for content, path in zip(contents[1:], paths[1:]):
        d = content["data"]
        checks = [("data set", first["name"], d["name"]),
                  ("input shape", [first["channels"], first["size"], first["size"]], [d["channels"], d["size"], d["size"]]),
                  ("classes", list(first["class_names"]), list(d["class_names"]))]
        for what, want, got in checks:
            if want != got:
                raise EdgekdError(f"ensemble member {path} has {what} {got} but {first_path} has {want}: members "
                                  "must share data set, input shape, classes and normalisation")
        for key in ("mean", "std"):
            if not _close(first[key], d[key]):
                raise EdgekdError(f"ensemble member {path} has normalisation {key} {list(d[key])} but {first_path} "
                                  f"has {list(first[key])}: members must share data set, input shape, classes and "
                                  "normalisation")


def _record(content: dict, path: Path) -> dict:
    return {"model": content["model"]["name"], "checkpoint": str(path), "sha256": content["checkpoint_sha256"],
            "params": content.get("params"), "macs": content.get("macs"),
            "val": (content.get("best") or {}).get("val")}


def ensemble_sha256(hashes: Sequence[str]) -> str:
    """The ensemble's fingerprint: SHA-256 of its members' checkpoint hashes, in order."""
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def load_teacher(paths: Path | Sequence[Path], info: DatasetInfo) -> Teacher:
    """The teacher of ``paths`` (one checkpoint or several), checked against ``info``."""
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not paths:
        raise EdgekdError("no teacher given: pass --teacher model.pt (repeat it for an ensemble)")
    if len(set(map(str, paths))) != len(paths):
        raise EdgekdError(f"teacher {next(p for i, p in enumerate(paths) if p in paths[:i])} is given twice: "
                          "an ensemble's members are different checkpoints")
    contents = [load_checkpoint(p) for p in paths]
    if len(paths) > 1:
        _check_members(contents, paths)
    for content, path in zip(contents, paths):
        check_compatible(content, info, path)
    members = [build_model(c) for c in contents]
    records = [_record(c, p) for c, p in zip(contents, paths)]
    if len(paths) == 1:
        return Teacher(members[0], records[0], members)
    names = [r["model"] for r in records]
    record = {"model": f"ensemble({'+'.join(names)})", "checkpoint": ",".join(map(str, paths)),
              "sha256": ensemble_sha256([r["sha256"] for r in records]),
              "params": _total(r["params"] for r in records), "macs": _total(r["macs"] for r in records),
              "val": None, "members": records}
    return Teacher(TeacherEnsemble(members, [str(p) for p in paths]), record, members)


def _total(values) -> int | None:
    values = list(values)
    return None if any(v is None for v in values) else int(sum(values))


def add_test_metrics(teacher: Teacher, val, test, device) -> None:
    """Evaluate the teacher on the ``test`` split (None when the set has none; an ensemble also on ``val``, which no
    checkpoint holds for it, and each member on ``test``) and store the metrics in the
    records: the teachers are frozen, so the numbers hold for the whole run."""
    teacher.record["test"] = evaluate(teacher.model, test, device=device) if test is not None else None
    if teacher.record.get("members"):
        teacher.record["val"] = evaluate(teacher.model, val, device=device)
    for member, record in zip(teacher.members, teacher.record.get("members", [])):
        record["test"] = evaluate(member, test, device=device) if test is not None else None
