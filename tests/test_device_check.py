"""benchmarks/device_check/device_check.py: its pure helpers (fast), and the whole arm64 check for one CPU (slow).

The slow test needs root, network to Debian's mirror and PyPI, and several minutes of
emulated CPU time; it writes its report to a temporary folder, never over the committed one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.device_check.device_lib.report import (
    FP32_TOL,
    compare_all,
    compare_commands,
    compare_model,
    markdown,
    problems_of,
    same_answer,
    split_outputs,
)
from benchmarks.device_check.device_lib.userland import CPUS, apt_options, cpuinfo_text, hwcap_features, wrapper_text
from tests.conftest import ROOT, needs_shared

# AT_HWCAP that qemu 7.2 reports for -cpu cortex-a76 and -cpu cortex-a72 (bits set by hand below)
A76 = sum(1 << b for b in (0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 20))
A72 = sum(1 << b for b in (0, 1, 3, 4, 5, 6, 7, 11))


def test_hwcap_bits_name_the_kernels_features():
    assert hwcap_features(A72) == ["fp", "asimd", "aes", "pmull", "sha1", "sha2", "crc32", "cpuid"]
    a76 = hwcap_features(A76)
    assert "asimddp" in a76 and "atomics" in a76 and "lrcpc" in a76 and "sve" not in a76
    assert hwcap_features(0) == []
    with pytest.raises(ValueError):
        hwcap_features(-1)


def test_cpuinfo_lists_every_core_with_the_emulated_features_and_midr():
    text = cpuinfo_text(CPUS["cortex-a72"], A72, 3)
    assert [line for line in text.splitlines() if line.startswith("processor")] == [f"processor\t: {i}" for i in range(3)]
    assert "Features\t: fp asimd aes pmull sha1 sha2 crc32 cpuid\n" in text
    assert "asimddp" not in text  # an A76 feature on an A72 would let a library pick kernels that SIGILL
    assert "CPU part\t: 0xd08\n" in text and "CPU variant\t: 0x0\n" in text and "CPU revision\t: 3\n" in text
    a76 = cpuinfo_text(CPUS["cortex-a76"], A76, 1)
    assert "CPU part\t: 0xd0b\n" in a76 and "CPU variant\t: 0x4\n" in a76 and "CPU implementer\t: 0x41\n" in a76
    with pytest.raises(ValueError):
        cpuinfo_text(CPUS["cortex-a76"], A76, 0)


def test_apt_state_is_private(tmp_path):
    options = " ".join(apt_options(tmp_path))
    assert f"Dir::State::status={tmp_path / 'status'}" in options and f"Dir::Cache={tmp_path / 'cache'}" in options
    assert "/var/lib/dpkg" not in options and "APT::Architecture=arm64" in options


def test_wrapper_keeps_argv0_so_children_are_emulated_too(tmp_path):
    """The wrapper execs qemu with -0 "$0": run it against a stand-in qemu that prints its arguments."""
    fake_qemu = tmp_path / "qemu"
    fake_qemu.write_text('#!/bin/sh\necho "$QEMU_CPU $PIP_CONFIG_FILE"; for a in "$@"; do echo "$a"; done\n')
    fake_qemu.chmod(0o755)
    wrapper = tmp_path / "venv" / "python"
    wrapper.parent.mkdir()
    wrapper.write_text(wrapper_text(fake_qemu, tmp_path / "rootfs"))
    wrapper.chmod(0o755)
    out = subprocess.run([str(wrapper), "-c", "pass"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                         check=True).stdout.splitlines()
    assert out == ["cortex-a76 /dev/null", "-L", str(tmp_path / "rootfs"), "-0", str(wrapper),
                   str(tmp_path / "rootfs" / "usr/bin/python3.11"), "-c", "pass"]
    env = {"PATH": "/usr/bin:/bin", "QEMU_CPU": "cortex-a72"}
    assert subprocess.run([str(wrapper)], capture_output=True, text=True, env=env).stdout.startswith("cortex-a72 ")


def _outputs(logits, attention=None):
    out = {"logits": np.asarray(logits, dtype=np.float32)}
    if attention is not None:
        out["attention"] = np.asarray(attention, dtype=np.float32)
    return out


def test_fp32_passes_within_tolerance_and_fails_beyond_it():
    ref = _outputs([[1.0, 0.0], [0.0, 2.0]], np.zeros((2, 1, 2, 2)))
    close = _outputs([[1.0 + FP32_TOL / 2, 0.0], [0.0, 2.0]], np.full((2, 1, 2, 2), FP32_TOL / 2))
    record = compare_model("student_fma.onnx", ref, close)
    assert record["passed"] and record["top1_agree"] == 2 and record["precision"] == "fp32"
    assert record["max_logit_diff"] == pytest.approx(FP32_TOL / 2, rel=1e-2)  # 1 + 5e-5 in float32
    far = compare_model("student_fma.onnx", ref, _outputs([[1.0 + 3 * FP32_TOL, 0.0], [0.0, 2.0]], np.zeros((2, 1, 2, 2))))
    assert not far["passed"] and "logit" in far["why"]
    bad_map = compare_model("student_fma.onnx", ref, _outputs([[1.0, 0.0], [0.0, 2.0]], np.full((2, 1, 2, 2), 0.01)))
    assert not bad_map["passed"] and "map" in bad_map["why"]


def test_int8_gates_top1_only_and_any_flip_fails():
    ref = _outputs([[1.0, 0.0], [0.0, 2.0]])
    shifted = compare_model("student_int8.tflite", ref, _outputs([[0.7, 0.0], [0.0, 2.3]]))
    assert shifted["passed"] and shifted["precision"] == "int8" and shifted["max_logit_diff"] == pytest.approx(0.3)
    flipped = compare_model("student_int8.tflite", ref, _outputs([[0.0, 1.0], [0.0, 2.0]]))
    assert not flipped["passed"] and flipped["top1_agree"] == 1 and "1 of 2" in flipped["why"]


def test_missing_outputs_fail():
    ref = {"a.onnx|logits": np.eye(2), "a.onnx|attention": np.zeros((2, 1, 1, 1)), "b.onnx|logits": np.eye(2)}
    assert split_outputs(ref)["a.onnx"].keys() == {"logits", "attention"}
    records = compare_all(ref, {"a.onnx|logits": np.eye(2)})
    assert [r["passed"] for r in records] == [False, False]
    assert "one machine only" in records[0]["why"] and records[1]["why"] == "no arm64 output"


def test_int8_records_say_which_machine_moved_away_from_fp32():
    fp32 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    flipped = fp32[[1, 0, 2, 3]]  # x86's int8 differs from its fp32 sibling on 2 of 4 inputs
    ref = {"s_fma.onnx|logits": fp32, "s_int8.onnx|logits": flipped, "s_int8.tflite|logits": fp32}
    dev = {"s_fma.onnx|logits": fp32, "s_int8.onnx|logits": fp32, "s_int8.tflite|logits": fp32}
    onnx, tflite = [r for r in compare_all(ref, dev) if r["precision"] == "int8"]
    assert onnx["x86_top1_vs_fp32"] == 0.5 and onnx["arm64_top1_vs_fp32"] == 1.0 and not onnx["passed"]
    assert "x86_top1_vs_fp32" not in tflite  # no fp32 TFLite to compare with


def test_classify_answers_agree_on_the_class_and_the_printed_fp32_probability():
    assert same_answer("PNEUMONIA: 0.913", "PNEUMONIA: 0.912", "fp32")  # 1e-6 apart can round either way
    assert not same_answer("PNEUMONIA: 0.913", "PNEUMONIA: 0.903", "fp32")
    assert not same_answer("NORMAL: 0.913", "PNEUMONIA: 0.913", "fp32")
    assert same_answer("PNEUMONIA: 0.80", "PNEUMONIA: 0.95", "int8")
    assert not same_answer("error: x", "PNEUMONIA: 0.913", "fp32")


def test_explain_failure_is_recorded_unless_required():
    ref = {"bench": {"m.onnx": {"accuracy": 0.8}}, "classify": {"m.onnx": {"rc": 0, "line": "x: 0.9", "overlay": None}},
           "explain": {"m.onnx": {"rc": 0, "images": [{"predicted_index": 1, "probability": 0.9}]}}}
    dev = {"errors": [], "bench": {"m.onnx": {"accuracy": 0.8}},
           "classify": {"m.onnx": {"rc": 0, "line": "x: 0.9", "overlay": None}},
           "explain": {"m.onnx": {"rc": 2, "error": "error: matplotlib is not installed"}}}
    cpu = {"errors": [], "models": [], **compare_commands(ref, dev)}
    assert cpu["explain"]["m.onnx"] == {"ok": False, "error": "error: matplotlib is not installed"}
    assert cpu["bench"]["m.onnx"]["same"] and cpu["classify"]["m.onnx"]["same"]
    assert problems_of(cpu, explain_required=False) == []
    assert problems_of(cpu, explain_required=True) == ["edgekd explain m.onnx: error: matplotlib is not installed"]
    dev["bench"]["m.onnx"]["accuracy"] = 0.7
    assert "bench accuracy" in problems_of({"models": [], **compare_commands(ref, dev)}, explain_required=False)[0]


@pytest.mark.slow
@needs_shared
@pytest.mark.skipif(os.geteuid() != 0, reason="apt and dpkg -x of the arm64 userland need root")
def test_device_check_on_cortex_a76(tmp_path):
    """The whole check for one CPU: install by the arm64 pip, bench/classify/explain, parity with x86."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "device_check" / "device_check.py"), "--cpu", "cortex-a76",
                           "--json", str(tmp_path / "c.json"), "--md", str(tmp_path / "c.md")],
                          capture_output=True, text=True, timeout=3600, cwd=ROOT)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    record = json.loads((tmp_path / "c.json").read_text())
    (cpu,) = record["cpus"]
    assert cpu["versions"]["machine"] == "aarch64" and len(cpu["models"]) == 4
    assert all(m["top1_agree"] == m["n"] == record["n_inputs"] for m in cpu["models"])
    assert all(m["max_logit_diff"] <= FP32_TOL for m in cpu["models"] if m["precision"] == "fp32")
    assert "not device timings" in (tmp_path / "c.md").read_text()


def test_report_says_emulated_timings_are_not_device_timings():
    record = {"dataset": "pneumoniamnist", "n_inputs": 2, "qemu": "qemu-aarch64 version 7.2",
              "host": {"cpu": "x", "python": "3.11"},
              "rootfs_mb": 84.0, "note": "Timings under qemu emulation are not device timings.", "explain_required": False,
              "x86_versions": {"numpy": "2", "onnxruntime": "1", "ai-edge-litert": "2"}, "total_s": 60.0, "passed": True,
              "students": {"a.onnx": {"bytes": 1, "x86_gate": "passed"}, "b.onnx": {"bytes": 1, "x86_gate": "top-1 96%"}},
              "cpus": [{"cpu": "cortex-a76", "board": "Pi 5", "models": [], "bench": {}, "classify": {}, "explain": {},
                        "versions": {"python": "3.11.2", "machine": "aarch64", "numpy": "2", "onnxruntime": "1",
                                     "ai-edge-litert": "2"}, "venv_mb": 200.0, "cpuinfo_features": "fp asimd",
                        "install": {"cpu": "cortex-a76", "seconds": 60.0, "when": "today"},
                        "seconds": {"bench": 3.0}, "wall_s": 5.0, "problems": []}]}
    text = markdown(record)
    assert "not device timings" in text and "## Result: PASS" in text and "b.onnx top-1 96% (kept with --no-verify" in text
    assert "| cortex-a76 | fp asimd |" in text
