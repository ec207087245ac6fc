"""The one model-file table (edgekd.model_files) drives the runtime choice, the export
suffixes and the refusal messages; no runtime, format or message keeps its own copy.

Everything here is torch-free and fast: it resolves runtimes for empty files named with
each suffix, and checks that the runner classes the table names are the ones that load.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgekd import model_files
from edgekd.cli.app import app
from edgekd.errors import EdgekdError, MissingDependency
from edgekd.exporters import formats
from edgekd.exporters.exporter import check_output
from edgekd.runtime import registry
from edgekd.runtime.base import Runner
from tests.conftest import assert_one_line_error


def test_auto_order_is_derived_from_the_runtime_rows():
    for suffix, names in model_files.AUTO_ORDER.items():
        readers = [s.name for s in model_files.RUNTIMES.values() if suffix in s.suffixes]
        assert list(names) == readers, suffix
    assert model_files.AUTO_ORDER[".tflite"] == ("litert", "tflite-runtime")  # the fallback comes second
    assert set(model_files.MODEL_SUFFIXES) == {s for r in model_files.RUNTIMES.values() for s in r.suffixes}
    assert registry.AUTO_ORDER is model_files.AUTO_ORDER and formats.FORMATS is model_files.FORMATS


@pytest.mark.parametrize("suffix", model_files.MODEL_SUFFIXES)
def test_auto_picks_the_first_installed_runtime_the_table_lists(suffix, monkeypatch):
    first, *rest = model_files.AUTO_ORDER[suffix]
    monkeypatch.setattr(registry, "is_installed", lambda name: True)
    assert registry.resolve_runtime(Path(f"m{suffix.upper()}")) == (first, [])  # suffixes are case-blind
    for fallback in rest:
        monkeypatch.setattr(registry, "is_installed", lambda name, ok=fallback: name == ok)
        name, notes = registry.resolve_runtime(Path(f"m{suffix}"))
        assert name == fallback and model_files.RUNTIMES[first].dist in notes[0]
    monkeypatch.setattr(registry, "is_installed", lambda name: False)
    with pytest.raises(MissingDependency) as e:
        registry.resolve_runtime(Path(f"m{suffix}"))
    spec = model_files.RUNTIMES[first]
    assert (e.value.module, e.value.extra) == (spec.dist, spec.extra)


def test_suffix_refusals_list_the_table(monkeypatch):
    with pytest.raises(EdgekdError) as e:
        registry.resolve_runtime(Path("model.bin"))
    message = str(e.value)
    assert "\n" not in message and "unknown model file type '.bin'" in message
    assert all(s in message for s in model_files.MODEL_SUFFIXES), message
    for name, spec in model_files.RUNTIMES.items():
        other = next(s for s in model_files.MODEL_SUFFIXES if s not in spec.suffixes)
        with pytest.raises(EdgekdError) as e:
            registry.resolve_runtime(Path(f"m{other}"), name)
        assert f"cannot read {other}" in str(e.value) and model_files.suffix_list(spec.suffixes) in str(e.value)
    with pytest.raises(EdgekdError, match="did you mean onnxruntime"):
        registry.resolve_runtime(Path("m.onnx"), "onnxruntim")


def test_bench_refuses_an_unknown_suffix_with_the_table(tmp_path):
    model = tmp_path / "model.bin"
    model.write_bytes(b"\0" * 8)
    result = CliRunner().invoke(app, ["bench", str(model)])
    assert_one_line_error(result, "unknown model file type", model_files.suffix_list())
    assert model_files.suffix_list() in CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "400"}).output


@pytest.mark.parametrize("fmt", model_files.FORMATS)
def test_export_outputs_use_their_runtimes_suffixes(fmt, tmp_path):
    row = formats.get_format(fmt)
    assert row.suffixes == model_files.RUNTIMES[row.runtime].suffixes
    assert model_files.AUTO_ORDER[row.suffix][0] == row.runtime  # bench / the parity gate read it with auto
    for suffix in row.suffixes:
        check_output(tmp_path / f"m{suffix}", row, force=False)
        assert model_files.file_format(f"m{suffix}") == fmt
    with pytest.raises(EdgekdError) as e:
        check_output(tmp_path / "m.bin", row, force=False)
    assert str(e.value).endswith(f"must end in {' or '.join(row.suffixes)} for --format {fmt}")


@pytest.mark.parametrize("name", model_files.RUNTIMES)
def test_each_row_names_the_runner_that_loads_it(name):
    spec = model_files.RUNTIMES[name]
    module, cls = spec.runner.split(":")
    runner = getattr(importlib.import_module(module), cls)()
    assert isinstance(runner, Runner) and runner.name == name


@pytest.mark.parametrize("name", model_files.RUNTIMES)
def test_missing_runtime_message_names_an_install_that_exists(name):
    import tomllib

    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    spec = model_files.RUNTIMES[name]
    message = str(model_files.missing(name))
    if spec.extra:  # the extra exists and lists the distribution (directly or through another extra)
        assert f'pip install "edgekd[{spec.extra}]"' in message
        listed = " ".join(extras[spec.extra]) + " ".join(
            " ".join(extras[e]) for e in extras if f"edgekd[{e}]" in " ".join(extras[spec.extra]))
        assert spec.dist in listed
    else:  # no extra installs it (tflite-runtime): the distribution itself
        assert message.endswith(f"pip install {spec.dist}")
