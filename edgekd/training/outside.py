"""Teachers trained elsewhere: a torchvision architecture + a plain state-dict file -> model.pt.

``edgekd import-teacher`` calls :func:`import_torchvision`. Why a conversion step and not a
``--teacher`` that takes any file: a model.pt rebuilds its model from a registry name
(here ``tv:<arch>``) and never unpickles code, carries the data set's shape, classes and
normalisation (which distill checks against the run's data) and a SHA-256 (which the
teacher cache keys on), and records the teacher's metrics.

What is read: the weights file with ``torch.load(weights_only=True)`` only (plain tensors;
a file holding code is refused). A dict whose ``state_dict`` or ``model`` entry is the
state dict (a common training-checkpoint layout) is unwrapped, and a ``module.`` prefix on
every key (saved from DataParallel / DDP) is dropped; nothing else is renamed.

What is checked, each a one-line error: the classifier's outputs against the classes
("state dict's fc has 1000 outputs but digits has 10 classes"); the first convolution's
input channels against the data set's (the first conv is built for 1-channel inputs only
when the state dict's weight has 1 input channel: a 3-channel file for a 1-channel data
set is refused, not silently adapted); then every key and shape against the architecture,
naming the first mismatch in the architecture's order, then the first key it lacks.

Metadata: with ``dataset`` the data set's classes, input shape and normalisation, and the
teacher is evaluated on its validation and test splits (``best.val`` / ``best.test``, so
distill prints its accuracy); without it ``classes``, ``mean``, ``std`` and ``size`` are
required (channels = len(mean)) and no metrics are recorded.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from edgekd import __version__
from edgekd.errors import EdgekdError
from edgekd.training.checkpoint import load_checkpoint, save_model

__all__ = ["import_torchvision", "read_state_dict"]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The plain state dict in ``path`` (see the module doc); one-line EdgekdError otherwise."""
    if not path.is_file():
        raise EdgekdError(f"weights file {path} {'is a folder' if path.is_dir() else 'does not exist'}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if re.search("global", str(exc), re.IGNORECASE):
            raise EdgekdError(f"weights file {path} holds objects other than tensors and was refused (edgekd never "
                              "unpickles code); save model.state_dict() instead") from None
        raise EdgekdError(f"weights file {path} is truncated or not a torch file") from None
    except Exception:  # noqa: BLE001 - any parser failure on an untrusted file
        raise EdgekdError(f"weights file {path} is truncated or not a torch file") from None
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                       for k, v in obj.items()):
        raise EdgekdError(f"weights file {path} is not a state dict (a dict of names to tensors); save "
                          "model.state_dict()")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def _first_conv_and_classifier(net: nn.Module) -> tuple[str, str]:
    convs = [n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    linears = [n for n, m in net.named_modules() if isinstance(m, nn.Linear)]
    if not convs or not linears:
        raise EdgekdError("this torchvision model has no Conv2d or no Linear classifier: import an image classifier")
    return convs[0], linears[-1]


def _check_keys(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], arch: str) -> None:
    """One-line EdgekdError naming the first key whose presence or shape differs."""
    for key, want in expected.items():
        if key not in state:
            raise EdgekdError(f"state dict lacks {key!r}, which torchvision {arch} has: is it a {arch} state dict?")
        if tuple(state[key].shape) != tuple(want.shape):
            raise EdgekdError(f"state dict's {key!r} has shape {list(state[key].shape)} but torchvision {arch} "
                              f"expects {list(want.shape)}")
    extra = [k for k in state if k not in expected]
    if extra:
        raise EdgekdError(f"state dict has {extra[0]!r}, which torchvision {arch} lacks ({len(extra)} such key(s)): "
                          f"is it a {arch} state dict?")


def _data_record(dataset: str | None, data_dir: str | None, download: bool, classes: Sequence[str] | None,
                 mean: Sequence[float] | None, std: Sequence[float] | None, size: int | None):
    """(data record, RunData or None) from the data set or the explicit values."""
    explicit = {"--classes": classes, "--mean": mean, "--std": std, "--size": size}
    if dataset:
        given = [k for k, v in explicit.items() if v]
        if given:
            raise EdgekdError(f"give --dataset or {', '.join(explicit)}, not both ({given[0]} with --dataset "
                              f"{dataset}): the data set fixes them")
        from edgekd.training.run import load_run_data

        data = load_run_data(dataset, data_dir, download, 1.0, 0)
        return data.info.to_dict(), data
    missing = [k for k, v in explicit.items() if not v]
    if missing:
        raise EdgekdError(f"without --dataset, give --classes, --mean, --std and --size ({missing[0]} is missing)")
    assert classes and mean and std and size
    if len(mean) != len(std):
        raise EdgekdError(f"--mean has {len(mean)} values but --std {len(std)}: one per input channel")
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise EdgekdError(f"--classes must name at least 2 distinct classes, got {list(classes)}")
    if any(s <= 0 for s in std) or size < 1:
        raise EdgekdError("--std values and --size must be positive")
    record = {"name": "imported", "num_classes": len(classes), "channels": len(mean), "size": int(size),
              "class_names": list(classes), "mean": [float(v) for v in mean], "std": [float(v) for v in std],
              "splits": {}, "source": "import-teacher", "fingerprint": ""}
    return record, None


def import_torchvision(arch: str, weights: Path, out: Path, dataset: str | None = None, data_dir: str | None = None,
                       download: bool = False, classes: Sequence[str] | None = None,
                       mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                       size: int | None = None, force: bool = False) -> dict:
    """Write ``out`` (a model.pt of ``tv:<arch>`` with the weights of ``weights``); returns
    ``{"out", "model", "sha256", "params", "macs", "val", "test"}`` (metrics None without a data set)."""
    import torchvision.models as tvm

    from edgekd.models.registry import create_model
    from edgekd.models.stats import count_macs, count_params
    from edgekd.training.evaluate import evaluate

    arch = arch[3:] if arch.startswith("tv:") else arch
    if out.exists() and not force:
        raise EdgekdError(f"{out} exists; pass --force to replace it or choose another --out")
    if out.is_dir():
        raise EdgekdError(f"{out} is a folder; give the model.pt file to write")
    data_record, data = _data_record(dataset, data_dir, download, classes, mean, std, size)
    state = read_state_dict(weights)
    if arch not in tvm.list_models(module=tvm):
        raise EdgekdError(f"unknown torchvision classifier '{arch}'; see torchvision.models.list_models()")
    num_classes, name = data_record["num_classes"], data_record["name"]
    reference = tvm.get_model(arch, weights=None, num_classes=num_classes)
    conv, fc = _first_conv_and_classifier(reference)
    fc_w = state.get(f"{fc}.weight")
    if fc_w is not None and fc_w.dim() == 2 and fc_w.shape[0] != num_classes:
        raise EdgekdError(f"state dict's {fc} has {fc_w.shape[0]} outputs but {name} has {num_classes} classes: "
                          "import a classifier trained for these classes")
    conv_w = state.get(f"{conv}.weight")
    if conv_w is not None and conv_w.dim() == 4 and conv_w.shape[1] != data_record["channels"]:
        ch = data_record["channels"]
        raise EdgekdError(f"state dict's {conv} takes {conv_w.shape[1]}-channel inputs but {name} has {ch} "
                          f"channel{'s' if ch != 1 else ''}: import a model trained on {ch}-channel images")
    model = create_model(f"tv:{arch}", data_record["channels"], num_classes)
    _check_keys(state, model.net.state_dict(), arch)
    model.net.load_state_dict(state)
    model.eval()
    input_shape = (data_record["channels"], data_record["size"], data_record["size"])
    params, macs = count_params(model), count_macs(model, input_shape)
    val = test = None
    if data is not None:
        val, test = evaluate(model, data.val), (evaluate(model, data.test) if data.test is not None else None)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    run_state = {"state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
                 "model": {"name": f"tv:{arch}", "kwargs": {}}, "data": data_record,
                 "best": {"epoch": None, "val": val, "test": test}, "params": params, "macs": macs,
                 "config": {"imported_from": {"architecture": f"torchvision {arch}", "weights": str(weights),
                                              "weights_sha256": digest}},
                 "kind": "import", "edgekd_version": __version__}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(out, run_state)
    written = load_checkpoint(out)  # read back: what distill will verify
    return {"out": str(out), "model": f"tv:{arch}", "sha256": written["checkpoint_sha256"], "params": params,
            "macs": macs, "val": val, "test": test}
