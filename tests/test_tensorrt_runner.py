"""TensorRTRunner against stand-in ``tensorrt`` and ``cuda.bindings.runtime`` modules.

TensorRT cannot be installed on these machines (its PyPI wheels fetch libraries from
another index at install time) and there is no GPU, so this is the one place edgekd
uses fakes: they follow the TensorRT 10 / cuda-python call signatures, record every
call, keep "device memory" in a dict and compute a known function in
``execute_async_v3``, so the runner's binding, copying and batching logic is checked
for real. The real engine path must still be checked on a Jetson (deploy/).
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import sys
import types

import numpy as np
import pytest

from edgekd.errors import EdgekdError, MissingDependency
from edgekd.runtime.registry import create_runner
from edgekd.runtime.tensorrt_runner import TensorRTRunner

ENGINE_BYTES = b"fake-engine"


class FakeCuda:
    """cuda-python's runtime API: (err, value) tuples, host pointers as ints."""

    class cudaError_t:  # noqa: N801 - mirrors cuda-python
        cudaSuccess = 0

    class cudaMemcpyKind:  # noqa: N801
        cudaMemcpyHostToDevice = 1
        cudaMemcpyDeviceToHost = 2

    def __init__(self, calls: list) -> None:
        self.calls, self.mem, self.next = calls, {}, 1000

    def cudaStreamCreate(self):
        self.calls.append(("cudaStreamCreate",))
        return 0, 77

    def cudaStreamDestroy(self, stream):
        self.calls.append(("cudaStreamDestroy", stream))
        return (0,)

    def cudaMalloc(self, nbytes):
        self.next += 1000
        self.mem[self.next] = bytearray(nbytes)
        self.calls.append(("cudaMalloc", nbytes))
        return 0, self.next

    def cudaFree(self, ptr):
        self.mem.pop(ptr)
        self.calls.append(("cudaFree", ptr))
        return (0,)

    def cudaMemcpyAsync(self, dst, src, nbytes, kind, stream):
        assert stream == 77
        if kind == self.cudaMemcpyKind.cudaMemcpyHostToDevice:
            self.mem[dst][:nbytes] = ctypes.string_at(src, nbytes)
        else:
            ctypes.memmove(dst, bytes(self.mem[src][:nbytes]), nbytes)
        self.calls.append(("cudaMemcpyAsync", kind, nbytes))
        return (0,)

    def cudaStreamSynchronize(self, stream):
        self.calls.append(("cudaStreamSynchronize", stream))
        return (0,)


class FakeContext:
    """Computes logits = [sum(x), -sum(x)] per sample and attention = 2 * x."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine, self.shape, self.addr = engine, None, {}

    def set_input_shape(self, name, shape):
        self.engine.calls.append(("set_input_shape", name, tuple(shape)))
        fixed = self.engine.shapes["input"][0]
        self.shape = tuple(shape)
        return fixed == -1 or fixed == shape[0]

    def get_tensor_shape(self, name):
        n = self.shape[0]
        return {"logits": (n, 2), "attention": (n, *self.shape[1:])}[name]

    def set_tensor_address(self, name, ptr):
        self.engine.calls.append(("set_tensor_address", name))
        self.addr[name] = ptr

    def execute_async_v3(self, stream_handle):
        self.engine.calls.append(("execute_async_v3", stream_handle))
        mem = self.engine.cuda.mem
        n = int(np.prod(self.shape))
        x = np.frombuffer(bytes(mem[self.addr["input"]][: 4 * n]), np.float32).reshape(self.shape)
        s = x.reshape(x.shape[0], -1).sum(1)
        logits = np.stack([s, -s], 1).astype(np.float32)
        mem[self.addr["logits"]][: logits.nbytes] = logits.tobytes()
        att = (2 * x).astype(np.float32)
        mem[self.addr["attention"]][: att.nbytes] = att.tobytes()
        return True


class FakeEngine:
    def __init__(self, calls, cuda, batch) -> None:
        self.calls, self.cuda = calls, cuda
        self.names = ["input", "logits", "attention"]
        self.shapes = {"input": (batch, 1, 4, 4), "logits": (batch, 2), "attention": (batch, 1, 4, 4)}

    num_io_tensors = property(lambda self: len(self.names))

    def get_tensor_name(self, i):
        return self.names[i]

    def get_tensor_mode(self, name):
        return FakeTRT.TensorIOMode.INPUT if name == "input" else FakeTRT.TensorIOMode.OUTPUT

    def get_tensor_shape(self, name):
        return self.shapes[name]

    def get_tensor_dtype(self, name):
        return "float32"

    def create_execution_context(self):
        self.calls.append(("create_execution_context",))
        return FakeContext(self)


class FakeTRT:
    __version__ = "10.0.0-fake"

    class TensorIOMode:
        INPUT, OUTPUT = "INPUT", "OUTPUT"

    class Logger:
        WARNING = 2

        def __init__(self, level):
            self.level = level


@pytest.fixture
def fake_trt(monkeypatch):
    """Install the fakes; returns (calls list, setter for the engine's batch)."""
    calls: list = []
    cuda = FakeCuda(calls)
    state = {"batch": -1}
    trt = types.ModuleType("tensorrt")
    trt.__spec__ = importlib.machinery.ModuleSpec("tensorrt", None)
    for attr in ("__version__", "TensorIOMode", "Logger"):
        setattr(trt, attr, getattr(FakeTRT, attr))
    trt.nptype = lambda dtype: np.dtype(dtype).type

    class Runtime:
        def __init__(self, logger):
            calls.append(("Runtime",))

        def deserialize_cuda_engine(self, data):
            calls.append(("deserialize_cuda_engine", bytes(data)))
            return FakeEngine(calls, cuda, state["batch"]) if data == ENGINE_BYTES else None

    trt.Runtime = Runtime
    bindings = types.ModuleType("cuda.bindings")
    bindings.runtime = cuda
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
    monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", cuda)
    return calls, state


def _engine(tmp_path):
    path = tmp_path / "m.engine"
    path.write_bytes(ENGINE_BYTES)
    return path


def _expected(x):
    s = x.reshape(x.shape[0], -1).sum(1)
    return np.stack([s, -s], 1), 2 * x


def test_dynamic_batch_runs_in_one_call(tmp_path, fake_trt):
    calls, _ = fake_trt
    x = np.random.default_rng(0).standard_normal((3, 1, 4, 4), dtype=np.float32)
    runner = create_runner(_engine(tmp_path), "auto", threads=2)
    assert isinstance(runner, TensorRTRunner) and runner.version == "10.0.0-fake"
    assert runner.input_shape == (None, 1, 4, 4) and runner.output_names == ["logits", "attention"]
    assert any("ignored" in n for n in runner.notes)
    out = runner.run(x)
    logits, att = _expected(x)
    np.testing.assert_allclose(out["logits"], logits, rtol=1e-6)
    np.testing.assert_allclose(out["attention"], att, rtol=1e-6)
    names = [c[0] for c in calls]
    assert names.count("execute_async_v3") == 1
    assert ("set_input_shape", "input", (3, 1, 4, 4)) in calls
    assert {c[1] for c in calls if c[0] == "set_tensor_address"} == {"input", "logits", "attention"}
    assert names.index("execute_async_v3") < names.index("cudaStreamSynchronize")
    runner.run(x)  # same shape: buffers are reused, not reallocated
    assert names.count("cudaMalloc") == [c[0] for c in calls].count("cudaMalloc") == 3
    runner.close()
    assert [c[0] for c in calls].count("cudaFree") == 3


def test_fixed_batch_one_runs_sample_by_sample(tmp_path, fake_trt):
    calls, state = fake_trt
    state["batch"] = 1
    x = np.random.default_rng(1).standard_normal((4, 1, 4, 4), dtype=np.float32)
    with create_runner(_engine(tmp_path), "tensorrt") as runner:
        out = runner.run(x)
    np.testing.assert_allclose(out["logits"], _expected(x)[0], rtol=1e-6)
    assert [c[0] for c in calls].count("execute_async_v3") == 4


def test_bad_engine_is_one_line_error(tmp_path, fake_trt):
    bad = tmp_path / "bad.plan"
    bad.write_bytes(b"garbage")
    with pytest.raises(EdgekdError) as e:
        create_runner(bad)
    assert "not a TensorRT engine" in str(e.value) and "\n" not in str(e.value)


def test_missing_tensorrt(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(MissingDependency) as e:
        TensorRTRunner().load(_engine(tmp_path))
    assert 'edgekd[tensorrt]' in str(e.value)
