"""The named int8 schemes: the table, real exports of each format's best scheme in the real
runtimes, onnxruntime's exact-int8 option, and a refused export that keeps what was there.

The digits student of conftest (cnn-small, trained briefly) is exported through the real
parity gate; what each scheme promises is read back from the files themselves (tensor types,
the float first convolution, the metadata), not from what the exporter says it did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekd.errors import EdgekdError
from edgekd.exporters import formats
from edgekd.exporters.exporter import ExportOptions, export
from edgekd.int8_schemes import BEST, INT8_SCHEMES, precision, scheme_names
from edgekd.runtime.metadata import read_metadata
from edgekd.runtime.registry import create_runner


def test_every_scheme_is_named_selectable_and_gated_as_int8():
    assert set(BEST.values()) <= set(INT8_SCHEMES)
    for fmt in ("onnx", "tflite"):
        for name in scheme_names(fmt):
            assert formats.validate(fmt, name, calib_samples=8).name == fmt
            assert precision(name) == "int8" and name in formats.CALIBRATED
    assert "int8-io" not in scheme_names("onnx") and "int8-qop" not in scheme_names("tflite")
    with pytest.raises(EdgekdError, match="does not support --quantize int8-io") as info:
        formats.validate("onnx", "int8-io", calib_samples=8)
    assert "int8-qop" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(EdgekdError, match="did you mean int8-pt"):
        formats.validate("onnx", "int8-tp", calib_samples=8)
    with pytest.raises(EdgekdError, match="calibration images"):
        formats.validate("tflite", "int8-all", calib_samples=0)


def _outputs(path: Path, x: np.ndarray, exact: bool | None = None) -> np.ndarray:
    """onnxruntime logits of ``x``; ``exact`` forces session.x64quantprecision on or off."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    if exact:
        opts.add_session_config_entry("session.x64quantprecision", "1")
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": x})[0]


def test_onnx_int8_keeps_first_conv_and_classifier_float_and_needs_no_exact_mode(trained_digits_run, tmp_path):
    import onnx

    from edgekd.exporters.data import test_images

    out = tmp_path / "s.onnx"
    result = export(trained_digits_run / "model.pt", ExportOptions(format="onnx", quantize="int8", head="none", out=out))
    assert result.parity["passed"] and result.parity["quantize"] == "int8"
    meta = read_metadata(out)
    assert meta["quantize"] == "int8" and meta["int8_scheme"]["weight_bits"] == 7
    assert meta["int8_scheme"]["activations"] == "u8" and meta["int8_scheme"]["calib_samples"] == 256
    graph = onnx.load(str(out)).graph
    weights = {i.name: i.data_type for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    gemm = next(n for n in graph.node if n.op_type in ("Gemm", "MatMul"))
    assert weights.get(convs[0].input[1]) == onnx.TensorProto.FLOAT  # the first conv reads float weights
    assert weights.get(gemm.input[1]) == onnx.TensorProto.FLOAT  # so does the classifier
    int8_weights = [i for i in graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert len(int8_weights) >= len(convs) - 1  # every later conv's weights are int8
    assert all(np.abs(onnx.numpy_helper.to_array(w)).max() <= 64 for w in int8_weights if w.dims)  # 7-bit
    runner = create_runner(out, threads=1)
    assert runner.exact_int8 is False  # 7-bit weights cannot saturate: the fast kernels are exact
    x = test_images(meta)[0][:64]
    np.testing.assert_array_equal(_outputs(out, x[:1], exact=False), _outputs(out, x[:1], exact=True))
    np.testing.assert_array_equal(np.concatenate([runner.run(x[i:i + 1])["logits"] for i in range(8)]),
                                  np.concatenate([_outputs(out, x[i:i + 1], exact=True) for i in range(8)]))


def test_tflite_int8_has_float_io_and_int8_io_has_int8_tensors(trained_digits_run, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    ckpt = trained_digits_run / "model.pt"
    kinds = {}
    for name in ("int8", "int8-io"):
        out = tmp_path / f"{name}.tflite"
        result = export(ckpt, ExportOptions(format="tflite", quantize=name, head="none", out=out))
        assert result.parity["passed"]
        interp = Interpreter(model_path=str(out))
        ops = [op["op_name"] for op in interp._get_ops_details()]
        kinds[name] = (interp.get_input_details()[0]["dtype"], interp.get_output_details()[0]["dtype"], ops)
        assert read_metadata(out)["int8_scheme"]["name"] == name
    assert kinds["int8"][:2] == (np.float32, np.float32) and "QUANTIZE" in kinds["int8"][2]
    assert kinds["int8-io"][:2] == (np.int8, np.int8) and "QUANTIZE" not in kinds["int8-io"][2]
    # int8: the first convolution runs before the first QUANTIZE (float), the classifier after a DEQUANTIZE
    ops = kinds["int8"][2]
    assert ops.index("QUANTIZE") > min(ops.index(c) for c in ("CONV_2D", "DEPTHWISE_CONV_2D") if c in ops)
    assert ops.index("FULLY_CONNECTED") > ops.index("DEQUANTIZE")


def test_a_refused_export_keeps_the_artifact_and_records_already_there(tmp_path):
    """An undertrained cnn-tiny calibrated on one image is refused in int8-all (every layer int8);
    the float export already at that name keeps its file, sidecar and parity record."""
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    run = tmp_path / "tiny"
    train_supervised("cnn-tiny", "digits", run, TrainConfig(epochs=1, batch_size=32, seed=0, device="cpu"), quiet=True)
    out = tmp_path / "m.onnx"
    export(run / "model.pt", ExportOptions(format="onnx", head="none", out=out))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(EdgekdError, match="parity check failed") as info:
        export(run / "model.pt", ExportOptions(format="onnx", head="none", quantize="int8-all", calib_samples=1,
                                               out=out, force=True))
    assert "m.onnx.refused.parity.json" in str(info.value)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert {k: v for k, v in after.items() if k in before} == before  # nothing that was there changed
    assert set(after) - set(before) == {"m.onnx.refused.parity.json"}  # no temporary file left either
    refused = json.loads(after["m.onnx.refused.parity.json"])
    assert refused["refused"] and refused["artifact"] == "m.onnx" and refused["quantize_setting"] == "int8-all"
    assert json.loads(after["m.onnx.parity.json"])["quantize"] == "none"
