"""Distiller: a frozen eval-mode teacher, a trained student, and the loss terms.

``L = (1 - alpha) * CE(z_S, y) + alpha * KD(z_S, z_T; T) + beta * (the method's terms)``
(METHOD.md). The method (``edgekd/distillation/methods/``, one file each) says what it needs
from the teacher and returns its own unweighted terms; this class adds CE and KD, weighs
the method's terms by beta, and never looks at which method it holds. "+ KD" variants
are the same code path with ``alpha > 0``.

Defaults come from the method (its ``default_alpha`` and ``default_beta``; a method
without a term of its own allows only beta = 0); T = 4. Every method with a teacher
defaults to alpha = 0.9 (+ KD): the study (benchmarks/study/study.md, 520 runs) found KD the
main gain and the attention terms alone within noise of no teacher; ``--alpha 0`` trains
an attention term alone (as RepDistiller trains AT). The values, chosen on
PneumoniaMNIST validation AUC by ``benchmarks/sweep/sweep.py``, are documented in each
method's file. Terms whose weight is 0 are left out of the dict.

The teacher is frozen (``requires_grad=False``), stays in eval mode when ``.train()``
is called on the distiller, and runs under ``torch.no_grad()`` (an input-gradient map
takes a gradient with respect to the input only). Train with an optimizer
over ``distiller.student.parameters()``.

A cached teacher (its outputs for the very images of the batch: the same input every epoch,
or the same seeded augmented view, ``edgekd/distillation/cache.py``) can replace the live one: pass
``teacher_out``, the dict :meth:`Distiller.teacher_targets` computes (``{"logits"}``
plus the method's own keys, see :meth:`Method.teacher_targets`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgekd.distillation import methods
from edgekd.distillation.methods.base import MethodOptions
from edgekd.errors import EdgekdError
from edgekd.losses.kd import KD_TERM, kd_loss

__all__ = ["METHODS", "Distiller"]

METHODS = methods.METHODS


class Distiller(nn.Module):
    """Teacher + student + method; :meth:`forward_train` returns the weighted terms."""

    def __init__(
        self,
        teacher: nn.Module | None,
        student: nn.Module,
        method: str = methods.DEFAULT,
        alpha: float | None = None,
        temperature: float = 4.0,
        beta: float | None = None,
        att_loss: str = "mse",
        att_size: int | tuple[int, int] | None = None,
        teacher_layers: Sequence[str] | None = None,
        student_layers: Sequence[str] | None = None,
        at_form: str = "official",
        logit_standardize: bool = False,
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        cls = methods.get(method)
        self.method = cls.name
        if isinstance(att_size, int):
            att_size = (att_size, att_size)
        opts = MethodOptions(att_loss, tuple(att_size) if att_size is not None else None,
                             tuple(teacher_layers) if teacher_layers is not None else None,
                             tuple(student_layers) if student_layers is not None else None, at_form,
                             float(temperature), bool(logit_standardize))
        self.att_loss, self.at_form, self.att_size = opts.att_loss, opts.at_form, opts.att_size
        self.alpha = float(alpha if alpha is not None else cls.default_alpha)
        self.beta = float(beta if beta is not None else cls.default_beta)
        self.temperature = float(temperature)
        self.label_smoothing = float(label_smoothing)  # on the hard-label CE term only, never on KD's targets
        if not 0.0 <= self.alpha <= 1.0:
            raise EdgekdError(f"alpha must be in [0, 1] (got {self.alpha}): it weighs KD against CE")
        has_term = cls.default_beta > 0
        if self.beta < 0 or (not has_term and self.beta != 0):
            with_term = ", ".join(n for n in methods.METHODS if methods.get(n).default_beta > 0)
            raise EdgekdError(f"beta={self.beta} is invalid with method {self.method!r}: beta >= 0 weighs "
                              f"the attention term, which only {with_term} have")
        if self.temperature <= 0:
            raise EdgekdError(f"temperature must be > 0 (got {self.temperature}): e.g. 4")
        self.use_att = has_term and self.beta > 0
        if teacher is None and (self.alpha > 0 or self.use_att):
            raise EdgekdError(f"method {self.method!r} needs a teacher: pass one")

        self.student = student
        self.teacher = teacher
        if teacher is not None:
            teacher.requires_grad_(False)
            teacher.eval()
        self.impl = cls(teacher, student, opts, self.use_att)

    @property
    def teacher_layers(self) -> list[str] | None:
        """The teacher's captured layers (None where the method captures none)."""
        return self.impl.teacher_layers

    @property
    def student_layers(self) -> list[str] | None:
        """The student's captured layers (None where the method captures none)."""
        return self.impl.student_layers

    def train(self, mode: bool = True) -> Distiller:
        """Set the student's mode; the teacher always stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    def forward(self, x: Tensor) -> Tensor:
        """Student logits (inference)."""
        return self.student(x)

    def _live_teacher(self) -> nn.Module:
        if self.teacher is None:
            raise EdgekdError("this distiller has no teacher: pass one to compute its targets")
        self.teacher.eval()
        return self.teacher

    def teacher_targets(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        """The cacheable teacher outputs for a batch: ``{"logits"}`` plus the method's own
        keys when its term is on (``y``: the target class where a map depends on one)."""
        teacher = self._live_teacher()
        with torch.no_grad():
            if self.use_att:
                return self.impl.teacher_targets(teacher, self.student, x, y)
            return {"logits": teacher(x).detach()}

    def cache_files(self, sample: Tensor) -> dict[str, str]:
        """``{output key: file stem}`` of the teacher outputs this distiller reads from a cache
        (``sample``: a batch of training inputs)."""
        files = {"logits": "logits"}
        if self.use_att:
            files.update(self.impl.cache_files(self._live_teacher(), self.student, sample))
        return files

    def _check_cached(self, teacher_out: dict[str, Tensor], x: Tensor) -> dict[str, Tensor]:
        need = (["logits"] if self.alpha > 0 else []) + (self.impl.check_cached(teacher_out, x) if self.use_att else [])
        missing = [k for k in need if k not in teacher_out]
        if missing:
            raise EdgekdError(f"cached teacher output lacks {missing} for method {self.method!r}: rebuild "
                              "the cache with Distiller.teacher_targets")
        out = {k: teacher_out[k].to(x.device) for k in need}
        if any(v.shape[0] != x.shape[0] for v in out.values()):
            raise EdgekdError("cached teacher outputs do not match the batch: rebuild the cache")
        return out

    def _teacher(self, x: Tensor, y: Tensor, teacher_out: dict[str, Tensor] | None) -> dict[str, object]:
        if not (self.alpha > 0 or self.use_att):
            return {}
        if teacher_out is not None:
            return dict(self._check_cached(teacher_out, x))
        teacher = self._live_teacher()
        with torch.no_grad():
            if self.use_att:
                return self.impl.teacher_live(teacher, x, y)
            return {"logits": teacher(x).detach()}

    def forward_train(
        self, x: Tensor, y: Tensor, teacher_out: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Student logits and the weighted loss terms (``ce``, ``kd``, the method's) that apply."""
        teacher = self._teacher(x, y, teacher_out)
        if self.use_att:
            logits, own = self.impl.student_terms(self.student, x, y, teacher)
        else:
            logits, own = self.student(x), {}
        terms: dict[str, Tensor] = {}
        if self.alpha < 1:
            terms["ce"] = (1.0 - self.alpha) * F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        if self.alpha > 0:
            t_logits = teacher["logits"]
            assert isinstance(t_logits, Tensor)
            terms[KD_TERM] = self.alpha * kd_loss(logits, t_logits, self.temperature, self.impl.opts.standardized)
        terms.update({name: self.beta * value for name, value in own.items()})
        return logits, terms

    def student_map(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The student's B x H x W map (detached) for figures: the method's ``figure_kind``
        (see :meth:`Method.student_map`). The
        student's train / eval mode is left as the caller set it."""
        return self.impl.student_map(self.student, x, y)
