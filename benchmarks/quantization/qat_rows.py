"""Post-training int8 against quantisation-aware distillation (``edgekd qat``), per data set.

For each distilled student and each scheme (``int8``; ``int8-all``, every layer int8): the
post-training export of the student as distilled (the parity gate's verdict and figures), then
``edgekd qat`` (fine-tuning with fake quantisation against the student's teacher) and the gate
on its exports. The PneumoniaMNIST teacher (resnet20, trained alone, so ``qat`` distils from its
own float model) adds the case post-training ``int8-all`` ONNX was refused in. Students are
given (``--qat-run DATASET=RUN``) or distilled briefly here
(a resnet20 teacher and a cnn-small student, short runs; the JSON records how each was made).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.exporters.exporter import ExportOptions, export, refused_path
from edgekd.quant.qat import QatConfig, qat

#: data set -> (label fraction, teacher epochs, student epochs) of the brief runs made when none is given
DATASETS = {"pneumoniamnist": (1.0, 10, 15), "breastmnist": (1.0, 30, 30), "mnist": (0.1, 8, 8)}
SCHEMES = ("int8", "int8-all")
FORMATS = ("onnx", "tflite")


def make_run(dataset: str, work: Path) -> Path:
    """A teacher and a distilled student on ``dataset`` (short runs, seed 0); the student's run folder."""
    from edgekd.distillation.run import DistillConfig, distill
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    fraction, t_epochs, s_epochs = DATASETS[dataset]
    teacher = work / f"{dataset}-teacher"
    train_supervised("resnet20", dataset, teacher, TrainConfig(epochs=t_epochs, seed=0, label_fraction=fraction),
                     quiet=True)
    student = work / f"{dataset}-student"
    distill(teacher / "model.pt", "cnn-small", dataset, student,
            TrainConfig(epochs=s_epochs, seed=0, label_fraction=fraction), DistillConfig(), quiet=True,
            figure_images=0)
    return student


def gate(ckpt: Path, out: Path, scheme: str) -> dict[str, Any]:
    """The gate's verdict on a post-training export of ``ckpt`` in ``scheme`` (figures kept either way)."""
    try:
        rep = export(ckpt, ExportOptions(format=out.suffix[1:], quantize=scheme, head="none", out=out,
                                         force=True)).parity
    except EdgekdError:
        if not refused_path(out).is_file():
            raise
        rep = json.loads(refused_path(out).read_text())
    return {k: rep.get(k) for k in ("passed", "top1_agreement", "accuracy_torch", "accuracy_artifact", "flips",
                                    "failures")}


def rows_for(dataset: str, run: Path, work: Path, epochs: int, schemes: tuple[str, ...] = SCHEMES,
             formats: tuple[str, ...] = FORMATS, model: str = "student") -> list[dict[str, Any]]:
    """PTQ and QAT rows of one model (module doc)."""
    from edgekd.training.checkpoint import load_checkpoint

    source = run / "model.pt"
    fp32 = (load_checkpoint(source).get("best") or {}).get("val")
    rows = []
    for scheme in schemes:
        for fmt in formats:
            ptq = gate(source, work / f"{dataset}-{model}-ptq-{scheme}.{fmt}", scheme)
            rows.append({"dataset": dataset, "model": model, "scheme": scheme, "format": fmt,
                         "method": "post-training", **ptq})
        for fmt in formats:
            out = work / f"{dataset}-{model}-qat-{scheme}-{fmt}"
            result = qat(run, out, QatConfig(epochs=epochs, scheme=scheme, format=fmt), force=True)
            rec = result["exports"][fmt]
            rows.append({"dataset": dataset, "model": model, "scheme": scheme, "format": fmt,
                         "method": f"qat ({epochs} epochs)",
                         "passed": rec.get("passed", False), "status": rec["status"],
                         **{k: rec.get(k) for k in ("top1_agreement", "accuracy_torch", "accuracy_artifact",
                                                    "flips")},
                         "selected_epoch": result["qat"]["selected_epoch"],
                         "fp32_test_accuracy": result["before"]["test"]["accuracy"],
                         "qat_float_test_accuracy": result["after"]["test"]["accuracy"]})
    for row in rows:
        row.setdefault("fp32_test_accuracy", rows[-1]["fp32_test_accuracy"])
        row["fp32_val"] = fp32
    return rows
