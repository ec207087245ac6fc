"""TensorRT 10 engines, built from edgekd's ONNX export on the device that will run them.

``tensorrt`` (and ``cuda-python`` for int8 calibration and the GPU name) are imported
inside the functions: this module imports anywhere. An engine is specific to its GPU
and TensorRT version, so where TensorRT is missing the export stops with a one-line
error pointing to ``deploy/jetson/``.

Build: ``Builder`` -> ``create_network(0)`` (explicit batch, the only mode in TRT 10)
-> ``OnnxParser.parse`` -> ``BuilderConfig`` with the workspace pool limit, ``FP16`` or
``INT8`` (+ an ``IInt8EntropyCalibrator2`` fed real, preprocessed images) and, for
Jetson, ``DLA_core`` with GPU fallback -> one optimization profile for ``input``
(batch 1, or 1..``max_batch`` with ``--dynamic-batch``) -> ``build_serialized_network``.
With ``fp16`` / ``int8`` the attention head's layers (found by their ONNX node names)
are pinned to float32, as in the ONNX exporter: the map's eps is 0 in float16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError

DEFAULT_WORKSPACE_MB = 1024
DEFAULT_MAX_BATCH = 32


def import_tensorrt() -> Any:
    try:
        import tensorrt as trt
    except ImportError:
        raise EdgekdError("tensorrt is not installed here: a TensorRT engine must be built on the target device "
                          "(its GPU and TensorRT version); see deploy/jetson/") from None
    return trt


def make_calibrator(trt: Any, images: np.ndarray, batch: int, cache: dict) -> Any:
    """An ``IInt8EntropyCalibrator2`` that feeds ``images`` (float32 NCHW) ``batch`` at a time."""
    from edgekd.runtime.tensorrt_runner import _import_cudart

    cudart = _import_cudart()

    class Calibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.pos = 0
            nbytes = int(np.prod(images.shape[1:])) * 4 * batch
            err, self.device = cudart.cudaMalloc(nbytes)
            if err != cudart.cudaError_t.cudaSuccess:
                raise EdgekdError(f"CUDA malloc for int8 calibration failed ({err}): check the GPU")

        def get_batch_size(self) -> int:
            return batch

        def get_batch(self, names: list[str]) -> list[int] | None:
            if self.pos + batch > len(images):
                return None
            chunk = np.ascontiguousarray(images[self.pos:self.pos + batch], dtype=np.float32)
            self.pos += batch
            cudart.cudaMemcpy(self.device, chunk.ctypes.data, chunk.nbytes,
                              cudart.cudaMemcpyKind.cudaMemcpyHostToDevice)
            return [int(self.device)]

        def read_calibration_cache(self) -> bytes | None:
            return cache.get("data")

        def write_calibration_cache(self, data: bytes) -> None:
            cache["data"] = bytes(data)

        def free(self) -> None:
            if self.device:
                cudart.cudaFree(self.device)
                self.device = 0

    return Calibrator()


def _pin_head_fp32(trt: Any, network: Any, head_nodes: list[str]) -> int:
    """Set float32 precision on layers made from the attention head's ONNX nodes."""
    pinned = 0
    names = tuple(head_nodes)
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if names and layer.name.startswith(names):
            layer.precision = trt.float32
            for k in range(layer.num_outputs):
                if layer.get_output(k).dtype in (trt.float32, trt.float16):
                    layer.set_output_type(k, trt.float32)
            pinned += 1
    return pinned


def build_engine(onnx_path: Path, engine_path: Path, input_size, *, quantize: str = "none",
                 calib: np.ndarray | None = None, dynamic_batch: bool = False,
                 max_batch: int = DEFAULT_MAX_BATCH, workspace_mb: int = DEFAULT_WORKSPACE_MB,
                 dla_core: int | None = None, head_nodes: list[str] | None = None) -> dict[str, Any]:
    """Build and write the engine; returns build facts for the sidecar (versions, GPU, flags)."""
    trt = import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EdgekdError(f"TensorRT could not parse the ONNX ({errors or 'no detail'}): try --opset 17")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    c, h, w = (int(v) for v in input_size)
    hi = max_batch if dynamic_batch else 1
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (1, c, h, w), (hi, c, h, w), (hi, c, h, w))
    config.add_optimization_profile(profile)
    calibrator, cache = None, {}
    if quantize in ("fp16", "int8"):
        if quantize == "fp16" and not builder.platform_has_fast_fp16:
            raise EdgekdError("this GPU has no fast fp16: export with --quantize none")
        config.set_flag(trt.BuilderFlag.FP16)  # int8 engines keep fp16 for layers int8 cannot run
        pinned = _pin_head_fp32(trt, network, head_nodes or [])
        if pinned:
            config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    if quantize == "int8":
        if calib is None or len(calib) == 0:
            raise EdgekdError("--quantize int8 needs calibration images: give --calib-samples N > 0")
        config.set_flag(trt.BuilderFlag.INT8)
        calibrator = make_calibrator(trt, calib, min(hi, len(calib)), cache)
        config.int8_calibrator = calibrator
        config.set_calibration_profile(profile)
    if dla_core is not None:
        if builder.num_DLA_cores <= dla_core:
            raise EdgekdError(f"DLA core {dla_core} does not exist here ({builder.num_DLA_cores} DLA cores): "
                              f"drop --dla-core or pick 0..{max(builder.num_DLA_cores - 1, 0)}")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = int(dla_core)
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    try:
        serialized = builder.build_serialized_network(network, config)
    finally:
        if calibrator is not None:
            calibrator.free()
    if serialized is None:
        raise EdgekdError("TensorRT failed to build the engine (see its log above): try a larger --workspace-mb "
                          "or --quantize none")
    Path(engine_path).write_bytes(bytes(serialized))
    return {"tensorrt_version": trt.__version__, "gpu": gpu_name(), "precision": quantize,
            "workspace_mb": int(workspace_mb), "dla_core": dla_core, "max_batch": hi}


def gpu_name() -> str:
    """The name of CUDA device 0 through cuda-python, ``"unknown"`` if it cannot be read."""
    try:
        from edgekd.runtime.tensorrt_runner import _import_cudart

        cudart = _import_cudart()
        err, props = cudart.cudaGetDeviceProperties(0)
        if err != cudart.cudaError_t.cudaSuccess:
            return "unknown"
        name = props.name
        return name.split(b"\0", 1)[0].decode() if isinstance(name, (bytes, bytearray)) else str(name)
    except Exception:  # a name for the sidecar only; never fail the build for it
        return "unknown"
