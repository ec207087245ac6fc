"""--threads: what auto resolves to, the values refused, torch's setting, the run's record."""

from __future__ import annotations

import json
import tomllib

import pytest
import torch
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.errors import EdgekdError
from edgekd.training import threads
from tests.conftest import assert_one_line_error

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_auto_is_an_explicit_omp_num_threads_else_the_physical_cores(monkeypatch):
    import psutil

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.default_threads() == 3 and threads.parse_threads("auto") == 3 and threads.parse_threads(None) == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 5 if not logical else 10)
    assert threads.default_threads() == 5  # physical, not logical
    for junk in ("", "0", "-2", "many"):  # not a usable count: the policy falls through to the cores
        monkeypatch.setenv("OMP_NUM_THREADS", junk)
        assert threads.default_threads() == 5
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: None)  # topology unknown
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 7)
    assert threads.default_threads() == 7


def test_counts_are_taken_and_bad_values_refused():
    assert threads.parse_threads("2") == 2 and threads.parse_threads(4) == 4 and threads.parse_threads(" AUTO ") >= 1
    for bad in ("0", "-1", "x", "1.5", 0, -3, True):
        with pytest.raises(EdgekdError, match="--threads must be a positive whole number or auto"):
            threads.parse_threads(bad)


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_bad_threads_on_the_command_line_are_one_line_errors(tmp_path, value):
    out = tmp_path / "run"
    assert_one_line_error(invoke("train", "--threads", value, "--out", out), "--threads", repr(value))
    assert not out.exists()


def test_apply_sets_torchs_intra_op_threads():
    before = torch.get_num_threads()
    try:
        threads.apply_threads(2)
        assert torch.get_num_threads() == 2
        threads.apply_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_run_uses_and_records_its_threads(tmp_path):
    before = torch.get_num_threads()
    out = tmp_path / "run"
    try:
        result = invoke("train", "--model", "cnn-tiny", "--epochs", "1", "--threads", "2", "--out", out, "--quiet")
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert tomllib.loads((out / "config.toml").read_text())["threads"] == 2
    assert json.loads((out / "metrics.json").read_text())["config"]["threads"] == 2


def test_openmp_wait_is_shortened_unless_the_user_chose():
    env: dict = {}
    threads.calm_openmp_waits(env)
    assert env == {"GOMP_SPINCOUNT": threads.SPINCOUNT}
    for user in ({"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "300000"}):
        env = dict(user)
        threads.calm_openmp_waits(env)
        assert env == user


def test_the_edgekd_command_sets_it_before_torch_loads(tmp_path):
    """The console script's main() runs first, so torch's libgomp (loaded by a command) sees it."""
    import os
    import subprocess
    import sys

    probe = ("import os, sys; from edgekd.cli import app; sys.argv = ['edgekd', '--version']; "
             "assert 'torch' not in sys.modules\ntry:\n    app.main()\nexcept SystemExit:\n    pass\n"
             "print(os.environ.get('GOMP_SPINCOUNT'))")
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == threads.SPINCOUNT
