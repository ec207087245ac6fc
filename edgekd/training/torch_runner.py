"""edgekd checkpoints (``.pt``) in PyTorch eager mode: the baseline the exports are compared to.

The only runner that needs torch, so it lives with the training code, not in the torch-free
``edgekd.runtime``; the runtime table names it and loads it only when asked for. The
checkpoint is opened by ``edgekd.training.checkpoint.load_model(path)``, which returns
``(model, meta)`` where ``meta`` has the same keys as artifact metadata
(:mod:`edgekd.runtime.metadata`). The model is put in eval mode and run under
``torch.inference_mode()``; it may return a tensor (logits), a tuple
``(logits, attention)`` or a dict with those keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.model_files import missing
from edgekd.runtime.base import ATTENTION, LOGITS, Runner
from edgekd.runtime.metadata import sidecar_path


class TorchRunner(Runner):
    name = "torch"

    def __init__(self) -> None:
        super().__init__()
        self._torch: Any = None
        self._model: Any = None
        self._names = [LOGITS]

    def load(self, path: str | Path, threads: int | None = None) -> None:
        try:
            import torch
        except ImportError:
            raise missing(self.name) from None
        from edgekd.training.checkpoint import load_model

        path = Path(path)
        if threads:
            torch.set_num_threads(int(threads))
        model, meta = load_model(path)
        self._torch, self._model = torch, model.eval()
        self.path, self.threads = path, threads
        self.metadata = dict(meta or {})
        if not self.metadata and sidecar_path(path).is_file():
            from edgekd.runtime.metadata import read_metadata

            self.metadata = read_metadata(path)
        size = self.metadata.get("input_size")
        if not size or len(size) != 3:
            raise EdgekdError(f"{path}: checkpoint metadata has no input_size [C, H, W]: re-save the checkpoint")
        self._shape = (None, *(int(d) for d in size))
        if self.metadata.get("attention_head", "none") != "none":
            self._names = [LOGITS, ATTENTION]

    @property
    def version(self) -> str:
        if self._torch is None:
            import torch

            return torch.__version__
        return self._torch.__version__

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if self._model is None:
            raise EdgekdError("torch runner: call load() before run()")
        x = self._torch.from_numpy(self._check_batch(batch))
        with self._torch.inference_mode():
            out = self._model(x)
        if isinstance(out, dict):
            items = [(k, out[k]) for k in (LOGITS, ATTENTION) if k in out]
        elif isinstance(out, (tuple, list)):
            items = list(zip((LOGITS, ATTENTION), out))
        else:
            items = [(LOGITS, out)]
        self._names = [k for k, _ in items]
        return {k: v.detach().float().cpu().numpy() for k, v in items}

    def close(self) -> None:
        self._model = None
