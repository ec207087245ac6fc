"""--epochs auto: the schedule length by training-set size (edgekd/training/schedule.py)."""

from __future__ import annotations

import pytest

from edgekd.errors import EdgekdError
from edgekd.training.loop import TrainConfig
from edgekd.training.schedule import EPOCHS_BY_SIZE, auto_epochs, parse_epochs


def test_auto_epochs_follows_the_table_at_its_boundaries():
    for largest, epochs in EPOCHS_BY_SIZE[:-1]:
        assert auto_epochs(largest) == epochs
    assert auto_epochs(1) == EPOCHS_BY_SIZE[0][1]
    assert auto_epochs(10_001) == EPOCHS_BY_SIZE[-1][1] == 30
    assert EPOCHS_BY_SIZE[-1][0] is None  # a catch-all last row
    sizes = [s for s, _ in EPOCHS_BY_SIZE[:-1]]
    assert sizes == sorted(sizes)


def test_parse_epochs_takes_auto_or_a_positive_whole_number():
    assert parse_epochs("auto") is None and parse_epochs("AUTO") is None and parse_epochs(None) is None
    assert parse_epochs("12") == 12 and parse_epochs(7) == 7
    for bad in ("0", "-3", "1.5", "ten", "", True):
        with pytest.raises(EdgekdError, match="positive whole number or auto"):
            parse_epochs(bad)


def test_train_config_settles_auto_with_the_data_and_keeps_a_given_number():
    auto = TrainConfig(epochs=None)
    auto.check()  # auto is valid before the data is known
    assert auto.with_data(546).epochs == auto_epochs(546)
    assert auto.with_data(50_000).epochs == 30
    assert TrainConfig(epochs=7).with_data(546).epochs == 7
    with pytest.raises(EdgekdError, match="positive"):
        TrainConfig(epochs=0).check()


def test_train_takes_epochs_auto_and_checks_label_smoothing():
    from edgekd.api import TrainSpec

    assert TrainSpec(epochs="auto").with_data(546).epochs == auto_epochs(546)
    assert TrainSpec().epochs == 30  # teachers keep 30 epochs: benchmarks/teachers/teachers.md
    TrainSpec(label_smoothing=0.1).check()
    for bad in (-0.1, 1.0):
        with pytest.raises(EdgekdError, match=r"--label-smoothing must be in \[0, 1\)"):
            TrainSpec(label_smoothing=bad).check()


def test_distill_help_states_the_table():
    from edgekd.api import DistillSpec

    help_text = {o.name: o for o in DistillSpec.options()}["epochs"].cli.help
    (small_n, small), (medium_n, medium), (_, large) = EPOCHS_BY_SIZE
    assert f"{small} up to {small_n:,} images, {medium} up to {medium_n:,} and {large} above" in help_text


def test_distill_without_epochs_trains_the_tables_length_and_saves_it(trained_digits_run, tmp_path, monkeypatch):
    import json
    import tomllib

    from typer.testing import CliRunner

    from edgekd.cli.app import app
    from edgekd.training import schedule
    from tests.conftest import assert_one_line_error

    monkeypatch.setattr(schedule, "EPOCHS_BY_SIZE", ((100, 50), (None, 2)))  # digits' ~1,100 images: 2 epochs
    teacher = trained_digits_run / "model.pt"
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["distill", "--teacher", str(teacher), "--student", "cnn-tiny", "--batch-size",
                                      "128", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text())["config"]["epochs"] == 2
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 2
    assert tomllib.loads((out / "config.toml").read_text())["epochs"] == 2  # the replay trains the same length
    (tmp_path / "bad.toml").write_text('epochs = "ten"\n')
    assert_one_line_error(CliRunner().invoke(app, ["distill", "--teacher", str(teacher), "--config",
                                                   str(tmp_path / "bad.toml"), "--out", str(tmp_path / "b")]),
                          "--epochs must be a positive whole number or auto", "'ten'")
    assert not (tmp_path / "b").exists()


def test_schedules_benchmark_pairs_lengths_by_common_seeds():
    from benchmarks.schedules.schedules import paired_longer

    def row(method, epochs, seed, test, val):
        return {"method": method, "epochs": epochs, "seed": seed, "test": {"auc": test}, "val": {"auc": val}}

    rows = [row("kd", 100, s, 0.80 + s / 100, 0.9) for s in range(3)]
    rows += [row("kd", 300, s, 0.82 + s / 100 + (0.01 if s == 2 else 0), 0.91) for s in (0, 1, 2)]
    rows += [row("kd", 10, 0, 0.7, 0.7)]  # one seed at 10 epochs: no pair with 100
    rows += [row("mip", 100, 0, 0.8, 0.8), row("mip", 300, 1, 0.9, 0.9)]  # no common seed
    (p,) = paired_longer(rows, "auc")
    assert (p["method"], p["shorter"], p["longer"], p["seeds"]) == ("kd", 100, 300, [0, 1, 2])
    assert p["test"]["mean"] == pytest.approx((0.02 + 0.02 + 0.03) / 3) and p["test"]["wins"] == 3
    assert p["val"]["mean"] == pytest.approx(0.01)
