"""Latency statistics, the outlier rule, accuracy / ROC AUC, peak arithmetic and machine parsing.

Expected values are worked out by hand in the comments; no timing is asserted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgekd.benchmarking import machine, peak
from edgekd.benchmarking.stats import latency_stats, outliers_iqr, throughput
from edgekd.errors import EdgekdError
from edgekd.metrics import _average_ranks, accuracy, positive_score, roc_auc

# 1, 2, 3, 4 and 100 ms
TIMES = [0.001, 0.002, 0.003, 0.004, 0.100]


def test_latency_stats_by_hand():
    s = latency_stats(TIMES)
    assert s["count"] == 5
    assert s["min_ms"] == pytest.approx(1.0)
    assert s["max_ms"] == pytest.approx(100.0)
    assert s["mean_ms"] == pytest.approx(22.0)  # 110 / 5
    # deviations -21 -20 -19 -18 78 -> squares sum 7610, / (5 - 1)
    assert s["std_ms"] == pytest.approx(math.sqrt(7610 / 4))
    assert s["p50_ms"] == pytest.approx(3.0)
    assert s["p90_ms"] == pytest.approx(4 + 0.6 * 96)  # position 3.6 between 4 and 100
    assert s["p99_ms"] == pytest.approx(4 + 0.96 * 96)  # position 3.96


def test_outliers_are_counted_not_dropped():
    s = latency_stats(TIMES)
    out = s["outliers"]
    # Q1 = 2, Q3 = 4, IQR = 2 -> fences -1 and 7 ms
    assert out["low_fence_ms"] == pytest.approx(-1.0)
    assert out["high_fence_ms"] == pytest.approx(7.0)
    assert out["count"] == 1 and out["values_ms"] == pytest.approx([100.0])
    assert s["max_ms"] == pytest.approx(100.0)  # still in the statistics


def test_low_outlier_and_no_outlier():
    low = outliers_iqr([0.010, 0.010, 0.010, 0.010, 0.001])  # IQR 0: anything off 10 ms is out
    assert low["count"] == 1 and low["values_ms"] == pytest.approx([1.0])
    assert outliers_iqr([0.001, 0.002, 0.003, 0.004])["count"] == 0


def test_single_timing_and_bad_input():
    s = latency_stats([0.005])
    assert s["count"] == 1 and s["std_ms"] == 0.0 and s["p99_ms"] == pytest.approx(5.0)
    for bad in ([], [float("nan")], [-1.0]):
        with pytest.raises(EdgekdError):
            latency_stats(bad)


def test_throughput():
    assert throughput(TIMES, batch=4) == pytest.approx(4 * 5 / 0.110)
    with pytest.raises(EdgekdError):
        throughput(TIMES, batch=0)


def test_accuracy():
    logits = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert accuracy([0, 1, 1], logits) == pytest.approx(2 / 3)
    with pytest.raises(EdgekdError):
        accuracy([0, 1], logits)


def test_average_ranks_with_ties():
    assert _average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


@pytest.mark.parametrize(
    "labels, scores, expected",
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),  # perfect ranking
        ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], 0.0),  # inverted
        ([0, 1], [0.5, 0.5], 0.5),  # one tied pair counts a half
        ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75),  # pairs: 0.35 beats 0.1 not 0.4; 0.8 beats both
        ([0, 1, 0, 1], [0.3, 0.3, 0.1, 0.9], 0.875),  # (0.5 + 1 + 1 + 1) / 4
    ],
)
def test_roc_auc_hand_cases(labels, scores, expected):
    assert roc_auc(labels, scores) == pytest.approx(expected)


def test_roc_auc_errors_and_positive_score():
    with pytest.raises(EdgekdError):
        roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(EdgekdError):
        roc_auc([0, 2], [0.2, 0.3])
    logits = np.array([[2.0, 1.0], [0.0, 3.0]])
    assert positive_score(logits).tolist() == [-1.0, 3.0]
    assert roc_auc([0, 1], positive_score(logits)) == 1.0


def test_efficiency_arithmetic():
    # 1e6 MACs, batch 2, 1 ms -> 2 * 1e6 * 2 / 1e-3 = 4e9 FLOP/s
    e = peak.efficiency(1_000_000, 2, 1e-3, 8.0)
    assert e["achieved_gflops"] == pytest.approx(4.0) and e["peak_fraction"] == pytest.approx(0.5)
    assert peak.efficiency(None, 1, 1e-3, 8.0) == {"achieved_gflops": None, "peak_fraction": None}


def test_peak_is_cached_per_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKD_CACHE", str(tmp_path))
    monkeypatch.setattr(peak, "measure_peak", lambda threads, size: {"gflops": 12.5, "backend": "x", "size": size})
    first = peak.peak_gflops(threads=1, size=32)
    again = peak.peak_gflops(threads=1, size=32)
    other = peak.peak_gflops(threads=2, size=32)
    assert first["cached"] is False and again["cached"] is True and other["cached"] is False
    assert again["gflops"] == 12.5 and (tmp_path / peak.CACHE_FILE).is_file()


def test_measure_peak_runs_tiny_matmul():
    result = peak.measure_peak(threads=1, size=16, min_time=0.0)
    assert result["gflops"] > 0 and result["backend"] == "onnxruntime" and result["runs"] >= 3


def test_cpu_model_parsing():
    x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
    pi = "processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
    assert machine.cpu_model(x86) == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert machine.cpu_model(pi) == "Raspberry Pi 4 Model B Rev 1.4"


def test_machine_info_keys():
    info = machine.machine_info()
    assert {"cpu", "arch", "cores", "board", "python", "versions", "memory_mb"} <= set(info)
    assert info["cores"]["logical"] >= 1
    assert "numpy" in info["versions"] and "edgekd" in info["versions"]
