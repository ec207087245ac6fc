"""``at``: attention transfer (Zagoruyko and Komodakis 2017), the baseline.

Teacher and student layers are paired in order (the ``after-first`` layer rule by
default; with the defaults and unequal stage counts the deepest stages are paired).
The term is ``edgekd.attention.at.at_loss_to_targets`` of the student's features against
the teacher's per-pair maps (official or paper form; default beta = 10, chosen by
benchmarks/sweep/sweep.py over the official 1000).

What it needs from the teacher: live, its captured features (each pair's target is made
at the student's stage size in the same step); cached, one ``at<i>`` map per pair at the
pair's common size (``at-<layer>-<h>x<w>``), which one eval-mode forward of both models
on one sample determines. Both give the same numbers (``at_loss`` is the two composed).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from edgekd.attention import registry
from edgekd.attention.at import at_loss_to_targets, at_target, pair_size
from edgekd.attention.compute import attention
from edgekd.distillation.methods.base import Method, MethodOptions, resolve_layers
from edgekd.distillation.methods.registry import register_method
from edgekd.errors import EdgekdError

__all__ = ["AT"]


@register_method
class AT(Method):
    """Attention transfer between in-order pairs of teacher and student stages."""

    name = "at"
    summary = "Zagoruyko-Komodakis attention transfer between paired stages"
    default_beta = 10.0
    default_alpha = 0.9  # + KD by default (benchmarks/study/study.md)

    def __init__(self, teacher: nn.Module | None, student: nn.Module, opts: MethodOptions, active: bool):
        super().__init__(teacher, student, opts, active)
        self.combiner = registry.get(self.name)
        if active:
            self.teacher_layers, self.student_layers = self._pairs(teacher, student)

    def _pairs(self, teacher: nn.Module | None, student: nn.Module) -> tuple[list[str] | None, list[str]]:
        opts = self.opts
        t, s = resolve_layers(self.combiner, teacher, student, opts)
        if t is not None and len(t) != len(s):
            if opts.teacher_layers is None and opts.student_layers is None:
                n = min(len(t), len(s))  # defaults: pair the deepest stages
                return t[-n:], s[-n:]
            raise EdgekdError(f"AT pairs layers in order: got {len(t)} teacher and {len(s)} student layers; "
                              "pass teacher_layers and student_layers of equal length")
        return t, s

    def teacher_live(self, teacher: nn.Module, x: Tensor, y: Tensor | None) -> dict[str, object]:
        att = attention(self.combiner, teacher, x, y, layers=self.teacher_layers)
        return {"logits": att.logits.detach(), "features": [f.detach() for f in att.features]}

    def pair_sizes(self, teacher: nn.Module, student: nn.Module, x: Tensor) -> list[tuple[int, int]]:
        """The h x w of each pair's cached teacher map, from one sample of ``x`` (both
        models run once in eval mode, under no_grad; the student's mode is restored)."""
        was_training = student.training
        student.eval()
        try:
            with torch.no_grad():
                s = attention(self.combiner, student, x[:1], None, layers=self.student_layers).features
                t = attention(self.combiner, teacher, x[:1], None, layers=self.teacher_layers).features
        finally:
            student.train(was_training)
        return [pair_size(a_s.shape[-2:], a_t.shape[-2:]) for a_s, a_t in zip(s, t)]

    def teacher_targets(self, teacher: nn.Module, student: nn.Module, x: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        out = self.teacher_live(teacher, x, y)
        sizes = self.pair_sizes(teacher, student, x)
        features = out.pop("features")
        out.update({f"at{i}": at_target(a_t, hw) for i, (a_t, hw) in enumerate(zip(features, sizes))})  # type: ignore[arg-type]
        return out  # type: ignore[return-value]

    def cache_files(self, teacher: nn.Module, student: nn.Module, sample: Tensor) -> dict[str, str]:
        sizes = self.pair_sizes(teacher, student, sample)
        return {f"at{i}": f"at-{layer.replace('.', '_')}-{h}x{w}"
                for i, (layer, (h, w)) in enumerate(zip(self.teacher_layers or [], sizes))}

    def check_cached(self, cached: dict[str, Tensor], x: Tensor) -> list[str]:
        return [f"at{i}" for i in range(len(self.student_layers or []))]

    def student_terms(self, student: nn.Module, x: Tensor, y: Tensor,
                      teacher: dict[str, object]) -> tuple[Tensor, dict[str, Tensor]]:
        att = attention(self.combiner, student, x, y, layers=self.student_layers)
        if "features" in teacher:  # live teacher: its AT maps at each pair's size
            t_feats = teacher["features"]
            assert isinstance(t_feats, list)
            targets = [at_target(a_t, a_s.shape[-2:]) for a_s, a_t in zip(att.features, t_feats)]
        else:
            targets = [teacher[f"at{i}"] for i in range(len(att.features))]  # type: ignore[misc]
        return att.logits, {"att": at_loss_to_targets(att.features, targets, self.opts.at_form)}
