"""Every map of one checkpoint's model over a split, at the input size, for the predicted class.

* edgekd's own maps (``fma``, ``mip``, ``cam``, ``sals``) through the attention registry,
  over the stages :func:`edgekd.explain.layers.map_layers` picks (the exported head's rule);
* ``gradcam``: the reference, Grad-CAM (Selvaraju et al. 2017) from pytorch-grad-cam
  (PyPI ``grad-cam``, a benchmark dependency: ``pip install "edgekd[bench]"``) on the
  model's last stage, for the predicted class. It is left out, with a note, where the
  package is not installed; it is never a runtime dependency of edgekd.

A map a model cannot give (CAM or FMA of stages that are 1 x 1 at this input size) is
reported as unavailable with the reason instead of failing the whole comparison.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import torch

from edgekd.errors import EdgekdError
from edgekd.metrics import softmax

EDGEKD_MAPS = ("fma", "mip", "cam", "sals")
REFERENCE = "gradcam"
ALL_MAPS = (*EDGEKD_MAPS, REFERENCE)


def gradcam_installed() -> bool:
    return importlib.util.find_spec("pytorch_grad_cam") is not None


def default_maps() -> list[str]:
    """Every map edgekd offers, plus GradCAM where pytorch-grad-cam is installed."""
    return list(ALL_MAPS) if gradcam_installed() else list(EDGEKD_MAPS)


def probabilities(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Softmax of ``model`` on a normalised float32 batch (no gradients)."""
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    return softmax(logits.float().numpy().astype(np.float64))


def edgekd_map(model: torch.nn.Module, x: np.ndarray, name: str, batch_size: int = 256) -> np.ndarray:
    """N x H x W map ``name`` (fma, mip, cam, sals) of ``model`` for its predicted class."""
    from edgekd.attention import registry
    from edgekd.attention.compute import attention
    from edgekd.explain.layers import map_layers

    layers = map_layers(model, name, x.shape[1:])
    out = []
    with torch.no_grad():  # SALS enables its own input gradient
        for s in range(0, len(x), batch_size):
            att = attention(registry.get(name), model, torch.from_numpy(x[s:s + batch_size]), None, layers=layers)
            out.append(att.map.detach().float().numpy())
    return np.concatenate(out)


def gradcam_map(model: torch.nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """N x H x W Grad-CAM of the predicted class on the model's last stage (pytorch-grad-cam)."""
    if not gradcam_installed():
        raise EdgekdError('GradCAM needs pytorch-grad-cam: pip install "edgekd[bench]" (or grad-cam)')
    from pytorch_grad_cam import GradCAM

    from edgekd.attention.capture import stages_of
    from edgekd.models.unwrap import unwrap

    inner = unwrap(model)
    layer = inner.get_submodule(stages_of(model)[-1])
    out = []
    with GradCAM(model=model, target_layers=[layer]) as cam:
        for s in range(0, len(x), batch_size):
            out.append(np.asarray(cam(input_tensor=torch.from_numpy(x[s:s + batch_size]), targets=None),
                                  dtype=np.float32))
    return np.concatenate(out)


def model_map(model: torch.nn.Module, x: np.ndarray, name: str, batch_size: int = 256) -> np.ndarray:
    """Map ``name`` (one of :data:`ALL_MAPS`); EdgekdError when this model cannot give it."""
    if name == REFERENCE:
        return gradcam_map(model, x, batch_size)
    if name not in EDGEKD_MAPS:
        raise EdgekdError(f"unknown map {name!r}: choose among {', '.join(ALL_MAPS)}")
    return edgekd_map(model, x, name, batch_size)
