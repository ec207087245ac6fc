"""Describe the machine a benchmark ran on: CPU, cores, board, memory, library versions.

Reads ``/proc/cpuinfo`` and ``/proc/device-tree/model`` (present on a Raspberry Pi and
a Jetson) when they exist, and falls back to :mod:`platform` elsewhere. Library
versions come from installed package metadata, so nothing heavy (torch) is imported.
"""

from __future__ import annotations

import os
import platform
import socket
from importlib import metadata
from pathlib import Path
from typing import Any

from edgekd.model_files import RUNTIMES

#: distributions whose versions a benchmark reports when installed: every runtime of the
#: model-file table plus what they lean on
VERSION_DISTS = (
    "edgekd", "numpy", *(spec.dist for spec in RUNTIMES.values()), "onnxruntime-gpu", "onnx", "cuda-python",
    "psutil",
)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_bytes().decode("utf-8", "replace").replace("\x00", "").strip()
    except OSError:
        return None


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name from /proc/cpuinfo text, else :func:`platform.processor`."""
    text = cpuinfo if cpuinfo is not None else (_read("/proc/cpuinfo") or "")
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def board_model() -> str | None:
    """The board (e.g. ``Raspberry Pi 5 Model B Rev 1.0``, ``NVIDIA Jetson Orin Nano``), or None."""
    return _read("/proc/device-tree/model") or None


def cores() -> dict[str, int | None]:
    """Logical and physical core counts, and the cores this process may use."""
    logical = os.cpu_count()
    physical = None
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except ImportError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = logical
    return {"logical": logical, "physical": physical, "usable": usable}


def memory_total_mb() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**20, 1)
    except ImportError:
        text = _read("/proc/meminfo") or ""
        for line in text.splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def versions(dists: tuple[str, ...] = VERSION_DISTS) -> dict[str, str]:
    """Installed versions of ``dists`` (absent ones left out)."""
    found = {}
    for dist in dists:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    if "edgekd" not in found:
        import edgekd

        found["edgekd"] = getattr(edgekd, "__version__", "unknown")
    return found


def fingerprint() -> str:
    """A short key identifying this machine for caches (host, CPU, architecture)."""
    return f"{socket.gethostname()}|{cpu_model()}|{platform.machine()}"


def machine_info() -> dict[str, Any]:
    """Everything a benchmark report states about the machine."""
    return {
        "hostname": socket.gethostname(),
        "board": board_model(),
        "cpu": cpu_model(),
        "arch": platform.machine(),
        "cores": cores(),
        "memory_mb": memory_total_mb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions(),
    }
