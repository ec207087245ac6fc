"""The host side of the attention head (edgekd/runtime/attention.py): the numpy resize and
normalisation a device uses to draw a CAM head's class maps must give PyTorch's map.

Tolerance: both sides compute in float32 (the numpy resize in float64); the bilinear
weights are summed in a different order, so a few float32 ulps of a [0, 1] map (1e-6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from edgekd.attention.cam import cam_map, class_maps
from edgekd.errors import EdgekdError
from edgekd.runtime.attention import attention_map, output_kind, resize

TOL = 1e-6


@pytest.mark.parametrize("src, dst", [((4, 4), (28, 28)), ((7, 5), (32, 30)), ((8, 8), (3, 5)), ((1, 1), (6, 6))])
def test_resize_matches_torch_bilinear(src, dst):
    maps = torch.randn(3, *src, generator=torch.Generator().manual_seed(1))
    want = F.interpolate(maps[:, None], size=dst, mode="bilinear", align_corners=False)[:, 0].numpy()
    assert np.abs(resize(maps.numpy(), dst) - want).max() <= TOL * max(1.0, np.abs(want).max())


def test_drawn_class_maps_equal_pytorch_cam():
    gen = torch.Generator().manual_seed(0)
    features, weight = torch.randn(5, 16, 4, 4, generator=gen), torch.randn(3, 16, generator=gen)
    logits = torch.randn(5, 3, generator=gen)
    raw = class_maps(features, weight)
    assert raw.shape == (5, 3, 4, 4)
    meta = {"attention_output": "class-maps", "input_size": [1, 28, 28]}
    drawn = attention_map({"logits": logits.numpy(), "attention": raw.numpy()}, meta)
    want = cam_map(features, weight, (28, 28), logits=logits).numpy()
    assert drawn.shape == (5, 28, 28) and drawn.dtype == np.float32
    assert np.abs(drawn - want).max() <= TOL
    # the class drawn is the predicted one: another target gives another map
    other = cam_map(features, weight, (28, 28), target=(logits.argmax(1) + 1) % 3).numpy()
    assert np.abs(drawn - other).max() > 0.1


def test_plain_maps_pass_through_and_bad_metadata_is_refused():
    att = np.random.default_rng(0).random((2, 1, 8, 8), dtype=np.float32)
    assert output_kind({}) == "map"
    np.testing.assert_array_equal(attention_map({"logits": np.zeros((2, 3)), "attention": att}, {}), att[:, 0])
    with pytest.raises(EdgekdError, match="attention_output"):
        output_kind({"attention_output": "heatmap"})
    with pytest.raises(EdgekdError, match="does not match the logits"):
        attention_map({"logits": np.zeros((2, 3)), "attention": att}, {"attention_output": "class-maps",
                                                                       "input_size": [1, 8, 8]})
