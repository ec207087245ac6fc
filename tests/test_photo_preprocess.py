"""The one preprocessing of image files: torchvision's convention, stored with the model, the same on every side.

Real JPEGs (real X-rays upscaled to varied sizes and aspect ratios, Pillow-encoded) go
through torchvision's Resize + CenterCrop, through edgekd's training path (folder:PATH ->
tensors) and through the device side (the exported model's metadata -> read_image ->
onnxruntime, classify.py, edgekd bench); the model inputs and answers must agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, needs_shared
from photo_files import photo_folder, save_jpeg, xrays
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.data.spec import preprocess
from edgekd.errors import EdgekdError
from edgekd.images import Preprocess, read_image, resized_size

runner = CliRunner()
pytestmark = needs_shared


@pytest.mark.parametrize("size", [28, 64])
@pytest.mark.parametrize("colour", [False, True])
def test_shorter_crop_is_torchvisions_resize_and_centre_crop(tmp_path, size, colour):
    from PIL import Image
    from torchvision import transforms as T

    images, _ = xrays("test")
    rng = np.random.default_rng(size + colour)
    tv = T.Compose([T.Resize(size), T.CenterCrop(size), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    for k in range(8):
        w, h = (int(v) for v in rng.integers(150, 450, 2))
        path = save_jpeg(images[k], tmp_path / f"{k}.jpg", (w, h), colour)
        mode = "RGB" if colour else "L"
        ours = read_image(path, Preprocess(size, 3 if colour else 1))
        with Image.open(path) as img:
            ref = tv.transforms[1](tv.transforms[0](img.convert(mode)))
            tensor = tv(img.convert("RGB")) if colour else None
        assert ours.shape == (3 if colour else 1, size, size)
        assert np.array_equal(ours, np.asarray(ref).reshape(size, size, -1).transpose(2, 0, 1))  # pixel for pixel
        if colour:  # and the normalised input: torchvision's float32 ops vs numpy's, float32 rounding
            np.testing.assert_allclose(preprocess(ours[None], [0.5] * 3, [0.5] * 3)[0], tensor.numpy(), atol=1e-6)


def test_letterbox_stretch_and_orientation(tmp_path):
    from PIL import Image, ImageOps

    pixels = xrays("test")[0][0]
    wide = save_jpeg(pixels, tmp_path / "wide.jpg", (200, 100))
    box = read_image(wide, Preprocess(32, 1, "letterbox"))[0]
    assert resized_size(200, 100, Preprocess(32, 1, "letterbox")) == (32, 16)
    assert (box[:8] == 0).all() and (box[24:] == 0).all()  # black bars above and below, content centred
    with Image.open(wide) as img:
        assert np.array_equal(box[8:24], np.asarray(img.convert("L").resize((32, 16), Image.BILINEAR)))
        stretched = np.asarray(img.convert("L").resize((32, 32), Image.BILINEAR))
    assert np.array_equal(read_image(wide, Preprocess(32, 1, "stretch"))[0], stretched)
    turned = tmp_path / "turned.jpg"  # a phone photo stored on its side, EXIF orientation 6 (rotate 90)
    with Image.open(wide) as img:
        exif = img.getexif()
        exif[0x0112] = 6
        img.save(turned, exif=exif, quality=95)
    with Image.open(turned) as img:
        upright = ImageOps.exif_transpose(img)
        assert upright.size == (100, 200)
        ref = np.asarray(upright.convert("L").resize((32, 64), Image.BILINEAR))[16:48]
    assert np.array_equal(read_image(turned, Preprocess(32, 1))[0], ref)
    with pytest.raises(EdgekdError, match="unknown --resize 'crop'"):
        Preprocess(32, 1, "crop")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(wide.read_bytes()[:600])
    with pytest.raises(EdgekdError, match="cut.jpg is not a readable image"):
        read_image(truncated, Preprocess(32, 1))


def test_host_and_device_give_the_same_inputs_and_answers_on_a_real_exported_model(tmp_path):
    """Training's inputs (folder:PATH -> tensors) equal the device side's (the ONNX file's
    stored preprocessing -> read_image), so the torch model and the exported one answer
    alike; classify.py on a folder of the JPEGs and edgekd bench on the folder agree with them."""
    import torch

    from edgekd.runtime.registry import create_runner
    from edgekd.training.checkpoint import build_model, load_checkpoint
    from edgekd.training.run import DataOptions, load_run_data

    root = photo_folder(tmp_path / "xrays", {"train": 12, "val": 4, "test": 5}, colour=True)
    run = tmp_path / "run"
    args = ["train", "-m", "cnn-tiny", "-d", f"folder:{root}", "--image-size", "24", "--resize", "shorter-crop",
            "--epochs", "2", "--batch-size", "8", "--device", "cpu", "--quiet", "--out", str(run)]
    assert runner.invoke(app, args).exit_code == 0
    onnx = tmp_path / "m.onnx"
    assert runner.invoke(app, ["export", str(run / "model.pt"), "--attention-head", "none", "--out", str(onnx)]
                         ).exit_code == 0
    content = load_checkpoint(run / "model.pt")
    assert content["data"]["preprocess"] == {"image_size": 24, "channels": 3, "resize": "shorter-crop",
                                             "interpolation": "bilinear", "fill": 0}
    device = create_runner(onnx)
    meta = device.metadata
    assert meta["preprocess"] == content["data"]["preprocess"] and meta["input_size"] == [3, 24, 24]

    data = load_run_data(f"folder:{root}", None, options=DataOptions(image_size=24, resize="shorter-crop"))
    files = data.source.decoded().files["test"]
    pre = Preprocess.from_dict(meta["preprocess"])
    on_device = preprocess(np.stack([read_image(f, pre) for f in files]), meta["mean"], meta["std"])
    assert np.array_equal(data.test.x.numpy(), on_device)  # one function on both sides: the same floats

    with torch.no_grad():
        host = build_model(content)(data.test.x).numpy()
    exported = device.run(on_device)["logits"]
    np.testing.assert_allclose(exported, host, atol=1e-4)  # onnxruntime vs torch float32 kernels
    want = {f.name: content["classes"][int(i)] for f, i in zip(files, host.argmax(1))}

    folder = tmp_path / "new"  # the test JPEGs as a user's folder of new photos, classes unknown
    folder.mkdir()
    for f in files:
        (folder / f"{f.parent.name}-{f.name}").write_bytes(f.read_bytes())
    proc = subprocess.run([sys.executable, str(ROOT / "deploy" / "examples" / "classify.py"), str(onnx), str(folder)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith(str(folder))]
    got = {Path(line.split(": ")[0]).name.split("-", 1)[1]: line.split(": ")[1] for line in lines}
    assert got == want

    report = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", str(onnx), "--dataset", f"folder:{root}", "--iters", "3", "--warmup", "1",
                                 "--no-peak", "--json", str(report)])
    assert result.exit_code == 0, result.output
    row = json.loads(report.read_text())["rows"][0]
    labels = data.test.y.numpy()
    assert row["accuracy"] == pytest.approx(float((host.argmax(1) == labels).mean()))
