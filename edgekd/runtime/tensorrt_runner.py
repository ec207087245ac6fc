"""Serialized TensorRT engines (``.engine`` / ``.plan``) through the TensorRT 10 Python API.

``tensorrt`` and ``cuda-python`` are imported inside :meth:`TensorRTRunner.load`, so this
module imports anywhere (a Raspberry Pi, a CI box without a GPU). Steps: deserialize
the engine, find its I/O tensors by name (``num_io_tensors`` / ``get_tensor_name`` /
``get_tensor_mode``), set the input shape, bind device buffers with
``set_tensor_address`` and run ``execute_async_v3`` on a CUDA stream. Latency measured
through :meth:`run` includes the host<->device copies, as an application would see it.

Engines have no embedded edgekd metadata: the exporter writes ``<engine>.json``.
A ``threads`` value is ignored (the GPU does the work); the runner notes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError, MissingDependency
from edgekd.model_files import missing
from edgekd.runtime.base import Runner, name_outputs
from edgekd.runtime.metadata import read_metadata


def _import_cudart() -> Any:
    """cuda-python's runtime module: ``cuda.bindings.runtime`` (12.8+) or ``cuda.cudart``."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError:
            raise MissingDependency("cuda-python", "tensorrt") from None
    return cudart


class TensorRTRunner(Runner):
    name = "tensorrt"

    def __init__(self) -> None:
        super().__init__()
        self._trt: Any = None
        self._cudart: Any = None
        self._engine: Any = None
        self._context: Any = None
        self._stream: Any = None
        self._input = ""
        self._outputs: list[str] = []
        self._device: dict[str, tuple[int, int]] = {}  # name -> (pointer, bytes)

    def _check(self, result: Any, what: str) -> Any:
        """Unpack a cuda-python ``(err, value...)`` tuple; raise on an error code."""
        err, *rest = result if isinstance(result, tuple) else (result,)
        if err != self._cudart.cudaError_t.cudaSuccess:
            raise EdgekdError(f"CUDA {what} failed ({err}): check the GPU and driver (nvidia-smi / tegrastats)")
        return rest[0] if len(rest) == 1 else (rest or None)

    def load(self, path: str | Path, threads: int | None = None) -> None:
        try:
            import tensorrt as trt
        except ImportError:
            raise missing(self.name) from None
        self._trt, self._cudart = trt, _import_cudart()
        path = Path(path)
        logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(logger)
        engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if engine is None:
            raise EdgekdError(
                f"{path} is not a TensorRT engine built for this TensorRT version and GPU: rebuild it on this device"
            )
        self._engine = engine
        self._context = engine.create_execution_context()
        self.path, self.threads = path, threads
        if threads:
            self.notes.append("tensorrt runs on the GPU: --threads is ignored")
        self.metadata = read_metadata(path)
        inputs, outputs = [], []
        for i in range(engine.num_io_tensors):
            tname = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(tname) == trt.TensorIOMode.INPUT
            (inputs if is_input else outputs).append(tname)
        if len(inputs) != 1:
            raise EdgekdError(f"{path} has {len(inputs)} inputs; edgekd engines have one input named 'input'")
        self._input, self._outputs = inputs[0], outputs
        self._shape = tuple(int(d) if int(d) > 0 else None for d in engine.get_tensor_shape(self._input))
        self._names = name_outputs(outputs, [tuple(engine.get_tensor_shape(o)) for o in outputs])
        self._stream = self._check(self._cudart.cudaStreamCreate(), "stream creation")

    @property
    def version(self) -> str:
        if self._trt is None:
            import tensorrt

            return tensorrt.__version__
        return self._trt.__version__

    def _buffer(self, name: str, nbytes: int) -> int:
        """A device buffer of at least ``nbytes`` for tensor ``name``, bound to the context."""
        ptr, size = self._device.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                self._check(self._cudart.cudaFree(ptr), "free")
            ptr = self._check(self._cudart.cudaMalloc(nbytes), "malloc")
            self._device[name] = (ptr, nbytes)
        self._context.set_tensor_address(name, int(ptr))
        return ptr

    def _run_one(self, x: np.ndarray) -> dict[str, np.ndarray]:
        trt, cudart, ctx = self._trt, self._cudart, self._context
        x = np.ascontiguousarray(x, dtype=trt.nptype(self._engine.get_tensor_dtype(self._input)))
        if not ctx.set_input_shape(self._input, tuple(x.shape)):
            raise EdgekdError(f"{self.path} does not accept input shape {tuple(x.shape)}: rebuild its profile")
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        src = self._buffer(self._input, x.nbytes)
        self._check(cudart.cudaMemcpyAsync(src, x.ctypes.data, x.nbytes, h2d, self._stream), "copy to device")
        hosts = []
        for name in self._outputs:
            dtype = trt.nptype(self._engine.get_tensor_dtype(name))
            host = np.empty(tuple(ctx.get_tensor_shape(name)), dtype=dtype)
            hosts.append((name, host, self._buffer(name, max(host.nbytes, 1))))
        if not ctx.execute_async_v3(int(self._stream)):
            raise EdgekdError(f"TensorRT failed to run {self.path}: see the TensorRT log above")
        for _, host, ptr in hosts:
            self._check(cudart.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes, d2h, self._stream), "copy to host")
        self._check(cudart.cudaStreamSynchronize(self._stream), "stream synchronize")
        return {n: host.astype(np.float32, copy=False) for n, (_, host, _) in zip(self._names, hosts)}

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if self._context is None:
            raise EdgekdError("tensorrt runner: call load() before run()")
        return self._run_batched(self._check_batch(batch))

    def close(self) -> None:
        if self._cudart is not None:
            for ptr, _ in self._device.values():
                self._cudart.cudaFree(ptr)
            if self._stream is not None:
                self._cudart.cudaStreamDestroy(self._stream)
        self._device, self._stream = {}, None
        self._context = self._engine = None
