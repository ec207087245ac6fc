"""Where an explanation's prediction and map come from: an exported model's head, or a checkpoint.

* :class:`ArtifactBackend` -- an exported model (.onnx, .tflite, .engine) that carries an
  ``attention`` output (METHOD.md, "The exported attention head"). Only the runtime and
  numpy are used: this module imports torch nowhere, so a device without torch can
  show a clinician why the deployed model decided. The map is exactly what the device
  computes, not a re-computation on the host.
* :class:`CheckpointBackend` -- an edgekd checkpoint (.pt); torch is imported inside it.
  Any single-map combiner of the registry: fma, mip, cam (forward-only) and sals (an
  input gradient), over the stages :func:`edgekd.explain.layers.map_layers` picks (the
  exported head's rule, so a checkpoint and its export show the same map). Maps
  explain the *predicted* class (CAM's and SALS's target), which is what the
  clinician is shown; FMA and MIP are class-agnostic.

Both return ``(probabilities N x K, maps N x H x W in [0, 1])`` from a normalised
float32 NCHW batch and share the metadata keys of :mod:`edgekd.runtime.metadata`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekd.attention import registry
from edgekd.errors import EdgekdError
from edgekd.metrics import softmax
from edgekd.model_files import is_checkpoint
from edgekd.runtime.attention import attention_map as drawn_map

#: maps a checkpoint can compute (AT compares layer pairs and gives no single map)
CHECKPOINT_MAPS = tuple(registry.map_names())
#: every --map choice; "head" = the exported model's own attention output
MAP_CHOICES = (*CHECKPOINT_MAPS, "head")


def _as_hw(att: np.ndarray, n: int) -> np.ndarray:
    """An attention output (N x 1 x H x W, N x H x W x 1 or N x H x W) as float32 N x H x W."""
    a = np.asarray(att, dtype=np.float32)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    elif a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 3 or a.shape[0] != n:
        raise EdgekdError(f"the model's attention output has shape {np.asarray(att).shape}; expected N x 1 x H x W: "
                          "re-export it with edgekd export --attention-head")
    return a


class ArtifactBackend:
    """An exported model run through :func:`edgekd.runtime.registry.create_runner`."""

    kind = "artifact"

    def __init__(self, path: Path, runtime: str = "auto", threads: int | None = None):
        from edgekd.runtime.registry import create_runner

        self.path = Path(path)
        self.runner = create_runner(self.path, runtime, threads)
        self.meta = dict(self.runner.metadata)
        missing = [k for k in ("class_names", "input_size", "mean", "std") if k not in self.meta]
        if missing:
            raise EdgekdError(f"{self.path} has no edgekd metadata ({', '.join(missing)} missing), so its input "
                              "cannot be normalised: export it with edgekd export")
        self.head = str(self.meta.get("attention_head", "none"))
        self.has_head = "attention" in self.runner.output_names

    @property
    def runtime(self) -> str:
        return f"{self.runner.name} {self.runner.version}"

    def resolve_map(self, name: str | None) -> str:
        """The map to show: ``head`` (default), or the head's own name; else a one-line error."""
        if not self.has_head:
            raise EdgekdError(f"{self.path.name} has no attention output: export it with --attention-head "
                              "fma|mip|cam, or explain its checkpoint (.pt), which computes any map")
        if name in (None, "head", self.head):
            return "head"
        raise EdgekdError(f"{self.path.name} carries a {self.head!r} attention head, so --map {name} cannot be "
                          f"computed from it: use --map head, or explain the checkpoint (.pt) for any map")

    def describe(self, name: str) -> str:
        return f"{self.head.upper()} (exported head)" if self.head != "none" else "exported attention head"

    def explain(self, x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
        out = self.runner.run(x)
        return softmax(np.asarray(out["logits"], dtype=np.float64)), _as_hw(drawn_map(out, self.meta), len(x))

    def close(self) -> None:
        self.runner.close()


class CheckpointBackend:
    """An edgekd checkpoint; maps computed with the attention registry (needs torch)."""

    kind = "checkpoint"

    def __init__(self, path: Path, layers: list[str] | None = None):
        from edgekd.attention.stages import trained_layers
        from edgekd.training.checkpoint import artifact_metadata, build_model, load_checkpoint

        self.path = Path(path)
        content = load_checkpoint(self.path)
        self.model, self.meta = build_model(content), artifact_metadata(content)
        self.trained = trained_layers(content.get("distill"))  # fma / mip: the layers it was distilled with
        self.layers = layers
        self._layers: dict[str, list[str] | None] = {}
        self.head = "none"

    @property
    def runtime(self) -> str:
        import torch

        return f"torch {torch.__version__}"

    def resolve_map(self, name: str | None) -> str:
        if name is None:
            return "fma"
        if name == "head":
            raise EdgekdError(f"{self.path.name} is a checkpoint and has no exported head: pick --map fma, mip, cam "
                              "or sals, or explain the model exported with a head (edgekd export)")
        if name not in CHECKPOINT_MAPS:
            raise EdgekdError(f"unknown map {name!r}: choose one of {', '.join(MAP_CHOICES)}")
        return name

    def describe(self, name: str) -> str:
        return f"{name.upper()} (computed from the checkpoint)"

    def explain(self, x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
        import torch

        from edgekd.attention.compute import attention
        from edgekd.explain.layers import map_layers

        if name not in self._layers:
            self._layers[name] = map_layers(self.model, name, self.meta["input_size"], self.layers,
                                           self.trained)
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        with torch.no_grad():  # SALS enables its own gradient for the input
            att = attention(registry.get(name), self.model, xt, None, layers=self._layers[name])
        logits = att.logits.detach().float().numpy().astype(np.float64)
        return softmax(logits), att.map.detach().float().numpy()

    def close(self) -> None:
        self.model = None


def open_backend(path: str | Path, runtime: str = "auto", layers: list[str] | None = None) -> Any:
    """The backend for ``path``: a checkpoint (.pt) or an exported model (anything the runtime reads)."""
    path = Path(path)
    if not path.exists():
        raise EdgekdError(f"model file {path} does not exist: give a checkpoint (.pt) or an exported model")
    if is_checkpoint(path):
        return CheckpointBackend(path, layers)
    if layers:
        raise EdgekdError("--layers applies to checkpoints only: an exported head's layers are fixed at export")
    return ArtifactBackend(path, runtime)
