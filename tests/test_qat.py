"""Quantisation-aware distillation: BatchNorm folding, the fake-quant grid against the exporter's
real int8 file, and ``edgekd qat`` end to end on a real (digits) run.

The grid test is the contract that matters: after ``edgekd qat`` the checkpoint's weights are
exactly the values the exported ONNX file holds in int8 (scale x integer), so the parity gate
measures only what activation rounding changes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edgekd.int8_schemes import get_scheme
from edgekd.quant.fake import FakeQuant
from edgekd.quant.fold import conv_bn_pairs, fold_batchnorm
from edgekd.training.checkpoint import build_model, load_checkpoint
from tests.conftest import assert_one_line_error


def test_folding_keeps_the_function_and_the_architecture(trained_digits_run):
    content = load_checkpoint(trained_digits_run / "model.pt")
    model = build_model(content)
    x = torch.randn(16, 1, 8, 8)
    with torch.no_grad():
        before = model(x)
        bns = fold_batchnorm(model)
        after = model(x)
    assert len(bns) == len(conv_bns := conv_bn_pairs(model)) > 0
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    assert all(torch.all(bn.weight == 1) and torch.all(bn.running_mean == 0) for _, bn in conv_bns)
    fresh = build_model({**content, "state_dict": model.state_dict()})  # loads into the registry's model
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), before, rtol=1e-4, atol=1e-4)


def test_fake_quant_follows_the_scheme_and_snaps_weights_to_the_grid(trained_digits_run):
    model = build_model(load_checkpoint(trained_digits_run / "model.pt"))
    fold_batchnorm(model)
    sim = FakeQuant(model, get_scheme("int8"), (1, 8, 8), weight_bits=7)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0] not in sim.weighted and set(convs[1:]) <= set(sim.weighted)  # the first conv stays float
    assert not any(isinstance(m, torch.nn.Linear) for m in sim.weighted)  # and the classifier
    sim.calibrate(torch.randn(32, 1, 8, 8))
    assert all(a.lo <= 0 <= a.hi or a.lo <= a.hi for a in sim.acts)
    sim.remove(snap=True)
    for conv in convs[1:]:
        w = conv.weight.detach().flatten(1)
        steps = w / (w.abs().amax(1, keepdim=True) / 64)
        torch.testing.assert_close(steps, steps.round(), rtol=0, atol=1e-3)  # integers of the 7-bit grid
    all_int8 = FakeQuant(build_model(load_checkpoint(trained_digits_run / "model.pt")), get_scheme("int8-all"),
                         (1, 8, 8), weight_bits=8)
    assert len(all_int8.weighted) == len(convs) + 1 and len(all_int8.acts) > len(sim.acts)


def test_qat_command_fine_tunes_and_exports_on_the_int8_grid(trained_digits_run, tmp_path):
    import onnx
    from onnx import numpy_helper

    from edgekd.cli.app import app

    out = tmp_path / "qat"
    result = CliRunner().invoke(app, ["qat", str(trained_digits_run), "--out", str(out), "--epochs", "1",
                                      "--format", "onnx", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "onnx int8" in result.output and "ok:" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [0, 1] and metrics["exports"]["onnx"]["passed"]
    assert metrics["qat"]["teacher"].startswith("the run's own float model")  # a train run has no teacher
    content = load_checkpoint(out / "model.pt")
    assert content["kind"] == "qat" and content["config"]["qat"]["weight_bits"] == 7
    # the file's int8 weights x their scales are exactly the checkpoint's (folded) weights
    graph = onnx.load(str(out / "model-int8.onnx")).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    model = build_model(content)
    fold_batchnorm(model)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][1:]
    dq = [n for n in graph.node if n.op_type == "DequantizeLinear" and inits.get(n.input[0]) is not None
          and inits[n.input[0]].dtype == np.int8 and inits[n.input[0]].ndim == 4]
    assert len(dq) == len(convs)
    for node, conv in zip(dq, convs):
        scale = inits[node.input[1]].reshape(-1, 1, 1, 1)
        np.testing.assert_allclose(inits[node.input[0]] * scale, conv.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("args, words", [
    (["--scheme", "int8-io"], "cannot be exported to onnx"),
    (["--format", "tensorrt"], "--format"),
    (["--teacher", "missing.pt"], "missing.pt"),
])
def test_qat_refuses_bad_requests_in_one_line(trained_digits_run, tmp_path, args, words):
    from edgekd.cli.app import app

    result = CliRunner().invoke(app, ["qat", str(trained_digits_run), "--out", str(tmp_path / "q"), *args])
    assert_one_line_error(result, words)
    assert not (tmp_path / "q").exists()
