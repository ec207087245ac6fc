"""The model registry: every model runs forward and backward at 28 px grey and 32 px RGB."""

from __future__ import annotations

import pytest
import torch

from edgekd.errors import EdgekdError
from edgekd.models.registry import create_model, model_entries, register_model
from edgekd.models.stats import count_macs, count_params

NAMES = [e.name for e in model_entries()] + ["tv:resnet18", "tv:mobilenet_v3_small"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_forward_backward_and_stages(name, shape):
    torch.manual_seed(0)
    model = create_model(name, shape[0], 7)
    x = torch.randn(2, *shape, requires_grad=False)
    out = model(x)
    assert out.shape == (2, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    for stage in model.stages:
        model.get_submodule(stage)
    assert isinstance(model.get_submodule(model.classifier), torch.nn.Linear)


def test_students_are_small_next_to_teachers():
    tiny = create_model("cnn-tiny", 1, 2)
    small = create_model("cnn-small", 1, 2)
    teacher = create_model("resnet20", 1, 2)
    assert 1_000 < count_params(tiny) < 10_000 < count_params(small) < 100_000
    assert count_params(tiny) <= 0.05 * count_params(teacher)
    assert count_macs(teacher, (1, 28, 28)) > 20 * count_macs(tiny, (1, 28, 28))


def test_macs_of_a_single_conv_by_hand():
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(4 * 25, 3))
    assert count_macs(conv, (1, 5, 5)) == 4 * 25 * 9 + 100 * 3


def test_unknown_model_lists_names_and_close_match():
    with pytest.raises(EdgekdError, match="did you mean resnet20"):
        create_model("resnet200", 1, 2)
    with pytest.raises(EdgekdError, match="bad arguments"):
        create_model("cnn", 1, 2, colour="red")
    with pytest.raises(EdgekdError, match="already registered"):
        register_model("cnn-tiny", "student", "again")(lambda **kw: None)
    with pytest.raises(EdgekdError, match="role"):
        register_model("cnn-x", "assistant", "bad role")(lambda **kw: None)


def test_models_package_has_no_import_cycle():
    """The families import the entry table, never the registry that imports them."""
    import ast
    from pathlib import Path

    import edgekd.models.zoo as zoo

    for path in Path(zoo.__path__[0]).glob("*.py"):
        imported = {n.module for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)}
        assert "edgekd.models.registry" not in imported, path.name
