"""``edgekd qat RUN``: quantisation-aware distillation of a trained student, then its int8 export.

One format per run: onnxruntime rounds weights to a 7-bit grid (``reduce_range``), LiteRT to an
8-bit one, and a checkpoint trained and stored on one grid is rounded again by the other (on
BreastMNIST that alone flipped 3 of 156 test decisions in TFLite, none when trained for TFLite's
own grid), so ``--format`` picks the grid and the file; run it once per target format.

Why a step after ``distill`` rather than a ``distill --qat`` flag: distillation is the long
run (hundreds of epochs) and quantisation-aware fine-tuning a short one (a few epochs at a
tenth of the learning rate) that a user repeats per int8 scheme or when a gate refuses; as
its own command it starts from any finished run (``train`` or ``distill``), leaves that run
untouched, and writes a new run folder whose ``model.pt`` every other command reads.

What it does:

1. loads the run's ``model.pt`` and folds BatchNorm into the convolutions
   (:mod:`edgekd.quant.fold`), as the exporters do before they quantize;
2. wraps it in fake quantisation for the target int8 scheme (:mod:`edgekd.quant.fake`):
   weights on the target format's int8 grid (ONNX: 7-bit, as onnxruntime's ``reduce_range``
   makes it; TFLite: 8-bit), activations at the exporters' calibrated ranges;
3. fine-tunes it for ``epochs`` with the distillation loss against the run's teacher
   (``(1 - alpha) CE + alpha T^2 KL``, the run's alpha and T; a run trained without a
   teacher distils from its own float model), SGD with a cosine schedule from ``lr`` (default
   5e-4, a hundredth of training's: without BatchNorm to renormalise them, the folded weights
   diverged at 5e-3 on PneumoniaMNIST and MNIST), gradients clipped to norm 5, the activation
   ranges recomputed on the calibration images after every epoch; the epoch (0 = no
   fine-tuning) whose fake-quantized model is most accurate on validation is kept, ties going
   to the one whose decisions agree most with its float self (what the parity gate measures);
4. writes ``model.pt`` with the weights *on their int8 grid*, so the float model computes
   with exactly the weights the int8 file holds and the parity gate measures only what
   activation rounding changes; ``metrics.json`` records every epoch;
5. exports the int8 artifact (:func:`edgekd.exporters.exporter.export`, the usual parity gate
   against this ``model.pt``); a refusal is reported with its figures.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from edgekd.errors import EdgekdError
from edgekd.int8_schemes import INT8_SCHEMES, get_scheme


@dataclass
class QatConfig:
    epochs: int = 3
    lr: float = 0.0005
    batch_size: int = 128
    weight_decay: float = 5e-4
    scheme: str = "int8"
    format: str = "onnx"
    calib_samples: int = 256
    alpha: float | None = None  # default: the run's own (0.9 for a run trained without a teacher)
    temperature: float | None = None
    seed: int = 0
    threads: int | None = None
    head: str = "none"


def weight_bits(cfg: QatConfig) -> int:
    """7 for an ONNX target (onnxruntime's 7-bit grid), 8 for TFLite."""
    return 7 if cfg.format == "onnx" else 8


def load_teacher_of(content: dict[str, Any], student: torch.nn.Module, teacher: Path | None, info: Any
                    ) -> tuple[torch.nn.Module, str]:
    """The KD target: ``teacher``, else the run's recorded teacher, else the float student itself."""
    from edgekd.distillation.teachers import load_teacher

    record = (content.get("distill") or {}).get("teacher") or {}
    paths = [teacher] if teacher else [Path(p) for p in str(record.get("checkpoint") or "").split(",") if p]
    if not paths:
        frozen = copy.deepcopy(student).eval()
        return frozen, "the run's own float model (it was trained without a teacher)"
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise EdgekdError(f"the run's teacher {missing[0]} is not there: pass --teacher PATH (the teacher's model.pt)")
    loaded = load_teacher(paths, info)
    if not teacher and record.get("sha256") and loaded.record["sha256"] != record["sha256"]:
        raise EdgekdError(f"teacher {paths[0]} is not the checkpoint the run was distilled from (sha256 differs): "
                          "pass --teacher PATH")
    return loaded.model.eval(), f"{loaded.record['model']} ({', '.join(map(str, paths))})"


def qat(run: Path, out: Path, cfg: QatConfig, teacher: Path | None = None, data_dir: str | None = None,
        force: bool = False, console: Any = None) -> dict[str, Any]:
    """Fine-tune ``run``'s model.pt with fake quantisation, write ``out``, export int8 (module doc)."""
    from edgekd.fileio import atomic_write_json, removed_if_left_empty
    from edgekd.training.checkpoint import load_checkpoint, save_model

    source = run / "model.pt" if run.is_dir() else run
    content = load_checkpoint(source)
    if cfg.scheme not in INT8_SCHEMES:
        raise EdgekdError(f"--scheme {cfg.scheme} is not an int8 scheme: choose one of {', '.join(INT8_SCHEMES)}")
    allowed = [f for f in get_scheme(cfg.scheme).formats if f != "tensorrt"]
    if cfg.format not in allowed:
        raise EdgekdError(f"--scheme {cfg.scheme} cannot be exported to {cfg.format}: choose --format "
                          f"{' or '.join(allowed)}")
    if cfg.epochs < 0 or cfg.lr <= 0:
        raise EdgekdError("--epochs must be >= 0 and --lr positive")
    if (out / "model.pt").exists() and not force:
        raise EdgekdError(f"{out}/model.pt already exists: pass --force to overwrite it, or choose another --out")
    with removed_if_left_empty(out):
        result = _fine_tune(content, source, cfg, teacher, data_dir, console)
        out.mkdir(parents=True, exist_ok=True)
        save_model(out / "model.pt", result.pop("state"))
        atomic_write_json(out / "metrics.json", result)
    result["exports"] = export_int8(out / "model.pt", cfg, data_dir, console)
    atomic_write_json(out / "metrics.json", result)
    return result


def _fine_tune(content: dict[str, Any], source: Path, cfg: QatConfig, teacher: Path | None, data_dir: str | None,
               console: Any) -> dict[str, Any]:
    from edgekd.exporters.data import calibration_images
    from edgekd.losses.kd import kd_loss
    from edgekd.progress import progress_bar
    from edgekd.quant.fake import FakeQuant
    from edgekd.quant.fold import fold_batchnorm, freeze_batchnorm
    from edgekd.training.checkpoint import artifact_metadata, build_model
    from edgekd.training.evaluate import evaluate
    from edgekd.training.run import load_run_data, seed_everything
    from edgekd.training.threads import apply_threads

    if cfg.threads:
        apply_threads(cfg.threads)
    seed_everything(cfg.seed, deterministic=False)
    meta = artifact_metadata(content)
    config = content.get("config") or {}
    data = load_run_data(content["data"]["name"], data_dir, False, config.get("label_fraction", 1.0),
                         config.get("seed", 0))
    model = build_model(content).float()
    before = {"val": evaluate(model, data.val), "test": evaluate(model, data.test)}
    target, teacher_name = load_teacher_of(content, model, teacher, data.info)
    method = content.get("distill") or {}
    alpha = cfg.alpha if cfg.alpha is not None else float(method.get("alpha") or 0.9)
    temperature = cfg.temperature if cfg.temperature is not None else float(method.get("temperature") or 4.0)
    bns = fold_batchnorm(model)
    sim = FakeQuant(model, get_scheme(cfg.scheme), tuple(meta["input_size"]), weight_bits(cfg))
    calib = torch.from_numpy(calibration_images(meta["dataset"], cfg.calib_samples, meta, data_dir))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    steps = max(1, math.ceil(len(data.train) / cfg.batch_size) * cfg.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    history, best, best_state = [], None, None
    gen = torch.Generator().manual_seed(cfg.seed)
    n_batches = math.ceil(len(data.train) / cfg.batch_size)
    with progress_bar("batch", disable=console is None) as bar:
        task = bar.add_task("qat", total=n_batches * cfg.epochs, status="")
        for epoch in range(cfg.epochs + 1):
            if epoch:
                model.train()
                freeze_batchnorm(bns)
                order = torch.randperm(len(data.train), generator=gen)
                for start in range(0, len(order), cfg.batch_size):
                    idx = order[start:start + cfg.batch_size]
                    x, y = data.train.x[idx], data.train.y[idx]
                    with torch.no_grad():
                        soft = target(x)
                    logits = model(x)
                    loss = (1 - alpha) * F.cross_entropy(logits, y) + alpha * kd_loss(logits, soft, temperature)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 5.0)
                    opt.step()
                    sched.step()
                    bar.update(task, advance=1, status=f"epoch {epoch}/{cfg.epochs} loss {float(loss.detach()):.4f}")
            sim.calibrate(calib)  # the ranges the exporters will compute for these weights
            val = evaluate(model, data.val)
            val["agreement"] = agreement(model, sim, data.val.x)
            history.append({"epoch": epoch, "val_fake_quant": val})
            if best is None or (val["accuracy"], val["agreement"]) > (best["accuracy"], best["agreement"]):
                best, best_state = {**val, "epoch": epoch}, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    sim.calibrate(calib)
    test_fq = evaluate(model, data.test)
    sim.remove(snap=True)
    after = {"val": evaluate(model, data.val), "test": evaluate(model, data.test), "test_fake_quant": test_fq}
    qat_record = {**asdict(cfg),
                  "weight_bits": weight_bits(cfg), "alpha": alpha, "temperature": temperature,
                  "teacher": teacher_name, "source": str(source), "source_sha256": content.get("sha256"),
                  "selected_epoch": best["epoch"]}
    state = {**{k: v for k, v in content.items() if k not in ("format", "sha256")},
             "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()}, "kind": "qat",
             "config": {**config, "qat": qat_record},
             "best": {"epoch": best["epoch"], "val": after["val"]}}
    return {"qat": qat_record, "before": before, "after": after, "history": history, "state": state}


@torch.no_grad()
def agreement(model: torch.nn.Module, sim: Any, x: torch.Tensor) -> float:
    """Share of ``x`` on which the fake-quantized model and its float self (grid weights, float
    activations) predict the same class."""
    was = model.training
    model.eval()
    quantized = model(x).argmax(1)
    with sim.float_activations():
        exact = model(x).argmax(1)
    model.train(was)
    return float((quantized == exact).float().mean())


def export_int8(checkpoint: Path, cfg: QatConfig, data_dir: str | None, console: Any) -> dict[str, Any]:
    """Each format's int8 export of ``checkpoint`` through the parity gate: its parity figures, or
    the refusal (its record path and the one-line reason)."""
    from edgekd.exporters.exporter import ExportOptions, export, refused_path
    from edgekd.exporters.formats import get_format

    results = {}
    for fmt in (cfg.format,):
        out = checkpoint.with_name(f"model-{cfg.scheme}{get_format(fmt).suffix}")
        opts = ExportOptions(format=fmt, head=cfg.head, quantize=cfg.scheme, calib_samples=cfg.calib_samples,
                             out=out, force=True, data_dir=data_dir)
        try:
            res = export(checkpoint, opts, console=console)
            results[fmt] = {"status": "ok", "path": str(res.path), **_parity(res.parity)}
        except EdgekdError as exc:
            record = refused_path(out)
            refused = record.is_file()
            results[fmt] = {"status": "refused" if refused else "failed", "reason": str(exc).split(";")[0]}
            if refused:
                import json

                results[fmt].update({"record": str(record), **_parity(json.loads(record.read_text()))})
    return results


def _parity(rep: dict[str, Any] | None) -> dict[str, Any]:
    keys = ("top1_agreement", "accuracy_torch", "accuracy_artifact", "flips", "max_abs_logits", "passed")
    return {k: rep.get(k) for k in keys} if rep else {}

