"""Distiller: a frozen eval-mode teacher and a trained student, and the loss terms.

``L = (1 - alpha) * CE(z_S, y) + alpha * KD(z_S, z_T; T) + beta * L_att`` (METHOD.md).
``method`` picks only the attention term: ``fma`` / ``mip`` / ``sals`` (the method's
maps, compared by ``att_loss``), ``at`` (Zagoruyko-Komodakis attention transfer), or
``none`` / ``kd`` (no attention term; the two differ only in the default alpha).
AT + KD, FMA + KD and so on are the same code path with ``alpha > 0``.

Defaults: alpha = 0.9 for every method but ``none`` (the student alone): the study
(benchmarks/study.md, 520 runs) found KD the main gain and the attention terms alone
within noise of no teacher, so ``fma`` means FMA + KD unless ``--alpha 0`` asks for the
attention term alone (as RepDistiller trains AT); beta = 10 for ``at``, 1 for
``fma`` / ``mip`` / ``sals``; T = 4; mse attention loss, default layers, maps at the
input size. These were chosen on PneumoniaMNIST validation AUC by
``benchmarks/sweep.py`` (see sweep.md: beta = 1 was the best value tried for the maps;
AT's official beta = 1000 lost 1.4 validation AUC points to beta = 10 there; KD with
alpha = 0.9 was the one clear gain, so "+ KD" variants take ``--alpha 0.9``).
Terms whose weight is 0 are left out of the dict.

The teacher is frozen (``requires_grad=False``), stays in eval mode when ``.train()``
is called on the distiller, and runs under ``torch.no_grad()``; SALS's teacher map takes
a gradient with respect to the input only (see ``attention/saliency.py``). Train with
an optimizer over ``distiller.student.parameters()``.

A cached teacher (same input every epoch) can replace the live one: pass
``teacher_out``, the dict that :meth:`Distiller.teacher_targets` computes:
``{"logits": B x K}`` plus ``"map": B x H x W`` for fma / mip / sals, or one
``"at<i>": B x h x w`` per AT layer pair (the teacher's AT map at the pair's common
size, see ``attention/at.py``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgekd.attention import registry
from edgekd.attention.at import AT_FORMS, at_loss_to_targets, at_target, pair_size
from edgekd.attention.capture import ATCam, at_default_layers, default_layers
from edgekd.attention.saliency import saliency
from edgekd.errors import EdgekdError
from edgekd.losses.attention import ATT_LOSSES, attention_loss
from edgekd.losses.kd import kd_loss

__all__ = ["METHODS", "MAP_METHODS", "Distiller"]

METHODS = ("none", "kd", "at", "fma", "mip", "sals")
MAP_METHODS = ("fma", "mip", "sals")


def _choice(kind: str, value: str, choices: Sequence[str]) -> str:
    if value in choices:
        return value
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise EdgekdError(f"unknown {kind} {value!r}{hint}: choose one of {list(choices)}")


class Distiller(nn.Module):
    """Teacher + student + method; :meth:`forward_train` returns the weighted terms."""

    def __init__(
        self,
        teacher: nn.Module | None,
        student: nn.Module,
        method: str = "fma",
        alpha: float | None = None,
        temperature: float = 4.0,
        beta: float | None = None,
        att_loss: str = "mse",
        att_size: int | tuple[int, int] | None = None,
        teacher_layers: Sequence[str] | None = None,
        student_layers: Sequence[str] | None = None,
        at_form: str = "official",
    ):
        super().__init__()
        self.method = _choice("distillation method", method, METHODS)
        self.att_loss = _choice("attention loss", att_loss, ATT_LOSSES)
        self.at_form = _choice("AT form", at_form, AT_FORMS)
        self.alpha = float(alpha if alpha is not None else (0.0 if method == "none" else 0.9))
        has_att = self.method not in ("none", "kd")
        default_beta = {"at": 10.0}.get(self.method, 1.0 if has_att else 0.0)
        self.beta = float(beta if beta is not None else default_beta)
        self.temperature = float(temperature)
        if not 0.0 <= self.alpha <= 1.0:
            raise EdgekdError(f"alpha must be in [0, 1] (got {self.alpha}): it weighs KD against CE")
        if self.beta < 0 or (not has_att and self.beta != 0):
            raise EdgekdError(
                f"beta={self.beta} is invalid with method {self.method!r}: beta >= 0 weighs "
                "the attention term, which only at / fma / mip / sals have"
            )
        if self.temperature <= 0:
            raise EdgekdError(f"temperature must be > 0 (got {self.temperature}): e.g. 4")
        self.use_att = has_att and self.beta > 0
        if teacher is None and (self.alpha > 0 or self.use_att):
            raise EdgekdError(f"method {self.method!r} needs a teacher: pass one")
        if isinstance(att_size, int):
            att_size = (att_size, att_size)
        self.att_size = tuple(att_size) if att_size is not None else None

        self.student = student
        self.teacher = teacher
        if teacher is not None:
            teacher.requires_grad_(False)
            teacher.eval()
        self.teacher_layers, self.student_layers = self._layers(teacher_layers, student_layers)

    def _layers(
        self, t_layers: Sequence[str] | None, s_layers: Sequence[str] | None
    ) -> tuple[list[str] | None, list[str] | None]:
        """Resolve and validate the captured layers (None where nothing is captured)."""
        if self.method in ("fma", "mip") or (self.method == "at" and self.use_att):
            pick = at_default_layers if self.method == "at" else default_layers
            t = list(t_layers) if t_layers is not None else None
            s = list(s_layers) if s_layers is not None else pick(self.student)
            if self.teacher is not None:
                t = t if t is not None else pick(self.teacher)
                ATCam(self.teacher, t)  # raises EdgekdError on unknown names
            ATCam(self.student, s)
            if self.method == "at" and t is not None and len(t) != len(s):
                if t_layers is None and s_layers is None:
                    n = min(len(t), len(s))  # defaults: pair the deepest stages
                    t, s = t[-n:], s[-n:]
                else:
                    raise EdgekdError(
                        f"AT pairs layers in order: got {len(t)} teacher and {len(s)} "
                        "student layers; pass teacher_layers and student_layers of equal length"
                    )
            return t, s
        return None, None

    def train(self, mode: bool = True) -> Distiller:
        """Set the student's mode; the teacher always stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    def forward(self, x: Tensor) -> Tensor:
        """Student logits (inference)."""
        return self.student(x)

    def _size(self, x: Tensor) -> tuple[int, int]:
        return self.att_size if self.att_size is not None else (x.shape[-2], x.shape[-1])

    def _teacher_live(self, x: Tensor, y: Tensor | None) -> dict[str, object]:
        """Run the teacher (no parameter gradients): logits and the map or features."""
        if self.teacher is None:
            raise EdgekdError("this distiller has no teacher: pass one to compute its targets")
        self.teacher.eval()
        with torch.no_grad():
            if self.method in MAP_METHODS or (self.method == "at" and self.use_att):
                att = registry.get(self.method).compute(
                    self.teacher, x, y, layers=self.teacher_layers,
                    size=self._size(x), create_graph=False,
                )
                out: dict[str, object] = {"logits": att.logits.detach()}
                if att.map is not None:
                    out["map"] = att.map.detach()
                else:
                    out["features"] = [f.detach() for f in att.features]
                return out
            return {"logits": self.teacher(x).detach()}

    def _at_pairs(self) -> int:
        return len(self.student_layers or []) if self.method == "at" and self.use_att else 0

    def at_target_sizes(self, x: Tensor) -> list[tuple[int, int]]:
        """The h x w of each AT pair's cached teacher map, from one sample of ``x``
        (both models run once in eval mode, under no_grad; the student's mode is restored)."""
        was_training = self.student.training
        self.student.eval()
        try:
            with torch.no_grad():
                at = registry.get("at")
                s = at.compute(self.student, x[:1], None, layers=self.student_layers).features
                t = at.compute(self.teacher, x[:1], None, layers=self.teacher_layers).features
        finally:
            self.student.train(was_training)
        return [pair_size(a_s.shape[-2:], a_t.shape[-2:]) for a_s, a_t in zip(s, t)]

    def teacher_targets(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        """The cacheable teacher outputs for a batch: ``{"logits"}`` plus ``"map"`` for
        fma / mip / sals (SALS uses ``y`` as its target class, else the prediction), or
        ``"at0"``, ``"at1"``, ... for AT."""
        out = self._teacher_live(x, y)
        if "features" in out:
            sizes = self.at_target_sizes(x)
            out.update({f"at{i}": at_target(a_t, hw) for i, (a_t, hw) in
                        enumerate(zip(out.pop("features"), sizes))})  # type: ignore[arg-type]
        return out  # type: ignore[return-value]

    def _check_cached(self, teacher_out: dict[str, Tensor], x: Tensor) -> dict[str, Tensor]:
        need = (["logits"] if self.alpha > 0 else []) + (["map"] if self.use_att and self.method != "at" else [])
        need += [f"at{i}" for i in range(self._at_pairs())]
        missing = [k for k in need if k not in teacher_out]
        if missing:
            raise EdgekdError(
                f"cached teacher output lacks {missing} for method {self.method!r}: rebuild "
                "the cache with Distiller.teacher_targets"
            )
        out = {k: teacher_out[k].to(x.device) for k in need}
        if "map" in out and tuple(out["map"].shape) != (x.shape[0], *self._size(x)):
            raise EdgekdError(
                f"cached teacher map has shape {tuple(out['map'].shape)}, expected "
                f"{(x.shape[0], *self._size(x))}: rebuild the cache at this attention size"
            )
        if any(v.shape[0] != x.shape[0] for v in out.values()):
            raise EdgekdError("cached teacher outputs do not match the batch: rebuild the cache")
        return out

    def forward_train(
        self, x: Tensor, y: Tensor, teacher_out: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Student logits and the weighted loss terms ``{"ce", "kd", "att"}`` that apply."""
        needs_teacher = self.alpha > 0 or self.use_att
        if not needs_teacher:
            teacher: dict[str, object] = {}
        elif teacher_out is not None:
            teacher = dict(self._check_cached(teacher_out, x))
        else:
            teacher = self._teacher_live(x, y)

        s_map: Tensor | None = None
        s_feats: list[Tensor] = []
        if self.use_att:
            att = registry.get(self.method).compute(
                self.student, x, y, layers=self.student_layers,
                size=self._size(x), create_graph=True,
            )
            logits, s_map, s_feats = att.logits, att.map, att.features
        else:
            logits = self.student(x)

        terms: dict[str, Tensor] = {}
        if self.alpha < 1:
            terms["ce"] = (1.0 - self.alpha) * F.cross_entropy(logits, y)
        if self.alpha > 0:
            t_logits = teacher["logits"]
            assert isinstance(t_logits, Tensor)
            terms["kd"] = self.alpha * kd_loss(logits, t_logits, self.temperature)
        if self.use_att:
            if s_map is None:
                if "features" in teacher:  # live teacher: its AT maps at each pair's size
                    t_feats = teacher["features"]
                    assert isinstance(t_feats, list)
                    targets = [at_target(a_t, a_s.shape[-2:]) for a_s, a_t in zip(s_feats, t_feats)]
                else:
                    targets = [teacher[f"at{i}"] for i in range(self._at_pairs())]  # type: ignore[misc]
                terms["att"] = self.beta * at_loss_to_targets(s_feats, targets, self.at_form)
            else:
                t_map = teacher["map"]
                assert isinstance(t_map, Tensor)
                terms["att"] = self.beta * attention_loss(s_map, t_map, self.att_loss)
        return logits, terms

    def student_map(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The student's B x H x W map (detached) for figures: the method's own kind for
        fma / mip / sals, FMA of the student's default layers for at / none / kd. The
        student's train / eval mode is left as the caller set it."""
        kind = self.method if self.method in MAP_METHODS else "fma"
        layers = self.student_layers if self.method in ("fma", "mip") else None
        if kind == "sals":
            return saliency(self.student, x, y, create_graph=False, size=self._size(x))[0]
        with torch.no_grad():
            att = registry.get(kind).compute(self.student, x, y, layers=layers, size=self._size(x))
        assert att.map is not None
        return att.map.detach()
