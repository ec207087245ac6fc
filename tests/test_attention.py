"""Attention capture and combiners: hand-computed values on tiny fixed tensors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from edgekd.attention import registry
from edgekd.attention.at import at_loss, at_map
from edgekd.attention.cam import cam_map, class_activation, classifier_of
from edgekd.attention.capture import ATCam, Attention, at_default_layers, default_layers
from edgekd.attention.compute import attention
from edgekd.attention.maps import fma, layer_maps, minmax, mip
from edgekd.attention.saliency import saliency
from edgekd.errors import EdgekdError
from edgekd.models.unwrap import unwrap


class TinyNet(nn.Module):
    """A seeded CNN that follows the zoo contract (``stages``, ``classifier``)."""

    def __init__(self, n_stages: int = 3, width: int = 4, classes: int = 3, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        names = ["stem"]
        for i in range(1, n_stages):
            setattr(self, f"layer{i}", nn.Sequential(
                nn.Conv2d(width, width, 3, stride=2 if i < 3 else 1, padding=1), nn.ReLU()))
            names.append(f"layer{i}")
        self.fc = nn.Linear(width, classes)
        self.stages = names
        self.classifier = "fc"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.stages:
            x = self.get_submodule(name)(x)
        return self.fc(x.mean(dim=(2, 3)))


def no_hooks(model: nn.Module) -> bool:
    return all(len(m._forward_hooks) == 0 for m in model.modules())


def t(rows: list) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


# ---------------------------------------------------------------- capture


def test_default_layers_first_and_last_k() -> None:
    assert default_layers(TinyNet(3)) == ["stem", "layer2"]
    assert default_layers(TinyNet(4)) == ["stem", "layer3"]
    assert default_layers(TinyNet(5)) == ["stem", "layer1", "layer3", "layer4"]
    assert default_layers(TinyNet(5), k=1) == ["stem", "layer4"]
    assert default_layers(TinyNet(1)) == ["stem"]  # deduplicated
    assert default_layers(TinyNet(3), k=5) == ["stem", "layer1", "layer2"]
    assert at_default_layers(TinyNet(4)) == ["layer1", "layer2", "layer3"]


def test_capture_order_values_and_hooks_removed() -> None:
    model = TinyNet(3)
    x = torch.randn(2, 3, 8, 8)
    with ATCam(model, ["layer2", "stem"]) as cam:
        assert not no_hooks(model)
        logits = model(x)
    assert no_hooks(model)
    feats = cam.features
    stem = model.stem(x)
    assert torch.equal(feats[1], stem)
    assert torch.equal(feats[0], model.layer2(model.layer1(stem)))
    assert torch.equal(logits, model(x))


def test_hooks_removed_after_exception() -> None:
    model = TinyNet(3)
    with pytest.raises(RuntimeError):
        with ATCam(model, ["stem", "layer2"]):
            model(torch.randn(1, 5, 8, 8))  # wrong channel count
    assert no_hooks(model)


def test_unknown_layer_lists_valid_names() -> None:
    with pytest.raises(EdgekdError, match=r"layer9.*'stem', 'layer1', 'layer2'"):
        ATCam(TinyNet(3), ["stem", "layer9"])
    with pytest.raises(EdgekdError, match="no output"):
        with ATCam(TinyNet(3), ["stem"]) as cam:
            pass
        cam.features  # noqa: B018


def test_unwrap_data_parallel_compile_and_ddp(tmp_path) -> None:
    model = TinyNet(3)
    assert unwrap(nn.DataParallel(model)) is model
    assert unwrap(torch.compile(model)) is model
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1
    )
    try:
        ddp = nn.parallel.DistributedDataParallel(model)
        assert unwrap(torch.compile(ddp)) is model
        x = torch.randn(1, 3, 8, 8)
        with ATCam(ddp, ["stem"]) as cam:
            ddp(x)
        assert torch.equal(cam.features[0], model.stem(x))
        assert no_hooks(model)
    finally:
        dist.destroy_process_group()


# ---------------------------------------------------------------- FMA / MIP

# Layer 1: channels [[0,-1],[3,-4]] and [[0,1],[-1,4]] -> mean|A| = [[0,1],[2,4]]
#          -> normalised [[0,.25],[.5,1]].
# Layer 2: one channel [[-3,1],[1,-2]] -> |A| = [[3,1],[1,2]] -> [[1,0],[0,.5]].
A1 = t([[[[0, -1], [3, -4]], [[0, 1], [-1, 4]]]])
A2 = t([[[[-3, 1], [1, -2]]]])


def test_fma_hand_computed() -> None:
    # mean = [[.5,.125],[.25,.75]]; min .125, range .625 -> [[.6,0],[.2,1]]
    assert torch.allclose(fma([A1, A2], (2, 2)), t([[[0.6, 0.0], [0.2, 1.0]]]), atol=1e-6)


def test_mip_hand_computed() -> None:
    # max = [[1,.25],[.5,1]]; min .25, range .75 -> [[1,0],[1/3,1]]
    assert torch.allclose(mip([A1, A2], (2, 2)), t([[[1.0, 0.0], [1 / 3, 1.0]]]), atol=1e-6)


def test_layer_map_bilinear_resize_align_corners_false() -> None:
    # [[0,1],[2,3]] = 2*row + col; 2 -> 4 with align_corners=False samples rows / cols
    # at [0, .25, .75, 1], so the map is (2 r + c) / 3 after normalisation.
    (m,) = layer_maps([t([[[[0, 1], [2, 3]]]])], (4, 4))
    r = t([0, 0.25, 0.75, 1])
    assert torch.allclose(m[0], (2 * r[:, None] + r[None, :]) / 3, atol=1e-6)
    # a 1x1 feature map becomes a constant map, normalised to 0 (eps), not NaN
    assert torch.equal(layer_maps([torch.ones(1, 2, 1, 1)], (3, 3))[0], torch.zeros(1, 3, 3))


def test_mip_ge_fma_before_final_normalisation_only() -> None:
    torch.manual_seed(1)
    feats = [torch.randn(4, 3, 5, 5), torch.randn(4, 6, 3, 3), torch.randn(4, 2, 2, 2)]
    stacked = torch.stack(layer_maps(feats, (8, 8)))
    assert (stacked.amax(0) >= stacked.mean(0)).all()
    # after the final per-sample min-max each map is rescaled by its own range, so the
    # element-wise order can flip: layer maps [[1,0],[0,.5]] and [[0,1],[0,.5]]
    a, b = t([[[[1, 0], [0, 0.5]]]]), t([[[[0, 1], [0, 0.5]]]])
    assert mip([a, b], (2, 2))[0, 1, 1] == pytest.approx(0.5)
    assert fma([a, b], (2, 2))[0, 1, 1] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["fma", "mip", "cam"])
def test_maps_range_no_grad_batch1_constant_input(name: str) -> None:
    model = TinyNet(4).eval()
    with torch.no_grad():
        att = attention(registry.get(name), model, torch.randn(3, 3, 9, 9))
        assert att.map.shape == (3, 9, 9)
        assert att.map.min() >= 0 and att.map.max() <= 1
        assert torch.allclose(att.map.flatten(1).amax(1), torch.ones(3))
        const = attention(registry.get(name), model, torch.full((1, 3, 9, 9), 0.7), size=(5, 6))
    assert const.map.shape == (1, 5, 6)
    assert torch.isfinite(const.map).all() and const.map.min() >= 0 and const.map.max() <= 1


def test_fma_attention_uses_default_layers_and_returns_logits() -> None:
    model = TinyNet(5)
    x = torch.randn(2, 3, 8, 8)
    att = attention(registry.get("fma"), model, x)
    assert isinstance(att, Attention) and len(att.features) == 4
    assert torch.allclose(att.logits, model(x))
    assert torch.allclose(att.map, fma(att.features, (8, 8)))
    assert torch.allclose(attention(registry.get("mip"), model, x, size=(4, 4)).map, mip(att.features, (4, 4)))


def test_minmax_per_sample() -> None:
    m = t([[[1, 3]], [[5, 5]]])
    assert torch.allclose(minmax(m), t([[[0, 1]], [[0, 0]]]))


# ---------------------------------------------------------------- SALS

# z = W x.flatten() for x of shape 1 x 2 x 1 x 3 (C=2, W=3), so d z_c / d x = W[c].
# class 0: c0=[1,-3,.5], c1=[-2,1,1] -> max_c |.| = [2,3,1] -> [.5,1,0]
# class 1: c0=[0,0,4],   c1=[1,-2,0] -> [1,2,4] -> [0,1/3,1]
def linear_model() -> nn.Module:
    lin = nn.Linear(6, 2, bias=True)
    with torch.no_grad():
        lin.weight.copy_(t([[1, -3, 0.5, -2, 1, 1], [0, 0, 4, 1, -2, 0]]))
        lin.bias.copy_(t([0.3, -0.1]))
    return nn.Sequential(nn.Flatten(), lin)


def test_saliency_hand_computed_label_and_predicted() -> None:
    model = linear_model()
    x = t([[[[0, 0, 1]], [[0, 0, 0]]]])  # z = [.8, 3.9] -> predicted class 1
    m, logits = saliency(model, x, torch.tensor([0]))
    assert torch.allclose(m, t([[[0.5, 1.0, 0.0]]]))
    assert torch.allclose(logits, t([[0.8, 3.9]]))
    m_pred, _ = saliency(model, x)
    assert torch.allclose(m_pred, t([[[0.0, 1 / 3, 1.0]]]))
    assert not m.requires_grad and model[1].weight.grad is None


def test_saliency_create_graph_is_differentiable_and_works_under_no_grad() -> None:
    model = linear_model()
    x = torch.randn(2, 2, 1, 3)
    m, logits = saliency(model, x, torch.tensor([0, 1]), create_graph=True)
    assert m.requires_grad and logits.requires_grad
    (g,) = torch.autograd.grad((m * torch.arange(6.0).view(2, 1, 3)).sum(), model[1].weight)
    assert g.abs().sum() > 0
    with torch.no_grad():
        m2, _ = saliency(model, x, torch.tensor([0, 1]))
    assert torch.allclose(m2, m.detach())


def test_saliency_constant_input_batch1_and_resize() -> None:
    model = TinyNet(3).eval()
    m, _ = saliency(model, torch.zeros(1, 3, 8, 8), size=(4, 4))
    assert m.shape == (1, 4, 4) and torch.isfinite(m).all()
    assert m.min() >= 0 and m.max() <= 1


# ---------------------------------------------------------------- AT

# student: one channel of ones -> Q_S = [.5,.5,.5,.5]
# teacher: channels [0,0,1,2] and [0,0,-sqrt5,2]: mean_c A^2 = [0,0,3,4] -> Q_T = [0,0,.6,.8]
# diff = [.5,.5,-.1,-.3]: squares sum .6 -> official .6/4 = .15, paper sqrt(.6)
S1 = torch.ones(1, 1, 2, 2)
T1 = t([[[[0, 0], [1, 2]], [[0, 0], [-math.sqrt(5), 2]]]])


def test_at_map_and_loss_hand_computed() -> None:
    assert torch.allclose(at_map(T1), t([[0, 0, 0.6, 0.8]]), atol=1e-6)
    assert at_loss([S1], [T1]).item() == pytest.approx(0.15, abs=1e-6)
    assert at_loss([S1], [T1], form="paper").item() == pytest.approx(math.sqrt(0.6), abs=1e-6)
    assert at_loss([S1, S1], [T1, T1]).item() == pytest.approx(0.30, abs=1e-6)  # summed


def test_at_pools_the_larger_feature_map() -> None:
    # student 1x1x2x4 pooled to 1x2: blocks [0,2,0,2] and [1,1,1,1] -> [1,1] -> Q=[1,1]/sqrt2
    # (pooling A^2 instead would give [2,1]); teacher [[1,0]] -> Q=[1,0]
    # official: ((1/sqrt2 - 1)^2 + 1/2) / 2 = 1 - 1/sqrt2
    s = t([[[[0, 2, 1, 1], [0, 2, 1, 1]]]])
    tt = t([[[[1, 0]]]])
    expected = 1 - 1 / math.sqrt(2)
    assert at_loss([s], [tt]).item() == pytest.approx(expected, abs=1e-6)
    assert at_loss([tt], [s]).item() == pytest.approx(expected, abs=1e-6)  # either side


def test_at_errors_and_attention() -> None:
    with pytest.raises(EdgekdError, match="equal length"):
        at_loss([S1], [T1, T1])
    with pytest.raises(EdgekdError, match="official"):
        at_loss([S1], [T1], form="squared")
    att = attention(registry.get("at"), TinyNet(4), torch.randn(2, 3, 8, 8))
    assert att.map is None and len(att.features) == 3


# ---------------------------------------------------------------- CAM

# features: ch0 [[1,0],[0,2]], ch1 [[0,1],[3,0]]; weight rows [1,1], [2,-1], [0,0]
# class 1: 2*ch0 - ch1 = [[2,-1],[-3,4]] -> (v+3)/7 ; class 0: [[1,1],[3,2]] -> [[0,0],[1,.5]]
F1 = t([[[[1, 0], [0, 2]], [[0, 1], [3, 0]]]])
W1 = t([[1, 1], [2, -1], [0, 0]])


def test_cam_hand_computed() -> None:
    logits = t([[0.1, 5.0, -1.0]])
    assert torch.allclose(cam_map(F1, W1, (2, 2), logits=logits), t([[[5 / 7, 2 / 7], [0, 1]]]))
    got = cam_map(F1, W1, (2, 2), target=torch.tensor([0]))
    assert torch.allclose(got, t([[[0, 0], [1, 0.5]]]))
    assert torch.allclose(class_activation(F1, W1, torch.tensor([1])), t([[[2, -1], [-3, 4]]]))


def test_cam_matches_logits_through_gap_identity() -> None:
    model = TinyNet(3).eval()
    x = torch.randn(2, 3, 8, 8)
    att = attention(registry.get("cam"), model, x, size=(8, 8))
    target = att.logits.argmax(1)
    raw = class_activation(att.features[0], model.fc.weight, target)
    z = raw.mean(dim=(1, 2)) + model.fc.bias[target]
    assert torch.allclose(z, att.logits.gather(1, target[:, None]).squeeze(1), atol=1e-5)
    assert classifier_of(nn.DataParallel(model)) is model.fc
    bad = TinyNet(3)
    bad.classifier = "stem"
    with pytest.raises(EdgekdError, match="nn.Linear"):
        classifier_of(bad)


def test_cam_resized_to_input_and_in_unit_range() -> None:
    m = attention(registry.get("cam"), TinyNet(4), torch.randn(1, 3, 8, 8)).map.detach()
    assert m.shape == (1, 8, 8) and m.min() == 0 and m.max() == pytest.approx(1.0)
    # resize happens before normalisation: with the peak in the middle of a 3x3 map, no
    # 6x6 sample lands on it, so normalising first would leave the maximum below 1
    feats = t([[[[0, 1, 0], [1, 4, 1], [0, 1, 0]]]])
    up = F.interpolate(feats, size=(6, 6), mode="bilinear", align_corners=False)[:, 0]
    got = cam_map(feats, t([[2.0]]), (6, 6), target=torch.tensor([0]))
    assert torch.allclose(got, minmax(up)) and got.max() == pytest.approx(1.0)
    assert up.max() < 4


# ---------------------------------------------------------------- registry


def test_registry_names_close_match_and_duplicates() -> None:
    assert registry.names() == ["at", "cam", "fma", "mip", "sals"]
    assert registry.get("mip").fn() is mip and registry.get("fma").fn() is fma
    assert registry.get("cam").fn() is cam_map and registry.get("sals").fn() is saliency
    with pytest.raises(EdgekdError, match=r"did you mean fma.*: choose one of at, cam"):
        registry.get("fmaa")
    with pytest.raises(EdgekdError, match="already registered"):
        registry.register(registry.Combiner("fma", "again", "first-last", True, "edgekd.attention.maps:fma"))
    assert registry.get("fma").summary != "again"
    with pytest.raises(EdgekdError, match="layer rule"):
        registry.Combiner("x", "bad rule", "middle", True)
    assert [registry.get(n).exportable for n in ("fma", "mip", "cam", "sals", "at")] == [
        True, True, True, False, False]
    # the flags drive the code: the export heads, explain's map choices, capture or not
    from edgekd.explain.backends import CHECKPOINT_MAPS
    from edgekd.exporters.formats import HEADS

    assert HEADS == ("none", "fma", "mip", "cam")
    assert CHECKPOINT_MAPS == ("fma", "mip", "cam", "sals")
    assert [registry.get(n).needs_capture for n in ("fma", "cam", "sals", "at")] == [True, True, False, True]
    assert attention(registry.get("sals"), TinyNet(3), torch.randn(1, 3, 8, 8)).features == []
    cam = attention(registry.get("cam"), TinyNet(3), torch.randn(1, 3, 8, 8), layers=["stem", "layer1"])
    assert cam.features[0].shape[-1] == 4


def test_one_by_one_layers_are_left_out_of_fma_and_mip():
    """A 1x1 stage has no spatial information; it must not turn the map into rounding noise."""
    from edgekd.attention.maps import fma, mip

    torch.manual_seed(0)
    spatial = torch.rand(2, 3, 4, 4)
    pointwise = torch.rand(2, 5, 1, 1)
    for combine_fn in (fma, mip):
        assert torch.equal(combine_fn([spatial, pointwise], (8, 8)), combine_fn([spatial], (8, 8)))
    assert torch.count_nonzero(fma([pointwise], (8, 8))) == 0
