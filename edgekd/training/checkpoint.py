"""Checkpoints that never run code when read and are checked for corruption.

Two files per run, both plain data (tensors, numbers, strings, lists, dicts), written
atomically and read with ``torch.load(weights_only=True)``; the model is rebuilt from its
registry name and arguments, so no class is ever unpickled.

``model.pt`` (format ``edgekd-model/2``): what a user opens. One flat dict, and a model in
two lines (README, "Open a checkpoint")::

    ckpt = torch.load("model.pt", weights_only=True)  # the dict below
    model = edgekd.training.checkpoint.build_model(ckpt)   # registered architecture + weights, eval mode

with the keys of :data:`MODEL_KEYS`: ``state_dict`` (weights), ``model`` (registry name and
kwargs), ``classes``, ``input_size`` [C, H, W], ``mean`` / ``std`` (the normalisation),
``data`` (the data set's full record), ``method`` (``none`` for ``train``) and ``distill``
(the method's hyper-parameters and teacher, None for ``train``), ``best`` (epoch and
validation metrics of these weights), ``params``, ``macs``, ``config`` (the training options),
``spec`` (the command and its resolved options, as in the run's config.toml; None for a
model made from Python without a command spec), ``decision`` (the calibration and operating
point fitted on validation: :mod:`edgekd.decision`; None until fitted), ``kind``,
``edgekd_version``, ``format`` and ``sha256``: the SHA-256 of everything else
(:func:`content_sha256`), so a truncated or altered file is refused.

``last.pt`` (format ``edgekd-checkpoint/1``): the full resumable state (optimizer,
scheduler, every step's log), in an envelope ``{"format", "sha256", "payload"}`` whose
payload is the bytes of ``torch.save(state)``, so its hash is over the exact bytes.
:func:`load_checkpoint` reads both, and also a ``model.pt`` written before ``edgekd-model/2``
(the envelope format), so older runs still evaluate, export and teach.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from edgekd import __version__
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_bytes, sha256_bytes

FORMAT = "edgekd-checkpoint/1"  # last.pt, and model.pt before edgekd-model/2
MODEL_FORMAT = "edgekd-model/2"
MODEL_KEYS = ("format", "sha256", "state_dict", "model", "classes", "input_size", "mean", "std", "data", "method",
              "distill", "best", "params", "macs", "config", "spec", "decision", "kind", "edgekd_version")


def save_checkpoint(path: str | Path, content: dict[str, Any]) -> None:
    """Write the full resumable state (last.pt) atomically, in the hashed envelope."""
    buffer = io.BytesIO()
    torch.save(content, buffer)
    payload = buffer.getvalue()
    outer = io.BytesIO()
    torch.save({"format": FORMAT, "sha256": sha256_bytes(payload), "payload": payload}, outer)
    atomic_write_bytes(path, outer.getvalue())


def content_sha256(content: dict[str, Any]) -> str:
    """SHA-256 of a model.pt dict without its ``sha256`` key: keys in sorted order, each
    tensor by dtype, shape and bytes, every other value by its ``repr``."""
    h = hashlib.sha256()

    def feed(obj: Any) -> None:
        if isinstance(obj, torch.Tensor):
            t = obj.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(obj, dict):
            h.update(f"D{len(obj)}".encode())
            for key in sorted(obj, key=str):
                feed(key)
                feed(obj[key])
        elif isinstance(obj, (list, tuple)):
            h.update(f"L{len(obj)}".encode())
            for item in obj:
                feed(item)
        else:
            h.update(f"S{obj!r}".encode())

    feed({k: v for k, v in content.items() if k != "sha256"})
    return h.hexdigest()


def model_content(state: dict[str, Any]) -> dict[str, Any]:
    """The model.pt dict (see the module doc) from a run's state: weights and what a user
    needs, without the optimizer, the scheduler or the step log."""
    data, distill = state["data"], state.get("distill")
    content = {"format": MODEL_FORMAT, "state_dict": state["state_dict"], "model": state["model"],
               "classes": list(data["class_names"]), "input_size": [data["channels"], data["size"], data["size"]],
               "mean": list(data["mean"]), "std": list(data["std"]), "data": data,
               "method": (distill or {}).get("method", "none"), "distill": distill, "best": state.get("best"),
               "params": state.get("params"), "macs": state.get("macs"), "config": state.get("config"),
               "spec": state.get("spec"), "decision": state.get("decision"),
               "kind": state.get("kind"), "edgekd_version": state.get("edgekd_version", __version__)}
    return {**content, "sha256": content_sha256(content)}


def save_model(path: str | Path, state: dict[str, Any]) -> None:
    """Write model.pt (weights + metadata, see the module doc) atomically."""
    buffer = io.BytesIO()
    torch.save(model_content(state), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def rewrite_model(path: str | Path, content: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Write ``content`` (a loaded model.pt) with ``changes`` back to ``path`` atomically, with a
    new SHA-256; returns the new content."""
    new = {k: v for k, v in content.items() if k not in ("sha256", "checkpoint_sha256")} | changes
    new["sha256"] = content_sha256(new)
    buffer = io.BytesIO()
    torch.save(new, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return new


def _safe_load(source, what: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol N": a second line on stderr
            return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if re.search("global", str(exc), re.IGNORECASE):  # a class or function: code, not data
            raise EdgekdError(f"{what} holds objects other than plain data and was refused "
                              f"(edgekd never unpickles code); use a checkpoint written by edgekd") from None
        raise EdgekdError(f"{what} is truncated or not a checkpoint; retrain it or copy it again") from None
    except Exception:  # noqa: BLE001 - any parser failure on an untrusted file (zip, EOF, struct, memory...)
        raise EdgekdError(f"{what} is truncated or not a checkpoint; retrain it or copy it again") from None


def _well_formed(content: Any) -> bool:
    """Whether a verified payload has the model, data and weights that rebuilding a model reads."""
    if not isinstance(content, dict):
        return False
    model, data, weights = content.get("model"), content.get("data"), content.get("state_dict")
    return (isinstance(model, dict) and isinstance(model.get("name"), str)
            and isinstance(model.get("kwargs", {}), dict) and isinstance(data, dict)
            and isinstance(data.get("name"), str)
            and all(isinstance(data.get(k), int) and data[k] > 0 for k in ("channels", "size", "num_classes"))
            and all(isinstance(data.get(k), list) for k in ("class_names", "mean", "std"))
            and isinstance(weights, dict)
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and verify a checkpoint; every failure is a one-line EdgekdError."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise EdgekdError(f"checkpoint {path} {what}; give the model.pt written by train or distill")
    outer = _safe_load(path, f"checkpoint {path}")
    if isinstance(outer, dict) and outer.get("format") == MODEL_FORMAT:
        content = outer
        if content_sha256(content) != content.get("sha256"):
            raise EdgekdError(f"checkpoint {path} fails its SHA-256 check (altered or truncated); retrain or copy it "
                              "again")
        digest = content["sha256"]
    else:
        if not isinstance(outer, dict) or outer.get("format") != FORMAT or not isinstance(outer.get("payload"), bytes):
            raise EdgekdError(f"{path} is not an edgekd checkpoint; give the model.pt written by train or distill")
        if sha256_bytes(outer["payload"]) != outer.get("sha256"):
            raise EdgekdError(f"checkpoint {path} fails its SHA-256 check (altered or truncated); retrain or copy it "
                              "again")
        content = _safe_load(io.BytesIO(outer["payload"]), f"checkpoint {path}")
        digest = outer["sha256"]
    if not _well_formed(content):
        raise EdgekdError(f"{path} is not an edgekd model checkpoint (model, data or weights missing or malformed)")
    content["checkpoint_sha256"] = digest
    return content


def build_model(content: dict[str, Any]) -> torch.nn.Module:
    """Rebuild the registered model of a checkpoint and load its weights."""
    from edgekd.models.registry import create_model

    spec, data = content["model"], content["data"]
    try:
        model = create_model(spec["name"], data["channels"], data["num_classes"], **spec.get("kwargs", {}))
    except ValueError as exc:
        raise EdgekdError(f"checkpoint model {spec['name']} cannot be built ({exc})") from None
    try:
        model.load_state_dict(content["state_dict"])
    except (RuntimeError, ValueError, TypeError) as exc:
        raise EdgekdError(f"checkpoint weights do not fit model {spec['name']} ({str(exc).splitlines()[0]})") from None
    return model.eval()


def artifact_metadata(content: dict[str, Any]) -> dict[str, Any]:
    """The metadata every exported artifact carries, derived from a checkpoint. A model trained
    on a folder:PATH set also carries ``preprocess`` (image size, resize policy, interpolation,
    channels: :class:`edgekd.images.Preprocess`), which the device side applies to image files."""
    data = content["data"]
    distill = content.get("distill") or {}
    extra = {"preprocess": dict(data["preprocess"])} if data.get("preprocess") else {}
    return {**extra,
        "class_names": list(data["class_names"]),
        "input_size": [data["channels"], data["size"], data["size"]],
        "mean": list(data["mean"]), "std": list(data["std"]),
        "dataset": data["name"],
        "model": content["model"]["name"],
        "params": content.get("params"), "macs": content.get("macs"),
        "role": _role(content),
        "method": distill.get("method", "none"), "alpha": distill.get("alpha"),
        "teacher": distill.get("teacher", {}).get("model"),
        "teacher_sha256": distill.get("teacher", {}).get("sha256"),
        "attention_head": "none", "layout": "NCHW",
        "decision": content.get("decision"),  # calibration, class prior and operating point (edgekd.decision)
        "edgekd_version": __version__,
    }


def _role(content: dict[str, Any]) -> str | None:
    """"student" for a distilled model, else the registry's role of its architecture (None for tv:NAME)."""
    if content.get("distill"):
        return "student"
    from edgekd.models.registry import model_entries

    return next((e.role for e in model_entries() if e.name == content["model"]["name"]), None)


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """(model in eval mode, artifact-style metadata) from a checkpoint file."""
    content = load_checkpoint(path)
    return build_model(content), artifact_metadata(content)
