"""ONNX models on onnxruntime's CPU execution provider.

Threads set ``intra_op_num_threads`` (``inter_op_num_threads`` stays 1, sequential
execution), so a benchmark's thread count is the one the model really uses. A model
exported with a fixed batch of 1 runs a larger batch sample by sample; a dynamic batch
axis runs it in one call. edgekd's exports are NCHW; an NHWC model from elsewhere (its
metadata, ``bench --layout nhwc``, or its shape says so) gets the NCHW batch transposed.

int8 on x86: ``session.x64quantprecision = 1`` unless the model says its weights are 7-bit.
Without it onnxruntime's x86 u8s8 kernels (AVX2 without VNNI) saturate the 16-bit sums of
pairs of u8 x s8 products: a static int8 student with 8-bit weights agreed with its fp32
sibling on 96.8 % of PneumoniaMNIST test images on this project's AMD EPYC, against 99.84 %
on arm64 (benchmarks/device_check/device_check.md) and 99.84 % on x86 with the option. The option makes
onnxruntime convert the weights to u8 and run the slower U8U8 kernels (their sums cannot
saturate). With 7-bit weights (edgekd's int8 schemes unless ``--full-range``; metadata
``int8_scheme.weight_bits``) a pair sums to at most 2 x 255 x 64 < 2^15, so the fast kernels
are exact and the option is left off: same integers, faster. Float models do not need it
either; a model without metadata gets it (the answer must not depend on the machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.model_files import missing
from edgekd.runtime.base import Runner, name_outputs
from edgekd.runtime.metadata import first_line, read_onnx_session_metadata


def _dim(d: object) -> int | None:
    return d if isinstance(d, int) and d > 0 else None


def needs_exact_int8(meta: dict) -> bool:
    """Whether a model needs ``session.x64quantprecision`` (module doc): not when its metadata says
    it is float, or int8 with 7-bit weights."""
    scheme = meta.get("int8_scheme") or {}
    return not (meta.get("quantize") in ("none", "fp16") or scheme.get("weight_bits") == 7)


def _session(ort: object, path: Path, opts: object) -> object:
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise EdgekdError(f"{path} is not a valid ONNX model ({first_line(exc)}): re-export it") from None


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self) -> None:
        super().__init__()
        self._session = None
        self._input_name = "input"
        self._raw_outputs: list[str] = []
        self._nhwc = False
        #: whether the session runs onnxruntime's exact (slower) x86 int8 kernels (module doc)
        self.exact_int8 = False

    def load(self, path: str | Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise missing(self.name) from None
        path = Path(path)
        opts = session_options(ort, threads)
        self._session = _session(ort, path, opts)
        self.path, self.threads = path, threads
        self.metadata = read_onnx_session_metadata(self._session, path)
        self.exact_int8 = needs_exact_int8(self.metadata)
        if self.exact_int8:  # see the module doc: a second session, only for models that may saturate
            opts.add_session_config_entry("session.x64quantprecision", "1")
            self._session = _session(ort, path, opts)
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise EdgekdError(f"{path} has {len(inputs)} inputs; edgekd models have one input named 'input'")
        self._input_name = inputs[0].name
        shape = tuple(_dim(d) for d in inputs[0].shape)
        self._nhwc = self._input_is_nhwc(shape)
        self._shape = (shape[0], shape[3], shape[1], shape[2]) if self._nhwc else shape
        outs = self._session.get_outputs()
        self._raw_outputs = [o.name for o in outs]
        self._out_shapes = [tuple(_dim(d) for d in o.shape) for o in outs]
        self._names = name_outputs(self._raw_outputs, [tuple(o.shape) for o in outs])

    @property
    def version(self) -> str:
        import onnxruntime as ort

        return ort.__version__

    def _run_one(self, x: np.ndarray) -> dict[str, np.ndarray]:
        outs = self._session.run(self._raw_outputs, {self._input_name: x})
        return dict(zip(self._names, outs))

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if self._session is None:
            raise EdgekdError("onnxruntime runner: call load() before run()")
        x = self._check_batch(batch)
        if self._nhwc:
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        return self._run_batched(x)

    def close(self) -> None:
        self._session = None


def session_options(ort: Any, threads: int | None) -> Any:
    """The session options every edgekd session uses: ``threads`` intra-op threads (None: onnxruntime's
    default), sequential execution, warnings and errors only."""
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return opts
