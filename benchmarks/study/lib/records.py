"""The study's run records: one gzip'd JSONL file per round (``benchmarks/study/records/<round>.jsonl.gz``).

A run writes its folder under the round's ignored work folder (``benchmarks/_work/study/...``):
``metrics.json``, ``test.json`` and ``study_run.json`` beside its checkpoints.  The committed
record of the run is one line of the round's file, ``{"run": KEY, "metrics": ..., "test": ...,
"study_run": ...}``, holding those three files' content unchanged, where KEY is the folder's path
relative to the round's ``runs/`` folder (``pneumoniamnist/full/cnn-tiny/kd/s0``).  The report
code reads only the records; the runner adds each run's line when the run finishes
(:func:`update`), and :func:`collect` adds every finished folder of a work folder at once.

The file is written sorted by key, compactly and with a zero gzip timestamp, so the same
records always give the same bytes (a rebuilt report can be compared with the committed one).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

FILES = ("metrics", "test", "study_run", "decide", "maps")  # <name>.json in a run folder -> the record's key <name>


def records_path(profile: dict) -> Path:
    """The round's records file: the profile's ``records``, else ``records.jsonl.gz`` in its root."""
    return Path(profile.get("records") or Path(profile["root"]) / "records.jsonl.gz")


def runs_dir(profile: dict) -> Path:
    """The folder the round's run folders live in (their keys are relative to it)."""
    return Path(profile["root"]) / "runs"


def key_of(folder: Path, runs: Path) -> str:
    return folder.relative_to(runs).as_posix()


def read_folder(folder: Path) -> dict | None:
    """A run folder's record files as one dict (None when it holds none of them)."""
    rec = {name: json.loads((folder / f"{name}.json").read_text()) for name in FILES
           if (folder / f"{name}.json").is_file()}
    return rec or None


_CACHE: dict[Path, tuple[tuple[int, int], dict[str, dict]]] = {}


def load(path: Path) -> dict[str, dict]:
    """Every record of a round file, by key ({} when the file does not exist yet).  Cached
    until the file changes; callers must not modify the dicts returned."""
    path = Path(path)
    if not path.is_file():
        return {}
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    hit = _CACHE.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    out = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                out[rec.pop("run")] = rec
    _CACHE[path] = (stamp, out)
    return out


def write(path: Path, records: dict[str, dict]) -> None:
    """Write the records sorted by key, atomically (a temporary file renamed over the old one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps({"run": k, **records[k]}, separators=(",", ":")) + "\n" for k in sorted(records))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    os.replace(tmp, path)


def update(path: Path, runs: Path, folders: list[Path]) -> int:
    """Add or replace the records of ``folders`` (run folders under ``runs``); other records are
    kept, so a round's file keeps the runs whose folders are not on this machine.  Returns how
    many records were written."""
    records = dict(load(path))
    n = 0
    for folder in folders:
        rec = read_folder(folder)
        if rec is not None:
            records[key_of(folder, runs)] = rec
            n += 1
    if n:
        write(path, records)
    return n


def collect(profile: dict) -> int:
    """Add every finished run folder of the profile's work folder (one holding ``metrics.json`` and
    ``test.json``; an interrupted run is left out) to its records file; returns how many."""
    runs = runs_dir(profile)
    folders = sorted({p.parent for p in runs.rglob("metrics.json") if (p.parent / "test.json").is_file()}
                     if runs.is_dir() else [])
    return update(records_path(profile), runs, folders)


def record_of(profile: dict, folder: Path) -> dict | None:
    """The record of the run folder ``folder`` of ``profile`` (None when not recorded)."""
    return load(records_path(profile)).get(key_of(folder, runs_dir(profile)))
