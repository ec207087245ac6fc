"""An arm64 ``/proc/cpuinfo`` that tells the truth about the CPU qemu emulates.

qemu-user looks up a path inside ``-L ROOTFS`` first and falls back to the host's, so
without ``ROOTFS/proc/cpuinfo`` an arm64 process reads the host's x86 file (on which
``import onnxruntime`` segfaults). The file written here lists exactly the features of the
auxiliary vector's ``AT_HWCAP`` as qemu reports it for the chosen ``-cpu``: claiming more
(e.g. Cortex-A76's dot product on an emulated A72) lets a library pick kernels the CPU
cannot run (SIGILL), claiming less hides nothing harmful but changes code paths.
"""

from __future__ import annotations

from dataclasses import dataclass

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
