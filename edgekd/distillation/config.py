"""The method options of ``distill``: which distillation method and its hyper-parameters,
one dataclass whose fields are the command's method options (:mod:`edgekd.spec`).

The Distiller resolves what is left open (None: the method's own default alpha and beta,
the layer rule of its attention combiner). Torch-free, so the command line is built without
importing torch; the method and loss names are read from their registries when needed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from edgekd.distillation import DEFAULT_METHOD
from edgekd.spec import Spec, option

__all__ = ["DEFAULT_METHOD", "DistillConfig"]



def _method_names() -> tuple[str, ...]:
    from edgekd.distillation import methods

    return methods.METHODS


def _loss_names() -> tuple[str, ...]:
    from edgekd.losses.attention import ATT_LOSSES

    return ATT_LOSSES


@dataclass(kw_only=True)
class DistillConfig(Spec):
    """The method and its hyper-parameters (None = the Distiller's documented default)."""

    method: str = option(DEFAULT_METHOD, "The term added to KD: none (CE alone), kd, or an attention method (at, "
                                         "fma, mip, sals, cam...). Default mip (MIP + KD): level with KD in the study and its "
                                         "students' CAMs the most faithful (benchmarks/study/study.md); kd for accuracy "
                                         "alone; cam matches the map the student exports (its CAM head).", choices=_method_names)
    alpha: float | None = option(None, "KD weight: L = (1-alpha) CE + alpha T^2 KL(teacher || student, both softened "
                                       "by T) + beta L_att (METHOD.md). torchdistill's KDLoss is the other way round: "
                                       "its alpha weighs CE and its beta (default 1-alpha) KD, so edgekd's --alpha 0.9 "
                                       "is torchdistill's alpha 0.1. Default 0.9, 0 for none; --alpha 0 trains the "
                                       "attention term alone.")
    temperature: float = option(4.0, "KD temperature T.")
    logit_standardize: bool = option(False, "Standardise teacher and student logits (each row minus its mean, over "
                                            "its std) before every logit-based term (KD, DKD): logit-standardised KD "
                                            "(Sun et al., CVPR 2024).", negatable=False)
    beta: float | None = option(None, "Attention-loss weight (default 10 for at, 1 for fma/mip/sals/cam, chosen by "
                                      "benchmarks/sweep/sweep.py; AT's official code uses 1000).")
    att_loss: str = option("mse", "Map loss between student and teacher maps; centred compares only the "
                                  "image-specific parts (each map minus the batch's mean map); cosine matches where "
                                  "they look whatever the scale (with --method cam: an e2KD-style explanation "
                                  "term).", choices=_loss_names)
    att_size: int | None = option(None, "Common map size (default: input size).")
    teacher_layers: list[str] = option([], "Teacher module names to capture (comma-separated or repeated; default: "
                                           "the method's layer rule).")
    student_layers: list[str] = option([], "Student module names to capture (comma-separated or repeated).")
    at_form: str = option("official", "AT loss: official (squared) or paper (L2 norm).", choices=("official", "paper"))
    model_kwargs: dict = dataclasses.field(default_factory=dict)  # the student builder's arguments

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("teacher_layers", "student_layers"):  # "a,b" on the command line: two layers
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, [v.strip() for item in value for v in item.split(",") if v.strip()])
