"""AT, attention transfer (Zagoruyko and Komodakis, ICLR 2017): the baseline.

Per captured layer, the attention vector is ``Q = normalize(mean_c(A^2).flatten(1))``
(per-sample L2 normalisation), as in the authors' code (``at(x)`` in
szagoruyko/attention-transfer) and RepDistiller. Teacher and student layers are paired
in order; when a pair's spatial sizes differ, the larger *feature map* ``A`` is
adaptive-average-pooled to the smaller size before ``Q`` is computed (RepDistiller's
convention). Per pair:

- ``form="official"`` (the default, what the authors' code and RepDistiller train
  with): ``(Q_S - Q_T).pow(2).mean()``, a mean over batch and positions;
- ``form="paper"``: the paper's un-squared p=2 norm,
  ``|| Q_S/||Q_S|| - Q_T/||Q_T|| ||_2`` per sample, averaged over the batch.

The pair losses are summed. The weight (beta = 1000 in the official code; the paper's
beta/2; edgekd's default 10, chosen by benchmarks/sweep/sweep.py) is applied by the caller.

The teacher's side of a pair depends only on the teacher and the student's stage size,
so it can be computed once and cached (METHOD.md: teacher outputs reused across
students): :func:`at_target` gives it as a B x h x w map at the pair's common size, and
:func:`at_loss_to_targets` compares the student's features with those maps. ``at_loss``
is the two composed, so live and cached AT compute the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor

from edgekd.errors import EdgekdError

__all__ = ["AT_FORMS", "at_loss", "at_loss_to_targets", "at_map", "at_target", "pair_size"]

AT_FORMS = ("official", "paper")


def at_map(a: Tensor) -> Tensor:
    """``Q = normalize(mean_c A^2)`` flattened: B x (H*W), unit L2 norm per sample."""
    return F.normalize(a.float().pow(2).mean(dim=1).flatten(1), dim=1)


def pair_size(student_hw: Sequence[int], teacher_hw: Sequence[int]) -> tuple[int, int]:
    """The spatial size a pair is compared at: the smaller of the two (by area), the
    teacher's on a tie of areas with equal shapes."""
    hs, ws = student_hw
    ht, wt = teacher_hw
    if (hs, ws) == (ht, wt) or hs * ws > ht * wt:
        return int(ht), int(wt)
    return int(hs), int(ws)


def at_target(a_t: Tensor, student_hw: Sequence[int]) -> Tensor:
    """The teacher's attention ``Q`` for one pair, B x h x w at :func:`pair_size`
    (the teacher's feature map pooled first when it is the larger)."""
    size = pair_size(student_hw, a_t.shape[-2:])
    if tuple(a_t.shape[-2:]) != size:
        a_t = F.adaptive_avg_pool2d(a_t, size)
    return at_map(a_t).view(a_t.shape[0], *size)


def at_loss_to_targets(
    student_features: Sequence[Tensor],
    teacher_targets: Sequence[Tensor],
    form: str = "official",
) -> Tensor:
    """Sum over in-order pairs of the AT distance between the student's features and the
    teacher's :func:`at_target` maps (see the module docstring)."""
    if form not in AT_FORMS:
        raise EdgekdError(f"unknown AT form {form!r}: use one of {list(AT_FORMS)}")
    if len(student_features) != len(teacher_targets) or not student_features:
        raise EdgekdError(
            f"AT pairs layers in order but got {len(student_features)} student and "
            f"{len(teacher_targets)} teacher layers: pass lists of equal length"
        )
    total: Tensor | None = None
    for a_s, q_t in zip(student_features, teacher_targets):
        size = tuple(q_t.shape[-2:])
        if tuple(a_s.shape[-2:]) != size:
            a_s = F.adaptive_avg_pool2d(a_s, size)
        diff = at_map(a_s) - q_t.float().flatten(1)
        if form == "official":
            term = diff.pow(2).mean()
        else:
            term = diff.norm(p=2, dim=1).mean()
        total = term if total is None else total + term
    assert total is not None
    return total


def at_loss(
    student_features: Sequence[Tensor],
    teacher_features: Sequence[Tensor],
    form: str = "official",
) -> Tensor:
    """Sum over in-order layer pairs of the AT distance (see the module docstring)."""
    if len(student_features) != len(teacher_features):
        return at_loss_to_targets(student_features, teacher_features, form)  # it names the mismatch
    targets = [at_target(a_t, a_s.shape[-2:]) for a_s, a_t in zip(student_features, teacher_features)]
    return at_loss_to_targets(student_features, targets, form)
