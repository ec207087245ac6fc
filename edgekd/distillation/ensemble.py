"""An ensemble of frozen teachers that behaves like one teacher model.

``TeacherEnsemble`` is an ``nn.Module`` whose forward returns the mean of its members'
logits, so Hinton KD, evaluation and the teacher cache use it like any teacher. Its
attention follows the same idea: the attention code (``edgekd.attention.compute``) asks
a model for ``combined_attention`` / ``combined_rule_layers`` before capturing stages
itself, and the ensemble answers with each member's own map (each member's own layer
rule, its own stage names) at the common map size, averaged element-wise and then
min-max normalised per sample to [0, 1] again. Why renormalise: every teacher map a
method compares against is min-max normalised (METHOD.md, "The final M is min-max
normalised"); a mean of [0, 1] maps need not span [0, 1], and the student's map does.

Stage names: member ``i``'s stage ``s`` is ``members.<i>.<s>`` (a real submodule name of
the ensemble, so hooks and ``--teacher-layers`` use it as any module name); explicit
teacher layers must name at least one stage of every member.

AT is refused: it pairs each student stage with one teacher stage, and an ensemble of
differently shaped teachers has no single stage list (their per-layer maps do not
average). With a target-dependent map (SALS) and no labels, the target is the
ensemble's predicted class, as for one teacher.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from edgekd.attention.capture import Attention
from edgekd.attention.maps import minmax
from edgekd.errors import EdgekdError

__all__ = ["TeacherEnsemble"]

PREFIX = "members."


class TeacherEnsemble(nn.Module):
    """Mean of the members' logits and of their attention maps (see the module doc)."""

    def __init__(self, members: Sequence[nn.Module], names: Sequence[str] | None = None):
        super().__init__()
        if len(members) < 2:
            raise EdgekdError(f"an ensemble needs at least 2 teachers, got {len(members)}")
        self.members = nn.ModuleList(members)
        self.names = list(names) if names is not None else [f"member {i}" for i in range(len(members))]

    @property
    def stages(self) -> list[str]:
        """Every member's stages, qualified (``members.<i>.<stage>``): the names layers may use."""
        from edgekd.attention.capture import stages_of

        return [f"{PREFIX}{i}.{s}" for i, m in enumerate(self.members) for s in stages_of(m)]

    def forward(self, x: Tensor) -> Tensor:
        """The mean of the members' logits (float32 sum order: member 0, 1, ...)."""
        return torch.stack([m(x) for m in self.members]).mean(dim=0)

    # -- the attention protocol read by edgekd.attention.compute -------------------------------
    def _refuse_without_map(self, combiner) -> None:
        if not combiner.gives_map:
            raise EdgekdError(f"--method {combiner.name} pairs student stages with one teacher's stages, which an "
                              f"ensemble of {len(self.members)} teachers does not have: use kd, fma, mip or sals")

    def combined_rule_layers(self, combiner) -> list[str]:
        """Each member's layers by the combiner's layer rule, qualified, members in order."""
        from edgekd.attention.compute import rule_layers

        self._refuse_without_map(combiner)
        return [f"{PREFIX}{i}.{s}" for i, m in enumerate(self.members) for s in rule_layers(combiner, m)]

    def split_layers(self, layers: Sequence[str]) -> list[list[str]]:
        """Qualified layer names -> one list of the member's own names per member."""
        per: list[list[str]] = [[] for _ in self.members]
        for name in layers:
            index, _, inner = name[len(PREFIX):].partition(".") if name.startswith(PREFIX) else ("", "", "")
            if not index.isdigit() or int(index) >= len(self.members) or not inner:
                raise EdgekdError(f"teacher layer {name!r} names no ensemble member's stage: use "
                                  f"{PREFIX}<i>.<stage> (e.g. {self.stages[0]})")
            per[int(index)].append(inner)
        empty = [self.names[i] for i, names in enumerate(per) if not names]
        if empty:
            raise EdgekdError(f"teacher layers {list(layers)} capture nothing of {empty[0]}: name at least one "
                              f"stage of every member ({PREFIX}<i>.<stage>)")
        return per

    def combined_attention(self, combiner, x: Tensor, y: Tensor | None, *, layers: Sequence[str] | None,
                           size: tuple[int, int], create_graph: bool = False) -> Attention:
        """Mean logits and the renormalised mean map of the members, each computed by
        ``combiner`` at ``size``; ``features`` are all members' captured outputs, in order."""
        from edgekd.attention.compute import attention

        self._refuse_without_map(combiner)
        if combiner.needs_capture:
            per = self.split_layers(layers if layers is not None else self.combined_rule_layers(combiner))
        else:
            per = [None] * len(self.members)
        if y is None and (combiner.classifier or not combiner.needs_capture):
            with torch.no_grad():
                y = self(x).argmax(dim=1)  # the ensemble's prediction, not each member's
        atts = [attention(combiner, m, x, y, layers=lay, size=size, create_graph=create_graph)
                for m, lay in zip(self.members, per)]
        logits = torch.stack([a.logits for a in atts]).mean(dim=0)
        maps = torch.stack([a.map for a in atts if a.map is not None]).mean(dim=0)
        return Attention(logits, minmax(maps), [f for a in atts for f in a.features])
