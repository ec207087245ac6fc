"""The interface every distillation method implements, and the plain (CE / KD) method.

A method says two things (DESIGN.md: "the trainer never special-cases a method"):

1. what it needs from the teacher: :meth:`Method.teacher_live` (what one training step
   uses, computed under ``torch.no_grad()``), :meth:`Method.teacher_targets` (the same in
   the form the teacher cache stores), :meth:`Method.cache_files` (their file stems in a
   cache folder) and :meth:`Method.check_cached` (what a cache must hold);
2. its loss terms: :meth:`Method.student_terms` runs the student once and returns its
   logits and a dict of *unweighted* terms (``{"att": ..}``), which the Distiller
   weighs by beta and adds to CE and KD.

The base class is the method with no term of its own: ``none`` (CE alone) and ``kd``
(Hinton KD, which the Distiller adds for any method when alpha > 0) are this class with
another default alpha. A method object is built once per Distiller, with the resolved
options; ``active`` is False when its term is switched off (beta = 0), and then it must
behave like the base class (no layers resolved, no teacher maps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from edgekd.attention.at import AT_FORMS
from edgekd.losses.attention import ATT_LOSSES
from edgekd.suggest import unknown

__all__ = ["Method", "MethodOptions", "choice", "resolve_layers"]


def choice(kind: str, value: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else the one-line "unknown" error."""
    if value in choices:
        return value
    raise unknown(kind, value, choices)


@dataclass(frozen=True)
class MethodOptions:
    """The options a method may read (each reads only its own).

    ``att_loss``: the map loss (``mse`` / ``bce`` / ``dice``); ``att_size``: H x W of the
    maps (None: the input's); ``teacher_layers`` / ``student_layers``: captured stages
    (None: the combiner's layer rule); ``at_form``: AT's ``official`` or ``paper`` distance;
    ``temperature``: the KD temperature (logit methods such as DKD soften with it too).
    """

    att_loss: str = "mse"
    att_size: tuple[int, int] | None = None
    teacher_layers: tuple[str, ...] | None = None
    student_layers: tuple[str, ...] | None = None
    at_form: str = "official"
    temperature: float = 4.0  # the KD temperature, for methods whose term softens logits too
    standardized: bool = False  # logit standardisation for every logit-based term (--logit-standardize)

    def __post_init__(self) -> None:
        choice("attention loss", self.att_loss, ATT_LOSSES)
        choice("AT form", self.at_form, AT_FORMS)

    def size(self, x: Tensor) -> tuple[int, int]:
        """The maps' H x W for input ``x``."""
        return self.att_size if self.att_size is not None else (x.shape[-2], x.shape[-1])


class Method:
    """CE alone (``none``): no teacher output beyond the logits, no term of its own."""

    name: ClassVar[str] = "none"
    summary: ClassVar[str] = "student trained alone (cross-entropy)"
    default_alpha: ClassVar[float] = 0.0
    default_beta: ClassVar[float] = 0.0  # 0: the method has no term of its own, beta must stay 0
    figure_kind: ClassVar[str] = "fma"  # the map shown in attention figures
    double_backprop: ClassVar[bool] = False  # its term takes a gradient inside the loss (refused under fp16 AMP)

    def __init__(self, teacher: nn.Module | None, student: nn.Module, opts: MethodOptions, active: bool):
        self.opts = opts
        self.active = active
        self.teacher_layers: list[str] | None = None
        self.student_layers: list[str] | None = None

    # -- what the method needs from the teacher ---------------------------------------------
    def teacher_live(self, teacher: nn.Module, x: Tensor, y: Tensor | None) -> dict[str, object]:
        """The teacher's outputs for one step (called under ``torch.no_grad()``)."""
        return {"logits": teacher(x).detach()}

    def teacher_targets(self, teacher: nn.Module, student: nn.Module, x: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        """The cacheable teacher outputs for a batch (called under ``torch.no_grad()``)."""
        return self.teacher_live(teacher, x, y)  # type: ignore[return-value]

    def cache_files(self, teacher: nn.Module, student: nn.Module, sample: Tensor) -> dict[str, str]:
        """``{output key: file stem}`` of the teacher outputs beyond ``logits`` that the cache
        stores for this method (``sample``: one batch of training inputs)."""
        return {}

    def check_cached(self, cached: dict[str, Tensor], x: Tensor) -> list[str]:
        """The cache keys beyond ``logits`` this method reads; EdgekdError on a wrong shape."""
        return []

    # -- its loss terms ---------------------------------------------------------------------
    def student_terms(self, student: nn.Module, x: Tensor, y: Tensor,
                      teacher: dict[str, object]) -> tuple[Tensor, dict[str, Tensor]]:
        """The student's logits and the method's unweighted loss terms (one student pass)."""
        return student(x), {}

    def figure_layers(self) -> tuple[list[str] | None, list[str] | None]:
        """Teacher and student layers of the ``figure_kind`` map (None: its layer rule)."""
        return None, None

    def student_map(self, student: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
        """The student's ``figure_kind`` B x H x W map, detached (for figures)."""
        from edgekd.attention import registry
        from edgekd.attention.compute import attention

        with torch.no_grad():
            att = attention(registry.get(self.figure_kind), student, x, y, layers=self.figure_layers()[1],
                            size=self.opts.size(x))
        return att.map.detach()


def resolve_layers(combiner, teacher: nn.Module | None, student: nn.Module,
                   opts: MethodOptions) -> tuple[list[str] | None, list[str]]:
    """Teacher and student layers: the given ones, else the combiner's layer rule; checked
    against each model (EdgekdError naming the valid stages). Teacher layers are None
    without a teacher unless given."""
    from edgekd.attention.capture import ATCam
    from edgekd.attention.compute import rule_layers

    t = list(opts.teacher_layers) if opts.teacher_layers is not None else None
    s = list(opts.student_layers) if opts.student_layers is not None else rule_layers(combiner, student)
    if teacher is not None:
        t = t if t is not None else rule_layers(combiner, teacher)
        ATCam(teacher, t)  # raises EdgekdError on unknown names
    ATCam(student, s)
    return t, s
