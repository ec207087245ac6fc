"""Fetching official releases and verifying their md5, with errors a user can act on."""

from __future__ import annotations

import functools
import shutil
import urllib.request
from pathlib import Path

from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_path, file_digest


def download(url: str, dest: Path, md5: str | None, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically and check its md5; a one-line error where there is no network."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(dest) as tmp:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
            if md5 and file_digest(tmp, "md5") != md5:
                raise EdgekdError(f"downloaded {url} but its md5 does not match {md5}; try again later")
    except EdgekdError:
        raise
    except Exception as exc:  # no network, DNS failure, HTTP error
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EdgekdError(
            f"could not download {url} ({reason}); without a network, copy the file to {dest} by hand"
        ) from None
    return dest


@functools.lru_cache(maxsize=64)
def _md5_of(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(path, "md5")


def verify_md5(path: Path, accepted: tuple[str, ...], how_to_get: str) -> None:
    """Raise a one-line error unless the file's md5 is one of ``accepted`` (checked once per process)."""
    if not accepted:
        return
    stat = path.stat()
    digest = _md5_of(str(path), stat.st_size, stat.st_mtime_ns)
    if digest not in accepted:
        raise EdgekdError(
            f"{path} is corrupted or not the official release (md5 {digest}, expected {accepted[0]}); "
            f"delete it and {how_to_get}"
        )
