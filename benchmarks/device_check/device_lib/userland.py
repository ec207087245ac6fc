"""A Raspberry Pi OS-like (Debian bookworm) arm64 userland on x86_64, run by qemu-user.

No binfmt_misc, no chroot, and the host's dpkg state is never touched:

* apt runs with a private state (its own lists, an empty status file, its own cache) for the
  architectures arm64 and amd64, reading the host's own sources (/etc/apt/sources.list(.d)),
  so the mirror is whatever this machine uses;
* the arm64 .debs of ``python3.11 python3.11-venv libstdc++6 libgomp1`` and their dependencies
  are unpacked with ``dpkg -x`` into ``ROOTFS`` (no maintainer scripts run);
* ``qemu-aarch64-static`` is taken out of Debian's amd64 ``qemu-user-static`` .deb, unpacked only;
* the arm64 venv's ``bin/python`` is a shell wrapper that execs qemu with ``-0 "$0"``, so the
  emulated ``sys.executable`` is the wrapper and child processes (``edgekd bench`` runs each
  model in one) start emulated too; scripts' ``#!venv/bin/python`` lines work the same way.

qemu's ``-L ROOTFS`` falls back to host paths for files the rootfs lacks: the wrapper sets
``PIP_CONFIG_FILE=/dev/null`` (the host's pip.conf would leak in) and ROOTFS/proc/cpuinfo is
written for the emulated CPU (:mod:`.proc_cpuinfo`) before anything runs.

An arm64 ``/proc/cpuinfo`` that tells the truth about the CPU qemu emulates.

qemu-user looks up a path inside ``-L ROOTFS`` first and falls back to the host's, so
without ``ROOTFS/proc/cpuinfo`` an arm64 process reads the host's x86 file (on which
``import onnxruntime`` segfaults). The file written here lists exactly the features of the
auxiliary vector's ``AT_HWCAP`` as qemu reports it for the chosen ``-cpu``: claiming more
(e.g. Cortex-A76's dot product on an emulated A72) lets a library pick kernels the CPU
cannot run (SIGILL), claiming less hides nothing harmful but changes code paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: AT_HWCAP bit -> feature name, in bit order (Linux arch/arm64/include/uapi/asm/hwcap.h)
HWCAP_NAMES = (
    "fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp", "asimdhp",
    "cpuid", "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop", "sha3", "sm3", "sm4", "asimddp", "sha512",
    "sve", "asimdfhm", "dit", "uscat", "ilrcpc", "flagm", "ssbs", "sb", "paca", "pacg",
)


@dataclass(frozen=True)
class CpuModel:
    """An Arm core as its MIDR_EL1 fields describe it, and the board that carries it."""

    name: str
    board: str
    part: int
    variant: int
    revision: int
    implementer: int = 0x41  # Arm Ltd.


#: the qemu ``-cpu`` names this check runs, with the MIDR values qemu gives them
CPUS = {
    "cortex-a76": CpuModel("cortex-a76", "Raspberry Pi 5 (BCM2712)", part=0xD0B, variant=4, revision=1),
    "cortex-a72": CpuModel("cortex-a72", "Raspberry Pi 4 (BCM2711)", part=0xD08, variant=0, revision=3),
}


def hwcap_features(hwcap: int) -> list[str]:
    """Feature names of the set bits of ``AT_HWCAP``, in the kernel's order."""
    if hwcap < 0:
        raise ValueError(f"AT_HWCAP cannot be negative: {hwcap}")
    return [name for bit, name in enumerate(HWCAP_NAMES) if hwcap >> bit & 1]


def cpuinfo_text(cpu: CpuModel, hwcap: int, ncpu: int) -> str:
    """The text of an arm64 ``/proc/cpuinfo`` with ``ncpu`` identical cores, as Linux writes it."""
    if ncpu < 1:
        raise ValueError(f"need at least one core, got {ncpu}")
    features = " ".join(hwcap_features(hwcap))
    block = (
        "BogoMIPS\t: 108.00\n"
        f"Features\t: {features}\n"
        f"CPU implementer\t: {cpu.implementer:#04x}\n"
        "CPU architecture: 8\n"
        f"CPU variant\t: {cpu.variant:#x}\n"
        f"CPU part\t: {cpu.part:#05x}\n"
        f"CPU revision\t: {cpu.revision}\n"
    )
    return "".join(f"processor\t: {i}\n{block}\n" for i in range(ncpu))


#: what the device needs beyond the wheels: Python with venv, the C++ and OpenMP runtimes
PACKAGES = ("python3.11", "python3.11-venv", "libstdc++6", "libgomp1")
PYTHON = "usr/bin/python3.11"
QEMU = "usr/bin/qemu-aarch64-static"

#: AT_HWCAP / AT_HWCAP2 as the emulated process sees them (getauxval through ctypes)
_HWCAP_PROBE = "import ctypes; c = ctypes.CDLL(None); c.getauxval.restype = ctypes.c_ulong; print(c.getauxval(16))"


def apt_options(state: Path) -> list[str]:
    """apt-get options for a private arm64 (+ amd64, for qemu) state under ``state``."""
    return ["-q", "-o", "APT::Architecture=arm64", "-o", "APT::Architectures::=arm64", "-o", "APT::Architectures::=amd64",
            "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::State::status={state / 'status'}",
            "-o", f"Dir::Cache={state / 'cache'}", "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root"]


def wrapper_text(qemu: Path, rootfs: Path) -> str:
    """The arm64 venv's ``bin/python``: run the rootfs's python3.11 under qemu, argv[0] kept."""
    return ("#!/bin/sh\n"
            "# arm64 python under qemu-user; sys.executable stays this script, so child processes work\n"
            ': "${QEMU_CPU:=cortex-a76}"; export QEMU_CPU\n'
            "export PIP_CONFIG_FILE=/dev/null\n"
            f'exec "{qemu}" -L "{rootfs}" -0 "$0" "{rootfs / PYTHON}" "$@"\n')


def source_digest(root: Path) -> str:
    """SHA-256 over edgekd's installable files, so a changed source reinstalls edgekd."""
    digest = hashlib.sha256()
    for path in sorted([root / "pyproject.toml", *(root / "edgekd").rglob("*.py")]):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(map(str, cmd[:6]))} ... failed ({proc.returncode}): " + " | ".join(tail))
    return proc


class Userland:
    """The cache folder ``work`` (git-ignored): apt state, rootfs, qemu, the arm64 venv."""

    def __init__(self, work: Path, repo: Path):
        self.work, self.repo = work, repo
        self.state, self.rootfs, self.venv = work / "apt", work / "rootfs", work / "venv"
        self.qemu = work / "qemu" / QEMU
        self.python = self.venv / "bin" / "python"
        #: which CPU installed the venv, when, and how long it took (kept for later runs' reports)
        self.install_log = work / "install.json"

    def env(self, cpu: str, **extra: str) -> dict[str, str]:
        """A clean environment for emulated commands: nothing of the host's pip or Python setup."""
        return {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": str(self.work / "home"), "QEMU_CPU": cpu,
                "PIP_CACHE_DIR": str(self.work / "pip-cache"), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "LANG": "C.UTF-8", **extra}

    def build_rootfs(self) -> None:
        """Download and unpack the arm64 packages and qemu (skipped when done)."""
        if (self.rootfs / ".complete").exists() and self.qemu.exists():
            return
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        (self.state / "status").touch()
        apt = ["apt-get", *apt_options(self.state)]
        _run([*apt, "update"])
        _run([*apt, "-y", "--download-only", "--no-install-recommends", "install", *PACKAGES])
        debs = sorted((self.state / "cache" / "archives").glob("*.deb"))
        shutil.rmtree(self.rootfs, ignore_errors=True)
        for deb in debs:
            _run(["dpkg", "-x", str(deb), str(self.rootfs)])
        qemu_dir = self.work / "qemu"
        qemu_dir.mkdir(exist_ok=True)
        _run([*apt, "download", "qemu-user-static:amd64"], cwd=qemu_dir)
        deb = next(qemu_dir.glob("qemu-user-static_*.deb"))
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        _run(["tar", "-x", "-C", str(qemu_dir), f"./{QEMU}"], stdin=tar.stdout)
        tar.wait()
        deb.unlink()  # 62 MB; only the one binary is kept
        (self.rootfs / ".complete").write_text(f"{len(debs)} packages\n")

    def qemu_version(self) -> str:
        return _run([str(self.qemu), "--version"]).stdout.splitlines()[0]

    def set_cpu(self, cpu: str) -> str:
        """Write ROOTFS/proc/cpuinfo for ``cpu`` from the AT_HWCAP qemu gives it; returns the text."""
        (self.rootfs / "proc").mkdir(exist_ok=True)
        probe = _run([str(self.qemu), "-cpu", cpu, "-L", str(self.rootfs), str(self.rootfs / PYTHON), "-c", _HWCAP_PROBE],
                     env={"PATH": "/usr/bin:/bin"})
        text = cpuinfo_text(CPUS[cpu], int(probe.stdout.strip()), os.cpu_count() or 1)
        (self.rootfs / "proc" / "cpuinfo").write_text(text)
        return text

    def needs_install(self) -> bool:
        """True when the venv is missing or holds an edgekd built from other sources."""
        stamp = self.venv / ".edgekd-installed"
        return not stamp.exists() or stamp.read_text() != source_digest(self.repo)

    def build_venv(self, wheel: Path | None, cpu: str) -> bool:
        """The arm64 venv with ``edgekd[runtime]`` installed by the device's own pip; False if up to date."""
        if not self.needs_install():
            return False
        start = time.perf_counter()
        if not self.python.exists():
            _run([str(self.qemu), "-cpu", cpu, "-L", str(self.rootfs), str(self.rootfs / PYTHON), "-m", "venv",
                  "--without-pip", str(self.venv)], env={"PATH": "/usr/bin:/bin"})
            real = self.venv / "bin" / "python3.11"
            real.unlink()
            real.write_text(wrapper_text(self.qemu, self.rootfs))
            real.chmod(0o755)
            _run([str(self.python), "-m", "ensurepip", "--default-pip"], env=self.env(cpu))
        # the device's pip resolves edgekd[runtime]'s dependencies itself: aarch64 wheels from PyPI
        _run([str(self.python), "-m", "pip", "install", "--force-reinstall", "--no-deps", str(wheel)], env=self.env(cpu))
        _run([str(self.python), "-m", "pip", "install", f"edgekd[runtime] @ {wheel.as_uri()}"], env=self.env(cpu))
        (self.venv / ".edgekd-installed").write_text(source_digest(self.repo))
        self.install_log.write_text(json.dumps({"cpu": cpu, "seconds": round(time.perf_counter() - start, 1),
                                                "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}) + "\n")
        return True

    def venv_versions(self, cpu: str) -> dict[str, str]:
        """Installed versions of the runtime's main packages, as the arm64 pip reports them."""
        code = ("import importlib.metadata as m, json, platform; print(json.dumps({'python': platform.python_version(), "
                "'machine': platform.machine(), **{d: m.version(d) for d in "
                "('edgekd', 'numpy', 'onnxruntime', 'ai-edge-litert', 'pillow')}}))")
        return json.loads(_run([str(self.python), "-c", code], env=self.env(cpu)).stdout)


def folder_mb(path: Path) -> float:
    """Size of a folder's files in MB (10^6 bytes), links not followed."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6
