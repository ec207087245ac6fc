"""Shared fixtures: the real data in ../shared/data, temporary run folders, a trained student."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Tests read the shared real data sets; the loaders find them through EDGEKD_DATA.
os.environ.setdefault("EDGEKD_DATA", str(SHARED_DATA))
os.environ.setdefault("EDGEKD_CACHE", str(ROOT / ".pytest_edgekd_cache"))

needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real data folder {SHARED_DATA} is absent")


@pytest.fixture(scope="session")
def trained_digits_run(tmp_path_factory) -> Path:
    """A small real CNN trained briefly on digits, shared by tests that need a checkpoint."""
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    out = tmp_path_factory.mktemp("digits_run")
    train_supervised("cnn-small", "digits", out, TrainConfig(epochs=6, batch_size=32, lr=0.1, seed=0), quiet=True)
    return out


def assert_one_line_error(result, *words):
    """A CLI result that failed the edgekd way: exit code 2, one line 'error: ...', no traceback."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for w in words:
        assert w in lines[0], lines[0]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say loudly when the browser tests were skipped (no Chromium): a quiet 's' hides them."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "Chromium" in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} browser tests SKIPPED: Chromium is not installed "
                                        "(apt-get install -y chromium); CI runs them", red=True, bold=True)
