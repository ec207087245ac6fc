"""Hinton knowledge distillation loss (Hinton, Vinyals, Dean 2015).

``KD = T^2 * KL(softmax(z_T / T) || softmax(z_S / T))`` with reduction ``batchmean``
(the sum over classes, averaged over the batch: the true KL per sample, as RepDistiller
and mdistiller compute it). The ``T^2`` factor keeps the gradient scale of the soft
term independent of the temperature. Computed in float32 for stability under autocast.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from edgekd.errors import EdgekdError

__all__ = ["KD_TERM", "kd_loss", "standardize"]

KD_TERM = "kd"  # the name of the KD term in a loss-term dict (metrics.json, progress)


def standardize(logits: Tensor, eps: float = 1e-7) -> Tensor:
    """Each row of logits minus its mean, over its standard deviation: logit standardisation
    (Sun et al., CVPR 2024), so the student matches the teacher's logit *relations* rather than
    their scale, which a small student cannot always reach."""
    z = logits.float()
    return (z - z.mean(dim=1, keepdim=True)) / (z.std(dim=1, keepdim=True) + eps)


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 4.0,
            standardized: bool = False) -> Tensor:
    """Scalar Hinton KD loss of B x K student logits against B x K teacher logits (both
    standardised first when ``standardized``)."""
    if temperature <= 0:
        raise EdgekdError(f"KD temperature must be > 0 (got {temperature}): pass e.g. 4")
    if student_logits.shape != teacher_logits.shape:
        raise EdgekdError(
            f"student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} differ: teacher and student must share the classes"
        )
    if standardized:
        student_logits, teacher_logits = standardize(student_logits), standardize(teacher_logits)
    t = float(temperature)
    log_p_s = F.log_softmax(student_logits.float() / t, dim=1)
    log_p_t = F.log_softmax(teacher_logits.float() / t, dim=1)
    return F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * (t * t)
