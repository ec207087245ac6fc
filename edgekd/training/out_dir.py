"""The run folder of ``train`` and ``distill``: refused when it holds a run (unless ``--resume``
or ``--force``), and never left worse by a failure.

A run writes its files (:data:`RUN_FILES`) atomically, one by one, as epochs complete, so
an interrupted new run keeps ``last.pt`` for ``--resume``. With ``--force`` over an earlier
run, :func:`run_folder` first moves that run's files to ``OUT/.previous-run/``: when the new
run succeeds they are deleted; when it fails (refused data, a crash, Ctrl-C) they are put
back where they were and the failed run's files go to ``OUT/failed-run/`` (resumable there
with ``--out OUT/failed-run --resume``). Files that are not the run's own (exports, notes)
are never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from edgekd.errors import EdgekdError

#: what a train or distill run writes into its folder
RUN_FILES = ("last.pt", "model.pt", "metrics.json", "steps.jsonl", "test.json", "curves.png", "attention.png",
             "splits.csv", "estimate.json", "config.toml")
PREVIOUS, FAILED = ".previous-run", "failed-run"


def check_out_dir(out: Path, resume: bool, force: bool) -> None:
    """Refuse to overwrite an existing run unless --resume (continue) or --force (start over);
    touches nothing, so a command can check it before any work."""
    if out.exists() and not out.is_dir():
        raise EdgekdError(f"--out {out} is a file, not a folder; give a folder for the run")
    has_run = (out / "last.pt").exists() or (out / "model.pt").exists()
    if has_run and not (resume or force):
        raise EdgekdError(f"{out} already holds a run; use --resume to continue it, --force to start over, "
                          f"or another --out")
    if resume and not (out / "last.pt").exists():
        raise EdgekdError(f"nothing to resume in {out} (no last.pt); drop --resume to start a new run")


def prepare_out_dir(out: Path, resume: bool, force: bool) -> None:
    """:func:`check_out_dir`, then create the folder."""
    check_out_dir(out, resume, force)
    out.mkdir(parents=True, exist_ok=True)


def _move(names, src: Path, dst: Path) -> None:
    for name in names:
        if (src / name).exists():
            os.replace(src / name, dst / name)


@contextlib.contextmanager
def run_folder(out: Path, resume: bool, force: bool) -> Iterator[None]:
    """:func:`prepare_out_dir`, then the block; with ``force`` over an earlier run, that run's
    files are kept aside until the block succeeds and restored if it fails."""
    prepare_out_dir(out, resume, force)
    present = [n for n in RUN_FILES if (out / n).exists()] if force and not resume else []
    if not present:
        yield
        return
    backup = out / PREVIOUS
    shutil.rmtree(backup, ignore_errors=True)
    backup.mkdir()
    _move(present, out, backup)
    try:
        yield
    except BaseException:
        written = [n for n in RUN_FILES if (out / n).exists()]
        if written:
            failed = out / FAILED
            shutil.rmtree(failed, ignore_errors=True)
            failed.mkdir()
            _move(written, out, failed)
        _move(present, backup, out)
        shutil.rmtree(backup, ignore_errors=True)
        where = f"; this run's files are in {out / FAILED}" if written else ""
        sys.stderr.write(f"note: the earlier run in {out} is back in place{where}\n")
        raise
    shutil.rmtree(backup, ignore_errors=True)
