"""import-teacher: a torchvision architecture + a plain state dict trained elsewhere -> a teacher."""

from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.distillation.run import DistillConfig, distill
from edgekd.training.checkpoint import build_model, load_checkpoint
from edgekd.training.evaluate import predict_logits
from edgekd.training.loop import TrainConfig
from edgekd.training.run import load_run_data
from edgekd.training.supervised import train_supervised
from tests.conftest import assert_one_line_error

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A torchvision resnet18 trained "elsewhere": 1 real epoch (AdamW) on digits through edgekd's
    tv: wrapper (test accuracy ~0.7), then saved as the plain torchvision state dict a user
    would bring (no ``net.`` prefix, no edgekd metadata). ~10 s on one thread (11M parameters)."""
    root = tmp_path_factory.mktemp("outside")
    train_supervised("tv:resnet18", "digits", root / "run",
                     TrainConfig(epochs=1, batch_size=64, lr=1e-3, optimizer="adamw", seed=0, augment=False),
                     quiet=True)
    content = load_checkpoint(root / "run" / "model.pt")
    torch.save({k[len("net."):]: v for k, v in content["state_dict"].items()}, root / "resnet18_digits.pth")
    return root


def test_imported_teacher_is_the_same_model_and_distills(outside, tmp_path):
    weights = outside / "resnet18_digits.pth"
    res = invoke("import-teacher", "--arch", "resnet18", "--weights", weights, "--dataset", "digits",
                 "--out", tmp_path / "teacher.pt")
    assert res.exit_code == 0, res.output
    ckpt = load_checkpoint(tmp_path / "teacher.pt")
    assert ckpt["model"]["name"] == "tv:resnet18" and ckpt["kind"] == "import"
    assert ckpt["config"]["imported_from"]["weights"] == str(weights)
    original = load_checkpoint(outside / "run" / "model.pt")
    data = load_run_data("digits", None)
    # the same weights in the same architecture: bit-identical logits and the same metrics
    a = predict_logits(build_model(ckpt), data.test)
    b = predict_logits(build_model(original), data.test)
    assert (a == b).all()
    test = ckpt["best"]["test"]
    assert test["accuracy"] == pytest.approx(float((b.argmax(1) == data.test.y.numpy()).mean()), abs=1e-12)
    assert f"test accuracy {test['accuracy']:.4f}" in res.output and ckpt["checkpoint_sha256"][:12] in res.output
    # refuses to overwrite what the user has, without --force
    before = (tmp_path / "teacher.pt").read_bytes()
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", weights, "-d", "digits",
                                 "-o", tmp_path / "teacher.pt"), "exists", "--force")
    assert (tmp_path / "teacher.pt").read_bytes() == before
    # a wrapped checkpoint ({"state_dict": ...} with DDP's module. prefix) imports the same weights
    wrapped = {"state_dict": {f"module.{k}": v for k, v in torch.load(weights, weights_only=True).items()},
               "epoch": 2}
    torch.save(wrapped, tmp_path / "wrapped.pth")
    assert invoke("import-teacher", "-a", "tv:resnet18", "-w", tmp_path / "wrapped.pth", "-d", "digits",
                  "-o", tmp_path / "wrapped.pt").exit_code == 0
    c = load_checkpoint(tmp_path / "wrapped.pt")["state_dict"]
    assert all(torch.equal(c[k], ckpt["state_dict"][k]) for k in ckpt["state_dict"])
    # it teaches: distill reads it like any teacher (here through the teacher cache, so the
    # 11M-parameter teacher runs once) and records its test metrics
    result = distill(tmp_path / "teacher.pt", "cnn-tiny", "digits", tmp_path / "student",
                     TrainConfig(epochs=3, batch_size=32, lr=0.1, seed=0, augment=False),
                     DistillConfig(method="fma"), teacher_cache=tmp_path / "cache", quiet=True, figure_images=0)
    assert result["teacher"]["model"] == "tv:resnet18" and result["teacher"]["test"] == test
    assert result["teacher"]["sha256"] == ckpt["checkpoint_sha256"]
    assert result["test"]["accuracy"] > 0.3  # chance is 0.1


def _save(obj, path):
    torch.save(obj, path)
    return path


def test_import_errors_are_one_line(tmp_path):
    imagenet = _save(tvm.resnet18(weights=None).state_dict(), tmp_path / "imagenet.pth")  # 3 x 224, 1000 classes
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", imagenet, "-d", "digits",
                                 "-o", tmp_path / "t.pt"), "state dict's fc has 1000 outputs but digits has 10 classes")
    rgb = _save(tvm.resnet18(weights=None, num_classes=10).state_dict(), tmp_path / "rgb.pth")
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", rgb, "-d", "digits",
                                 "-o", tmp_path / "t.pt"), "conv1 takes 3-channel inputs but digits has 1 channel")
    gray = tvm.resnet18(weights=None, num_classes=10)
    gray.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    state = gray.state_dict()
    del state["layer2.0.bn1.running_var"]
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", _save(state, tmp_path / "miss.pth"),
                                 "-d", "digits", "-o", tmp_path / "t.pt"), "lacks 'layer2.0.bn1.running_var'")
    state = gray.state_dict()
    state["layer3.1.conv2.weight"] = torch.zeros(256, 256, 1, 1)
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", _save(state, tmp_path / "shape.pth"),
                                 "-d", "digits", "-o", tmp_path / "t.pt"),
                          "'layer3.1.conv2.weight' has shape [256, 256, 1, 1] but torchvision resnet18 expects "
                          "[256, 256, 3, 3]")
    r34 = tvm.resnet34(weights=None, num_classes=10)
    r34.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", _save(r34.state_dict(), tmp_path / "34.pth"),
                                 "-d", "digits", "-o", tmp_path / "t.pt"), "'layer1.2.conv1.weight'", "resnet18 lacks")
    code = _save(torch.nn.Linear(2, 2), tmp_path / "code.pth")  # a whole pickled module: code, never unpickled
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", code, "-d", "digits",
                                 "-o", tmp_path / "t.pt"), "refused")
    assert_one_line_error(invoke("import-teacher", "-a", "resnet19", "-w", rgb, "-d", "digits",
                                 "-o", tmp_path / "t.pt"), "unknown torchvision classifier 'resnet19'")
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", rgb, "-d", "digits", "--classes", "a,b",
                                 "-o", tmp_path / "t.pt"), "not both")
    assert_one_line_error(invoke("import-teacher", "-a", "resnet18", "-w", rgb, "--classes", "a,b",
                                 "-o", tmp_path / "t.pt"), "--mean is missing")
    assert not (tmp_path / "t.pt").exists()


def test_explicit_metadata_and_a_teacher_for_other_normalisation(tmp_path):
    gray = tvm.resnet18(weights=None, num_classes=3)
    gray.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    weights = _save(gray.state_dict(), tmp_path / "gray.pth")
    res = invoke("import-teacher", "-a", "resnet18", "-w", weights, "--classes", "cat,dog,bird", "--mean", "0.5",
                 "--std", "0.25", "--size", 28, "-o", tmp_path / "t.pt")
    assert res.exit_code == 0 and "not evaluated" in res.output, res.output
    ckpt = load_checkpoint(tmp_path / "t.pt")
    assert ckpt["classes"] == ["cat", "dog", "bird"] and ckpt["input_size"] == [1, 28, 28]
    assert ckpt["mean"] == [0.5] and ckpt["std"] == [0.25] and ckpt["best"]["test"] is None
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(build_model(ckpt)(x), gray.eval()(x))
    # a teacher expecting other normalisation is refused (it would see wrongly scaled images)
    res = invoke("import-teacher", "-a", "resnet18", "-w", _save(tvm.resnet18(weights=None, num_classes=10).state_dict()
                 | {"conv1.weight": torch.zeros(64, 1, 7, 7)}, tmp_path / "d.pth"),
                 "--classes", ",".join("0123456789"), "--mean", "0.1", "--std", "0.2", "--size", 8,
                 "-o", tmp_path / "d.pt")
    assert res.exit_code == 0, res.output
    assert_one_line_error(invoke("distill", "-t", tmp_path / "d.pt", "-d", "digits", "--epochs", 1, "--no-augment",
                                 "-o", tmp_path / "s"), "expects inputs normalised with mean [0.1]", "digits uses")
