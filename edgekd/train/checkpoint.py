"""Checkpoints that never run code when read and are checked for corruption.

A checkpoint file is ``torch.save({"format", "sha256", "payload"})`` where ``payload``
is the bytes of ``torch.save(content)``: plain data (tensors, numbers, strings, lists,
dicts) only. Reading uses ``torch.load(weights_only=True)`` twice, and refuses a file
whose payload hash differs (truncated or altered). The model is rebuilt from its
registry name and arguments, so no class is ever unpickled. Writes are atomic.
"""

from __future__ import annotations

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

FORMAT = "edgekd-checkpoint/1"


def save_checkpoint(path: str | Path, content: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(content, buffer)
    payload = buffer.getvalue()
    outer = io.BytesIO()
    torch.save({"format": FORMAT, "sha256": sha256_bytes(payload), "payload": payload}, outer)
    atomic_write_bytes(path, outer.getvalue())


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
    if not isinstance(outer, dict) or outer.get("format") != FORMAT or not isinstance(outer.get("payload"), bytes):
        raise EdgekdError(f"{path} is not an edgekd checkpoint; give the model.pt written by train or distill")
    if sha256_bytes(outer["payload"]) != outer.get("sha256"):
        raise EdgekdError(f"checkpoint {path} fails its SHA-256 check (altered or truncated); retrain or copy it again")
    content = _safe_load(io.BytesIO(outer["payload"]), f"checkpoint {path}")
    if not _well_formed(content):
        raise EdgekdError(f"{path} is not an edgekd model checkpoint (model, data or weights missing or malformed)")
    content["checkpoint_sha256"] = outer["sha256"]
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
    """The metadata every exported artifact carries, derived from a checkpoint."""
    data = content["data"]
    distill = content.get("distill") or {}
    return {
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
