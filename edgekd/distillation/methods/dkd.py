"""``dkd``: decoupled knowledge distillation (Zhao, Cui, Song, Qiu, Liang, CVPR 2022).

KD's KL splits into a target-class part and a non-target part; DKD weighs them apart:
``DKD = T^2 (a * TCKD + b * NCKD)``, where TCKD is the KL between the teacher's and the
student's binary (target, rest) probabilities and NCKD the KL between their distributions
over the non-target classes (the target logit masked out), all softened by T. mdistiller
trains CE + DKD with a = 1, b = 8, T = 4: here ``alpha = 0`` (no Hinton KD beside it: DKD
replaces it), beta = 1 on the DKD term, a = 1 and b = :data:`NCKD_WEIGHT`. It needs only
the teacher's logits (cached like KD's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgekd.distillation.methods.base import Method
from edgekd.distillation.methods.registry import register_method
from edgekd.losses.kd import standardize

__all__ = ["DKD", "dkd_loss"]

TCKD_WEIGHT = 1.0
NCKD_WEIGHT = 8.0
#: subtracted from the target logit to mask it out of the non-target distribution
_MASK = 1000.0


def dkd_loss(student: Tensor, teacher: Tensor, target: Tensor, temperature: float = 4.0,
             tckd_weight: float = TCKD_WEIGHT, nckd_weight: float = NCKD_WEIGHT) -> Tensor:
    """Scalar DKD loss of B x K student logits against the teacher's, for labels ``target``."""
    t = float(temperature)
    s, te = student.float() / t, teacher.float() / t
    gt = F.one_hot(target, s.shape[1]).bool()
    p_s, p_t = F.softmax(s, dim=1), F.softmax(te, dim=1)
    # binary (target, non-target) probabilities
    b_s = torch.stack([(p_s * gt).sum(1), (p_s * ~gt).sum(1)], dim=1).clamp_min(1e-12)
    b_t = torch.stack([(p_t * gt).sum(1), (p_t * ~gt).sum(1)], dim=1).clamp_min(1e-12)
    tckd = F.kl_div(b_s.log(), b_t, reduction="batchmean")
    # non-target distributions: the target logit pushed far below the rest
    nckd = F.kl_div(F.log_softmax(s - _MASK * gt, dim=1), F.log_softmax(te - _MASK * gt, dim=1),
                    reduction="batchmean", log_target=True)
    return (tckd_weight * tckd + nckd_weight * nckd) * (t * t)


@register_method
class DKD(Method):
    """CE + decoupled KD (target and non-target parts weighed apart)."""

    name = "dkd"
    summary = "decoupled KD: target and non-target parts of the KL weighed apart (1 and 8)"
    default_alpha = 0.0
    default_beta = 1.0

    def check_cached(self, cached: dict[str, Tensor], x: Tensor) -> list[str]:
        return ["logits"]

    def student_terms(self, student: nn.Module, x: Tensor, y: Tensor,
                      teacher: dict[str, object]) -> tuple[Tensor, dict[str, Tensor]]:
        logits = student(x)
        t_logits = teacher["logits"]
        assert isinstance(t_logits, Tensor)
        s, t = (standardize(logits), standardize(t_logits)) if self.opts.standardized else (logits, t_logits)
        return logits, {"dkd": dkd_loss(s, t, y, self.opts.temperature)}
