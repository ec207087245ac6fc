"""The spec of ``edgekd qat`` (see :mod:`edgekd.spec`). Torch-free (the command itself needs torch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.spec import REQUIRED, Spec, option

__all__ = ["QatSpec"]


@dataclass(kw_only=True)
class QatSpec(Spec):
    """Fine-tune a trained student with fake quantisation against its teacher, then export it in int8.

    Folds BatchNorm, trains a few epochs with the distillation loss while weights and activations
    are rounded as the int8 file will round them, keeps the best validation epoch, writes OUT/model.pt
    (weights on the format's int8 grid) and exports OUT/model-SCHEME.onnx (or .tflite) through the parity gate.
    """

    command = "qat"

    run: Path = option(REQUIRED, "A run folder (or its model.pt) written by train or distill.", argument=True)
    out: Path | None = option(None, "New run folder (default: RUN/qat-FORMAT).", "-o", record=False)
    scheme: str = option("int8", "The int8 scheme to train for and export (edgekd export --quantize names; "
                                 "docs/quantization.md).")
    format: str = option("onnx", "onnx or tflite: the file to export, and the weight grid to train for (onnxruntime's "
                                 "7-bit, LiteRT's 8-bit); run once per format.", "-f")
    epochs: int = option(3, "Fine-tuning epochs (0: fold, round and export only).", at_least=0)
    lr: float = option(0.0005, "Peak learning rate (cosine to 0); the folded weights have no BatchNorm to renormalise "
                               "them, so keep it small.")
    batch_size: int = option(128, "Batch size.", at_least=1)
    calib_samples: int = option(256, "Calibration images (train split) for the activation ranges, in training and in "
                                     "the export.", at_least=1)
    teacher: Path | None = option(None, "KD target checkpoint (default: the run's own teacher; a run trained alone "
                                        "distils from its float model).", "-t")
    alpha: float | None = option(None, "KD weight (default: the run's, 0.9 without one).")
    head: str = option("none", "Attention head of the exported files: none, fma, mip or cam.", flag="--attention-head")
    seed: int = option(0, "Seed of the batch order.")
    threads: int | None = option(None, "torch CPU threads.", at_least=1)
    data_dir: Path | None = option(None, "Data root (default: $EDGEKD_DATA or ~/.cache/edgekd/data).")
    force: bool = option(False, "Overwrite an existing OUT/model.pt.", negatable=False, record=False)
    quiet: bool = option(False, "No progress bar.", negatable=False, record=False)

    def check(self) -> None:
        super().check()
        if self.format not in ("onnx", "tflite"):
            raise EdgekdError(f"--format {self.format!r}: give onnx or tflite")

    @property
    def target(self) -> Path:
        """The new run folder: ``out``, else ``RUN/qat-FORMAT`` (beside RUN's model.pt)."""
        return self.out or (self.run if self.run.is_dir() else self.run.parent) / f"qat-{self.format}"

    def to_config(self) -> Any:
        """The fine-tuning recipe (:class:`edgekd.quant.qat.QatConfig`; imports torch)."""
        from edgekd.quant.qat import QatConfig

        return QatConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, scheme=self.scheme,
                         format=self.format, calib_samples=self.calib_samples, alpha=self.alpha, seed=self.seed,
                         threads=self.threads, head=self.head)
