"""The shared shape of the map methods (fma, mip, sals): one student map against the teacher's.

METHOD.md: ``L_att`` = ``att_loss(M_S, M_T)``, the teacher's map being the soft target
mask. The combiner of the same name (``edgekd/attention/registry.py``) makes both maps:
its layer rule picks the captured stages unless ``teacher_layers`` / ``student_layers``
are given (teacher and student choose independently: no pairing), and maps are made at
``att_size`` (default: the input's H x W). The student's map stays differentiable
(``create_graph=True`` for SALS's input gradient). The cache stores the teacher's map as
``map-<method>-<size>-<layers>``.

Default beta = 1: the best value tried on PneumoniaMNIST validation AUC by
``benchmarks/sweep/sweep.py`` (sweep.md).
"""

from __future__ import annotations

from torch import Tensor, nn

from edgekd.attention import registry
from edgekd.attention.compute import attention
from edgekd.distillation.methods.base import Method, MethodOptions, resolve_layers
from edgekd.errors import EdgekdError
from edgekd.losses.attention import attention_loss

__all__ = ["MapMethod"]


class MapMethod(Method):
    """A method whose term is the attention loss between the student's and teacher's maps."""

    default_beta = 1.0
    default_alpha = 0.9  # + KD by default (benchmarks/study/study.md)

    def __init__(self, teacher: nn.Module | None, student: nn.Module, opts: MethodOptions, active: bool):
        super().__init__(teacher, student, opts, active)
        self.combiner = registry.get(self.name)
        self.figure_kind = self.name
        if self.combiner.needs_capture:
            self.teacher_layers, self.student_layers = resolve_layers(self.combiner, teacher, student, opts)

    def teacher_live(self, teacher: nn.Module, x: Tensor, y: Tensor | None) -> dict[str, object]:
        att = attention(self.combiner, teacher, x, y, layers=self.teacher_layers, size=self.opts.size(x))
        return {"logits": att.logits.detach(), "map": att.map.detach()}

    def cache_files(self, teacher: nn.Module, student: nn.Module, sample: Tensor) -> dict[str, str]:
        layers = "-".join(self.teacher_layers or ["input"]).replace(".", "_")
        size = "x".join(str(s) for s in self.opts.att_size) if self.opts.att_size else "input"
        return {"map": f"map-{self.name}-{size}-{layers}"}

    def check_cached(self, cached: dict[str, Tensor], x: Tensor) -> list[str]:
        expected = (x.shape[0], *self.opts.size(x))
        if "map" in cached and tuple(cached["map"].shape) != expected:
            raise EdgekdError(f"cached teacher map has shape {tuple(cached['map'].shape)}, expected {expected}: "
                              "rebuild the cache at this attention size")
        return ["map"]

    def student_terms(self, student: nn.Module, x: Tensor, y: Tensor,
                      teacher: dict[str, object]) -> tuple[Tensor, dict[str, Tensor]]:
        att = attention(self.combiner, student, x, y, layers=self.student_layers, size=self.opts.size(x),
                                    create_graph=True)
        t_map = teacher["map"]
        assert isinstance(t_map, Tensor)
        return att.logits, {"att": attention_loss(att.map, t_map, self.opts.att_loss)}

    def figure_layers(self) -> tuple[list[str] | None, list[str] | None]:
        return self.teacher_layers, self.student_layers
