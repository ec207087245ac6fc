"""Helpers of benchmarks/device_check/device_check.py: the device side (bench, explain, classify) proven on arm64.

* :mod:`.userland` -- a Raspberry Pi OS-like (Debian bookworm) arm64 userland run by qemu-user
  on x86_64: private apt state, ``dpkg -x``, no binfmt_misc, the host's dpkg untouched, and an
  arm64 ``/proc/cpuinfo`` that matches the emulated CPU.
* :mod:`.infer` -- runs exported models on saved inputs; executed by both pythons.
* :mod:`.students` -- the students, made on the x86 side with edgekd's own CLI.
* :mod:`.report` -- x86 outputs against arm64 outputs, the pass rule, and
  ``benchmarks/device_check/device_check.md`` from the JSON record.
"""
