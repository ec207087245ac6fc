"""Distiller: loss wiring, frozen teacher, gradient flow, cached teacher == live teacher."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgekd.attention.at import at_loss
from edgekd.attention.capture import run_with_features
from edgekd.attention.maps import fma, mip
from edgekd.attention.saliency import saliency
from edgekd.distillation.distiller import Distiller
from edgekd.errors import EdgekdError
from edgekd.losses.attention import attention_loss
from edgekd.losses.kd import kd_loss

METHODS = ["none", "kd", "at", "fma", "mip", "sals"]


class Net(nn.Module):
    """A seeded CNN following the zoo contract; SiLU keeps second derivatives non-zero
    (SALS's double backprop) and BatchNorm checks that the teacher stays in eval mode."""

    def __init__(self, width: int, n_stages: int, seed: int, classes: int = 3):
        super().__init__()
        torch.manual_seed(seed)
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.SiLU())
        self.stages = ["stem"]
        for i in range(1, n_stages):
            setattr(self, f"layer{i}", nn.Sequential(
                nn.Conv2d(width, width, 3, stride=2, padding=1), nn.SiLU()))
            self.stages.append(f"layer{i}")
        self.fc = nn.Linear(width, classes)
        self.classifier = "fc"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.stages:
            x = self.get_submodule(name)(x)
        return self.fc(x.mean(dim=(2, 3)))


def make(method: str, **kw) -> Distiller:
    teacher = Net(width=8, n_stages=4, seed=1)
    with torch.no_grad():  # give the teacher non-default BN statistics
        teacher.stem[1].running_mean.uniform_(-0.5, 0.5)
        teacher.stem[1].running_var.uniform_(0.5, 1.5)
    return Distiller(teacher, Net(width=4, n_stages=3, seed=2), method, **kw)


def batch(n: int = 4, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return torch.randn(n, 3, size, size, generator=g), torch.randint(0, 3, (n,), generator=g)


def no_hooks(model: nn.Module) -> bool:
    return all(len(m._forward_hooks) == 0 for m in model.modules())


@pytest.mark.parametrize(
    ("method", "kw", "keys"),
    [
        ("none", {}, ["ce"]),
        ("kd", {}, ["ce", "kd"]),
        ("kd", {"alpha": 1.0}, ["kd"]),
        ("at", {}, ["att", "ce", "kd"]),  # every method but none defaults to alpha 0.9 (+ KD)
        ("at", {"alpha": 0.0}, ["att", "ce"]),
        ("fma", {}, ["att", "ce", "kd"]),
        ("fma", {"alpha": 0.0}, ["att", "ce"]),
        ("mip", {"alpha": 0.5}, ["att", "ce", "kd"]),
        ("sals", {"beta": 0.0, "alpha": 0.0}, ["ce"]),
    ],
)
def test_terms_present(method: str, kw: dict, keys: list[str]) -> None:
    d = make(method, **kw)
    logits, terms = d.forward_train(*batch())
    assert sorted(terms) == keys and logits.shape == (4, 3)


@pytest.mark.parametrize("method", ["fma", "mip", "sals", "at"])
def test_terms_equal_independent_computation(method: str) -> None:
    d = make(method, alpha=0.3, beta=2.0, temperature=3.0, att_loss="dice", at_form="paper")
    d.train()
    x, y = batch()
    logits, terms = d.forward_train(x, y)
    teacher, student = d.teacher, d.student
    with torch.no_grad():
        z_t = teacher(x)
        if method == "sals":
            m_t = saliency(teacher, x, y)[0]
            m_s, z_s = saliency(student, x, y)
            att = attention_loss(m_s, m_t, "dice")
        elif method == "at":
            z_s, fs = run_with_features(student, x, ["layer1", "layer2"])
            _, ft = run_with_features(teacher, x, ["layer2", "layer3"])  # deepest 2 of 3
            att = at_loss(fs, ft, "paper")
        else:
            combine = fma if method == "fma" else mip
            z_s, fs = run_with_features(student, x, ["stem", "layer2"])
            _, ft = run_with_features(teacher, x, ["stem", "layer3"])
            att = attention_loss(combine(fs, (8, 8)), combine(ft, (8, 8)), "dice")
    assert torch.allclose(logits, z_s, atol=1e-6)
    assert torch.allclose(terms["ce"], 0.7 * F.cross_entropy(z_s, y), atol=1e-6)
    assert torch.allclose(terms["kd"], 0.3 * kd_loss(z_s, z_t, 3.0), atol=1e-6)
    assert torch.allclose(terms["att"], 2.0 * att, atol=1e-5)


def test_label_smoothing_moves_only_the_hard_label_term() -> None:
    """--label-smoothing eps: CE against (1 - eps) one-hot + eps / K, written out here; KD's
    soft targets are the teacher's and stay as they were."""
    x, y = batch()
    plain, smooth = make("kd", alpha=0.4), make("kd", alpha=0.4, label_smoothing=0.2)
    smooth.student.load_state_dict(plain.student.state_dict())
    _, t0 = plain.forward_train(x, y)
    logits, t1 = smooth.forward_train(x, y)
    log_p = F.log_softmax(logits, dim=1)
    target = 0.8 * F.one_hot(y, 3).float() + 0.2 / 3
    assert torch.allclose(t1["ce"], 0.6 * -(target * log_p).sum(1).mean(), atol=1e-6)
    assert not torch.allclose(t1["ce"], t0["ce"]) and torch.allclose(t1["kd"], t0["kd"], atol=1e-7)


def test_defaults() -> None:
    assert (make("kd").alpha, make("kd").beta, make("none").alpha) == (0.9, 0.0, 0.0)
    assert (make("at").beta, make("fma").beta, make("fma").alpha, make("at").alpha) == (10.0, 1.0, 0.9, 0.9)
    assert make("at").student_layers == ["layer1", "layer2"]
    assert make("at").teacher_layers == ["layer2", "layer3"]
    assert make("fma").teacher_layers == ["stem", "layer3"]


@pytest.mark.parametrize("method", METHODS)
def test_gradient_reaches_student_never_teacher(method: str) -> None:
    d = make(method, alpha=0.5)
    d.train()
    assert d.student.training and not d.teacher.training
    assert not any(p.requires_grad for p in d.teacher.parameters())
    before = copy.deepcopy(d.teacher.state_dict())
    opt = torch.optim.SGD(d.student.parameters(), lr=0.1)
    x, y = batch(size=16)  # AT's deepest teacher stage is 2x2 (a 1x1 map has no gradient)
    _, terms = d.forward_train(x, y)
    for name, term in terms.items():
        opt.zero_grad(set_to_none=True)
        term.backward(retain_graph=True)
        missed = [n for n, p in d.student.named_parameters()
                  if p.grad is None or p.grad.abs().sum() == 0]
        # the classifier acts after every captured stage, so the map-based terms cannot
        # reach it; dz_y/dx does not depend on the classifier's bias (SALS).
        expected = {"att": {"sals": ["fc.bias"]}.get(method, ["fc.weight", "fc.bias"])}
        assert missed == expected.get(name, []), (name, missed)
    opt.zero_grad(set_to_none=True)
    sum(terms.values()).backward()
    opt.step()
    assert all(p.grad is None for p in d.teacher.parameters())
    after = d.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN buffers included
    assert no_hooks(d.teacher) and no_hooks(d.student)


@pytest.mark.parametrize("method", ["kd", "at", "fma", "mip", "sals"])
def test_cached_teacher_equals_live(method: str) -> None:
    d = make(method, alpha=0.4)
    d.train()
    x, y = batch()
    cache = d.teacher_targets(x, y)
    expected = {"kd": ["logits"], "at": ["at0", "at1", "logits"]}.get(method, ["logits", "map"])
    assert sorted(cache) == expected
    assert not any(v.requires_grad for v in cache.values())
    _, live = d.forward_train(x, y)
    _, cached = d.forward_train(x, y, teacher_out=cache)
    assert sorted(live) == sorted(cached)
    for k in live:
        assert torch.equal(live[k], cached[k]), k
    other = {k: v + 0.5 for k, v in cache.items()}  # the cache is really used
    changed = d.forward_train(x, y, teacher_out=other)[1]
    assert all(not torch.equal(changed[k], live[k]) for k in live if k != "ce")


def test_cache_errors() -> None:
    x, y = batch()
    d = make("at")
    cache = d.teacher_targets(x, y)
    assert [tuple(cache[f"at{i}"].shape) for i in range(2)] == [(4, 2, 2), (4, 1, 1)]  # pairs 4x4-2x2, 2x2-1x1: the smaller
    with pytest.raises(EdgekdError, match=r"lacks \['at1'\]"):
        d.forward_train(x, y, teacher_out={"logits": cache["logits"], "at0": cache["at0"]})
    d = make("fma", alpha=0.5)
    cache = d.teacher_targets(x, y)
    with pytest.raises(EdgekdError, match=r"lacks \['map'\]"):
        d.forward_train(x, y, teacher_out={"logits": cache["logits"]})
    with pytest.raises(EdgekdError, match="attention size"):
        d.forward_train(x, y, teacher_out={**cache, "map": cache["map"][:, :4, :4]})


def test_hooks_removed_after_exception() -> None:
    d = make("fma", alpha=0.5)
    x, _ = batch()
    with pytest.raises((RuntimeError, ValueError)):
        d.forward_train(x, torch.zeros(4, 2))  # labels of the wrong shape
    with pytest.raises(RuntimeError):
        d.forward_train(torch.randn(4, 5, 8, 8), torch.zeros(4, dtype=torch.long))  # wrong channel count
    assert no_hooks(d.teacher) and no_hooks(d.student)


@pytest.mark.parametrize("method", METHODS)
def test_student_map(method: str) -> None:
    d = make(method, att_size=6)
    d.eval()
    x, y = batch(n=1)
    m = d.student_map(x, y)
    assert m.shape == (1, 6, 6) and not m.requires_grad
    assert m.min() >= 0 and m.max() <= 1 and torch.isfinite(m).all()
    if method in ("at", "none", "kd"):
        _, fs = run_with_features(d.student, x, ["stem", "layer2"])
        assert torch.allclose(m, fma(fs, (6, 6)))
    assert all(p.grad is None for p in d.student.parameters())


def test_constant_input_batch1_no_nan() -> None:
    for method in ["fma", "mip", "sals"]:
        for loss in ["mse", "bce", "dice"]:
            d = make(method, alpha=0.5, att_loss=loss)
            _, terms = d.forward_train(torch.zeros(1, 3, 8, 8), torch.tensor([1]))
            sum(terms.values()).backward()
            assert all(torch.isfinite(v) for v in terms.values()), (method, loss)
            assert all(torch.isfinite(p.grad).all()
                       for p in d.student.parameters() if p.grad is not None)


def test_bad_arguments() -> None:
    with pytest.raises(EdgekdError, match="did you mean fma"):
        make("fam")
    with pytest.raises(EdgekdError, match="alpha"):
        make("kd", alpha=1.5)
    with pytest.raises(EdgekdError, match="beta"):
        make("kd", beta=1.0)
    with pytest.raises(EdgekdError, match="temperature"):
        make("kd", temperature=0)
    with pytest.raises(EdgekdError, match="attention loss"):
        make("fma", att_loss="l2")
    with pytest.raises(EdgekdError, match="layer7"):
        make("fma", student_layers=["layer7"])
    with pytest.raises(EdgekdError, match="equal length"):
        make("at", student_layers=["layer1"])
    with pytest.raises(EdgekdError, match="needs a teacher"):
        Distiller(None, Net(4, 3, 0), "kd")
    alone = Distiller(None, Net(4, 3, 0), "none")
    _, terms = alone.forward_train(*batch())
    assert list(terms) == ["ce"]


def test_one_default_method_everywhere() -> None:
    """The spec holds the default as a torch-free constant (importing the methods would import
    torch at start-up); the command line, the Distiller and DistillConfig all name it."""
    import inspect

    from edgekd.api import DistillSpec
    from edgekd.distillation import methods
    from edgekd.distillation.config import DistillConfig

    cli_default = {o.name: o for o in DistillSpec.options()}["method"].default
    assert cli_default == methods.DEFAULT == DistillConfig().method == "mip"
    assert inspect.signature(Distiller).parameters["method"].default == methods.DEFAULT
