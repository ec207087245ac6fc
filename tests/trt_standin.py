"""A stand-in ``tensorrt`` module (TensorRT 10 builder API) and ``cuda.bindings.runtime``.

TensorRT cannot be installed on these machines (its wheels fetch libraries from another
index at install time) and there is no GPU. The stand-in follows the TensorRT 10 builder
API (Builder, OnnxParser, BuilderConfig, optimization profiles, an
IInt8EntropyCalibrator2 base class) and records every call; the stand-in cudart keeps
"device memory" so the int8 calibrator's copies can be checked byte for byte. What it
cannot check is TensorRT itself: the real build and the engine's parity gate must run on
a Jetson (deploy/jetson/). Its parser reads the ONNX with the ``onnx`` package.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import sys
import types

import numpy as np
import onnx


def _module(name: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    return mod


class Rec:
    def __init__(self, calls: list, name: str):
        self.calls, self.name = calls, name

    def __getattr__(self, attr):  # enum-like members: BuilderFlag.FP16 -> "BuilderFlag.FP16"
        return f"{self.name}.{attr}"


def fake_tensorrt(calls: list) -> types.ModuleType:
    trt = _module("tensorrt")
    trt.__version__ = "10.3.0-fake"
    trt.float32, trt.float16 = "float32", "float16"
    trt.BuilderFlag, trt.MemoryPoolType = Rec(calls, "BuilderFlag"), Rec(calls, "MemoryPoolType")
    trt.DeviceType = Rec(calls, "DeviceType")

    class Logger:
        WARNING = "WARNING"

        def __init__(self, level):
            calls.append(("Logger", level))

    class Output:
        def __init__(self, layer, k):
            self.layer, self.k, self.dtype = layer, k, "float32"

    class Layer:
        def __init__(self, name, n_out):
            self.name, self.num_outputs, self.precision = name, n_out, None
            self.outputs = [Output(self, k) for k in range(n_out)]

        def get_output(self, k):
            return self.outputs[k]

        def set_output_type(self, k, dtype):
            calls.append(("set_output_type", self.name, k, dtype))

    class Network:
        def __init__(self):
            self.layers = []

        @property
        def num_layers(self):
            return len(self.layers)

        def get_layer(self, i):
            return self.layers[i]

    class OnnxParser:
        num_errors = 0

        def __init__(self, network, logger):
            self.network = network

        def parse(self, data):
            model = onnx.load_from_string(data)
            calls.append(("parse", [i.name for i in model.graph.input], [o.name for o in model.graph.output]))
            self.network.layers = [Layer(n.name, len(n.output)) for n in model.graph.node]
            return True

    class Profile:
        def set_shape(self, name, lo, opt, hi):
            calls.append(("profile.set_shape", name, lo, opt, hi))

    class Config:
        def __init__(self):
            self.flags = []

        def set_memory_pool_limit(self, pool, size):
            calls.append(("set_memory_pool_limit", pool, size))

        def set_flag(self, flag):
            self.flags.append(flag)
            calls.append(("set_flag", flag))

        def add_optimization_profile(self, profile):
            calls.append(("add_optimization_profile",))

        def set_calibration_profile(self, profile):
            calls.append(("set_calibration_profile",))

        def __setattr__(self, name, value):
            if name != "flags":
                calls.append(("config." + name, value))
            object.__setattr__(self, name, value)

    class Builder:
        platform_has_fast_fp16 = True
        num_DLA_cores = 2

        def __init__(self, logger):
            calls.append(("Builder",))

        def create_network(self, flags):
            calls.append(("create_network", flags))
            return Network()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            calib = getattr(config, "int8_calibrator", None)
            if calib is not None:  # TensorRT pulls batches until get_batch returns None
                batch = calib.get_batch_size()
                while (ptrs := calib.get_batch(["input"])) is not None:
                    calls.append(("calibration_batch", batch, ptrs[0]))
                calib.write_calibration_cache(b"cache")
            calls.append(("build_serialized_network", list(config.flags)))
            return b"fake-engine"

    class IInt8EntropyCalibrator2:
        def __init__(self):
            calls.append(("IInt8EntropyCalibrator2.__init__",))

    for obj in (Logger, Builder, OnnxParser, IInt8EntropyCalibrator2):
        setattr(trt, obj.__name__, obj)
    return trt


class FakeCudart:
    class cudaError_t:  # noqa: N801 - mirrors cuda-python
        cudaSuccess = 0

    class cudaMemcpyKind:  # noqa: N801
        cudaMemcpyHostToDevice = 1

    def __init__(self):
        self.mem, self.next, self.copied = {}, 4096, []

    def cudaMalloc(self, n):
        self.next += 4096
        self.mem[self.next] = bytearray(n)
        return 0, self.next

    def cudaMemcpy(self, dst, src, n, kind):
        self.mem[dst][:n] = ctypes.string_at(src, n)
        self.copied.append(np.frombuffer(bytes(self.mem[dst][:n]), np.float32).copy())
        return (0,)

    def cudaFree(self, ptr):
        self.mem.pop(ptr)
        return (0,)

    def cudaGetDeviceProperties(self, i):
        return 0, types.SimpleNamespace(name=b"Orin (fake)\0")


def install(calls: list, setitem) -> FakeCudart:
    """Put the stand-in ``tensorrt`` and ``cuda.bindings.runtime`` into ``sys.modules`` through
    ``setitem(sys.modules, name, module)`` (pytest's monkeypatch.setitem, or a plain setter)."""
    cudart = FakeCudart()
    cuda, bindings = _module("cuda"), _module("cuda.bindings")
    runtime = _module("cuda.bindings.runtime")
    for attr in ("cudaError_t", "cudaMemcpyKind", "cudaMalloc", "cudaMemcpy", "cudaFree", "cudaGetDeviceProperties"):
        setattr(runtime, attr, getattr(cudart, attr))
    bindings.runtime, cuda.bindings = runtime, bindings
    for name, mod in {"tensorrt": fake_tensorrt(calls), "cuda": cuda, "cuda.bindings": bindings,
                      "cuda.bindings.runtime": runtime}.items():
        setitem(sys.modules, name, mod)
    return cudart
