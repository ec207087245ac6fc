"""GPU check: training / distillation throughput per method, teacher-cache speed-up, and
PyTorch vs onnxruntime inference latency, on whatever GPU this runs on (target: < 8 min on an H100).

Run through ``benchmarks/gpu_check/gpu_check.sh``. Data: PneumoniaMNIST when ``data/medmnist/pneumoniamnist.npz``
(a git-ignored folder of this repository) or ``$EDGEKD_DATA`` holds it, else scikit-learn's digits.
Writes ``benchmarks/gpu_check/gpu_check.json`` and ``.md`` with the GPU named. ``--device cpu --epochs 1``
runs the same code on a CPU (used to check the script itself).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
METHODS = ["none", "kd", "at", "fma", "mip", "sals"]


def epoch_rate(run: Path, n_train: int) -> float:
    """Images per second over the epochs after the first (which includes warm-up / compilation)."""
    epochs = json.loads((run / "metrics.json").read_text())["epochs"]
    times = [e["time_s"] for e in (epochs[1:] or epochs)]
    return n_train / statistics.median(times)


def latency_ms(fn, batch: np.ndarray, iters: int, sync) -> float:
    for _ in range(10):
        fn(batch)
    sync()
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn(batch)
        sync()
        samples.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(samples))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "gpu_check")
    args = parser.parse_args()
    if (HERE.parents[1] / "data" / "medmnist" / "pneumoniamnist.npz").exists():
        os.environ.setdefault("EDGEKD_DATA", str(HERE.parents[1] / "data"))
    from edgekd.data.registry import get_source
    from edgekd.data.spec import default_data_dir
    from edgekd.distillation.run import DistillConfig, distill
    from edgekd.training.checkpoint import load_model
    from edgekd.training.loop import TrainConfig
    from edgekd.training.run import load_run_data
    from edgekd.training.supervised import train_supervised

    dataset = "pneumoniamnist" if get_source("pneumoniamnist").present(default_data_dir()) else "digits"
    n_train = len(load_run_data(dataset, None).train)
    work = Path(tempfile.mkdtemp(prefix="edgekd_gpu_"))
    cfg = dict(epochs=args.epochs, batch_size=256, lr=0.1, device=args.device, seed=0)
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "none (CPU run)"
    result = {"gpu": gpu, "torch": torch.__version__, "dataset": dataset, "n_train": n_train, "epochs": args.epochs,
              "train_img_s": {}, "distill_img_s": {}}
    train_supervised("resnet20", dataset, work / "teacher", TrainConfig(**cfg), quiet=True)
    result["train_img_s"]["resnet20"] = epoch_rate(work / "teacher", n_train)
    teacher = work / "teacher" / "model.pt"
    for method in METHODS:
        run = work / f"distill_{method}"
        alpha = 0.5 if method != "none" else None
        distill(teacher, "cnn-small", dataset, run, TrainConfig(**cfg),
                DistillConfig(method=method, alpha=alpha if method != "kd" else None), quiet=True, figure_images=0)
        result["distill_img_s"][method] = epoch_rate(run, n_train)
    for label, cache in (("live", None), ("cached", work / "cache")):
        run = work / f"cache_{label}"
        distill(teacher, "cnn-small", dataset, run, TrainConfig(**{**cfg, "augment": False}),
                DistillConfig(method="fma", alpha=0.5), teacher_cache=cache, quiet=True, figure_images=0)
        result[f"fma_{label}_img_s"] = epoch_rate(run, n_train)
    result["cache_speedup"] = result["fma_cached_img_s"] / result["fma_live_img_s"]
    result["inference_ms"] = inference(work / "distill_fma" / "model.pt", args.device, load_model)
    write(result, args.out)


def inference(checkpoint: Path, device: str, load_model) -> dict:
    import onnxruntime as ort

    model, meta = load_model(checkpoint)
    model = model.to(device)
    onnx_path = checkpoint.with_suffix(".onnx")
    sample = torch.zeros(1, *meta["input_size"], device=device)
    torch.onnx.export(model, (sample,), str(onnx_path), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}}, dynamo=False)
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
    session = ort.InferenceSession(str(onnx_path), providers=providers)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    out = {"onnxruntime_provider": session.get_providers()[0]}
    for batch in (1, 256):
        x = np.random.default_rng(0).standard_normal((batch, *meta["input_size"])).astype(np.float32)
        xt = torch.from_numpy(x).to(device)
        with torch.no_grad():
            out[f"torch_b{batch}"] = latency_ms(lambda b: model(b), xt, 100, sync)
        out[f"onnxruntime_b{batch}"] = latency_ms(lambda b: session.run(None, {"input": b}), x, 100, lambda: None)
    return out


def write(result: dict, out: Path) -> None:
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# GPU check: {result['gpu']}", "", f"torch {result['torch']}, data set {result['dataset']} "
             f"({result['n_train']} training images), {result['epochs']} epochs, batch 256.", "",
             "| what | img/s |", "|---|---|", f"| train resnet20 (CE) | {result['train_img_s']['resnet20']:.0f} |"]
    lines += [f"| distill cnn-small, {m} | {v:.0f} |" for m, v in result["distill_img_s"].items()]
    lines += [f"| fma, live teacher (no augmentation) | {result['fma_live_img_s']:.0f} |",
              f"| fma, cached teacher | {result['fma_cached_img_s']:.0f} |", "",
              f"Teacher-cache speed-up: {result['cache_speedup']:.2f}x", "", "| inference (cnn-small) | ms |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in result["inference_ms"].items()]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
