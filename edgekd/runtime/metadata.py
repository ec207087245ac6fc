"""Read (and, for TFLite, embed) the ``edgekd`` metadata that every exported artifact carries.

The metadata is one JSON object (UTF-8) with at least these keys::

    class_names     list[str]            one name per logit, in logit order
    input_size      [C, H, W]            what the model expects (before layout changes)
    mean, std       list[float]          per-channel normalisation: x = (u8/255 - mean) / std
    params, macs    int                  parameter count, multiply-accumulates per image
    attention_head  "none"|"fma"|"mip"|"cam"
    layout          "NCHW"|"NHWC"        the layout of the model's ``input`` tensor
    dataset         str                  the data set it was trained on
    edgekd_version  str

and, for a model trained on a user's image files (``folder:PATH``), how a file becomes
the input, applied by :func:`edgekd.images.read_image` on every device::

    preprocess      {"image_size": N, "resize": "shorter-crop"|"letterbox"|"stretch",
                     "interpolation": "bilinear", "channels": 1|3, "fill": 0}

Tensors: input named ``input``; outputs ``logits`` and, with an attention head,
``attention``.

Where it is stored
------------------
* **ONNX** (``.onnx``): ``ModelProto.metadata_props`` entry with key ``"edgekd"`` and
  the JSON string as value (``onnx.helper.set_model_props(model, {"edgekd": json})``).
  Read with the ``onnx`` package when importable, else with onnxruntime's
  ``get_modelmeta().custom_metadata_map``. A sidecar (below) is used only when the
  embedded entry is missing.
* **TFLite** (``.tflite``), two places, the exporter writes both:

  1. a sidecar file named ``<model file name>.json`` (``student.tflite`` ->
     ``student.tflite.json``) holding the same JSON object; read first when present;
  2. embedded in the flatbuffer: an entry of ``Model.metadata`` whose ``name`` is
     ``"edgekd"`` and whose ``buffer`` is the index of a ``Model.buffers`` entry whose
     ``data`` bytes are the UTF-8 JSON (no terminator). This is the standard TFLite
     metadata mechanism (the same one ``min_runtime_version`` uses).
     :func:`embed_tflite_metadata` writes it (needs the ``flatbuffers`` package and the
     TFLite schema shipped with ai-edge-litert, i.e. only on the export machine);
     :func:`read_metadata` reads it with a small dependency-free flatbuffer walker.
* **TensorRT** (``.engine`` / ``.plan``) and torch checkpoints: sidecar
  ``<file>.json`` only (the torch runner also gets it from the checkpoint).

A file without metadata reads as ``{}``; the runners then fall back to the tensor shapes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.model_files import file_format, missing

#: the key (ONNX) / metadata name (TFLite) under which the JSON is stored
METADATA_KEY = "edgekd"
#: keys an exporter must write
REQUIRED_KEYS = (
    "class_names", "input_size", "mean", "std", "params", "macs",
    "attention_head", "layout", "dataset", "edgekd_version",
)
ATTENTION_HEADS = ("none", "fma", "mip", "cam")
LAYOUTS = ("NCHW", "NHWC")


def sidecar_path(path: str | Path) -> Path:
    """``model.tflite`` -> ``model.tflite.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def metadata_json(meta: dict[str, Any]) -> str:
    """The canonical JSON string to store (compact, keys sorted) after :func:`check_metadata`."""
    check_metadata(meta)
    return json.dumps(meta, sort_keys=True, separators=(",", ":"))


def check_metadata(meta: dict[str, Any]) -> None:
    """Raise :class:`EdgekdError` when a required key is missing or has a bad value."""
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise EdgekdError(f"edgekd metadata lacks {', '.join(missing)}: re-export the model with edgekd export")
    if meta["attention_head"] not in ATTENTION_HEADS:
        raise EdgekdError(f"metadata attention_head {meta['attention_head']!r} is not one of {ATTENTION_HEADS}")
    if meta["layout"] not in LAYOUTS:
        raise EdgekdError(f"metadata layout {meta['layout']!r} is not one of {LAYOUTS}")
    if len(meta["input_size"]) != 3:
        raise EdgekdError(f"metadata input_size must be [C, H, W], got {meta['input_size']!r}")


def _parse(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EdgekdError(f"edgekd metadata in {where} is not valid JSON ({exc}): re-export the model") from None
    if not isinstance(meta, dict):
        raise EdgekdError(f"edgekd metadata in {where} is not a JSON object: re-export the model")
    return meta


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    side = sidecar_path(path)
    if not side.is_file():
        return None
    return _parse(side.read_text(encoding="utf-8"), str(side))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The edgekd metadata of the artifact at ``path``, ``{}`` when it has none."""
    path = Path(path)
    if not path.is_file():
        raise EdgekdError(f"model file {path} does not exist: check the path")
    fmt = file_format(path)
    if fmt == "onnx":
        meta = _read_onnx(path)
        return meta if meta is not None else (_read_sidecar(path) or {})
    if fmt == "tflite":
        side = _read_sidecar(path)
        if side is not None:
            return side
        return _read_tflite(path) or {}
    return _read_sidecar(path) or {}


# --- ONNX --------------------------------------------------------------------------

def _read_onnx(path: Path) -> dict[str, Any] | None:
    try:
        import onnx
    except ImportError:
        onnx = None
    if onnx is not None:
        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as exc:  # protobuf DecodeError and friends
            raise EdgekdError(f"{path} is not a valid ONNX model ({first_line(exc)}): re-export it") from None
        props = {p.key: p.value for p in model.metadata_props}
    else:
        try:
            import onnxruntime as ort
        except ImportError:
            raise missing("onnxruntime") from None
        try:
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise EdgekdError(f"{path} is not a valid ONNX model ({first_line(exc)}): re-export it") from None
        props = dict(sess.get_modelmeta().custom_metadata_map)
    return metadata_from_props(props, path)


def metadata_from_props(props: dict[str, str], path: str | Path) -> dict[str, Any] | None:
    """The edgekd entry of an ONNX ``metadata_props`` mapping, None when absent.

    Runners pass onnxruntime's ``custom_metadata_map`` here so that reading metadata
    does not import the ``onnx`` package into the benchmarked process.
    """
    if METADATA_KEY not in props:
        return None
    return _parse(props[METADATA_KEY], f"{path} (metadata_props)")


def read_onnx_session_metadata(session: Any, path: str | Path) -> dict[str, Any]:
    """Metadata of a loaded onnxruntime session, else the sidecar, else ``{}``."""
    meta = metadata_from_props(dict(session.get_modelmeta().custom_metadata_map), path)
    return meta if meta is not None else (_read_sidecar(Path(path)) or {})


# --- TFLite: a minimal read-only flatbuffer walker -----------------------------------
# Model table fields: 0 version, 1 operator_codes, 2 subgraphs, 3 description,
# 4 buffers, 5 metadata_buffer, 6 metadata, 7 signature_defs.
# Buffer: 0 data [ubyte], 1 offset u64, 2 size u64.  Metadata: 0 name string, 1 buffer u32.

class _FB:
    def __init__(self, data: bytes):
        self.b = data

    def u32(self, pos: int) -> int:
        return struct.unpack_from("<I", self.b, pos)[0]

    def field(self, table: int, index: int) -> int | None:
        """Absolute position of field ``index`` of the table at ``table``, None if absent."""
        vtable = table - struct.unpack_from("<i", self.b, table)[0]
        vt_size = struct.unpack_from("<H", self.b, vtable)[0]
        slot = 4 + 2 * index
        if slot >= vt_size:
            return None
        off = struct.unpack_from("<H", self.b, vtable + slot)[0]
        return table + off if off else None

    def deref(self, pos: int) -> int:
        return pos + self.u32(pos)

    def vector(self, pos: int) -> tuple[int, int]:
        """(start of elements, length) of the vector referenced at ``pos``."""
        vec = self.deref(pos)
        return vec + 4, self.u32(vec)

    def string(self, pos: int) -> bytes:
        start, n = self.vector(pos)
        return self.b[start:start + n]


def read_tflite_metadata_buffer(data: bytes, name: str = METADATA_KEY) -> bytes | None:
    """Bytes of the TFLite metadata entry ``name`` in the flatbuffer ``data``, None if absent."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise EdgekdError("not a TFLite flatbuffer (no TFL3 identifier): re-export the model")
    fb = _FB(data)
    try:
        model = fb.u32(0)
        meta_pos = fb.field(model, 6)
        buf_pos = fb.field(model, 4)
        if meta_pos is None or buf_pos is None:
            return None
        m_start, m_len = fb.vector(meta_pos)
        b_start, b_len = fb.vector(buf_pos)
        for i in range(m_len):
            entry = fb.deref(m_start + 4 * i)
            name_pos = fb.field(entry, 0)
            if name_pos is None or fb.string(name_pos) != name.encode():
                continue
            idx_pos = fb.field(entry, 1)
            idx = fb.u32(idx_pos) if idx_pos is not None else 0
            if idx >= b_len:
                return None
            buf = fb.deref(b_start + 4 * idx)
            data_pos = fb.field(buf, 0)
            if data_pos is not None:
                start, n = fb.vector(data_pos)
                return data[start:start + n]
            off_pos, size_pos = fb.field(buf, 1), fb.field(buf, 2)
            if off_pos is not None and size_pos is not None:  # large-model layout: data after the flatbuffer
                off = struct.unpack_from("<Q", data, off_pos)[0]
                size = struct.unpack_from("<Q", data, size_pos)[0]
                return data[off:off + size]
            return b""
    except (struct.error, IndexError):
        raise EdgekdError("the TFLite flatbuffer is truncated or corrupt: re-export the model") from None
    return None


def _read_tflite(path: Path) -> dict[str, Any] | None:
    raw = read_tflite_metadata_buffer(path.read_bytes())
    if raw is None:
        return None
    return _parse(raw, f"{path} (TFLite metadata {METADATA_KEY!r})")


def embed_tflite_metadata(data: bytes, meta: dict[str, Any]) -> bytes:
    """Return the TFLite flatbuffer ``data`` with ``meta`` stored as metadata ``"edgekd"``.

    An existing ``edgekd`` entry is replaced. Needs ``flatbuffers`` and the TFLite schema
    module that ai-edge-litert ships; used by the exporter, never on the device.
    """
    try:
        import numpy as np
        from ai_edge_litert import schema_py_generated as schema
        from ai_edge_litert.tools import flatbuffer_utils
    except ImportError:
        raise missing("litert") from None
    payload = metadata_json(meta).encode("utf-8")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise EdgekdError("not a TFLite flatbuffer (no TFL3 identifier): re-export the model")
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    model.metadata = [m for m in (model.metadata or []) if _name(m) != METADATA_KEY]
    buf = schema.BufferT()
    buf.data = np.frombuffer(payload, dtype=np.uint8)
    model.buffers.append(buf)
    entry = schema.MetadataT()
    entry.name = METADATA_KEY
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _name(entry: Any) -> str:
    name = entry.name
    return name.decode() if isinstance(name, bytes) else str(name)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
