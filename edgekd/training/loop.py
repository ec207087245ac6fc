"""The one training loop used by ``train`` (cross-entropy) and ``distill`` (any method).

The loop never special-cases a method: a ``step_fn(x, y, idx)`` returns the logits and
a dict of already-weighted loss terms; the loop sums them, logs each one per step and
per epoch, validates, keeps the best model on the validation split, and writes
``last.pt`` (for ``--resume``), ``model.pt`` (best), ``metrics.json``, ``steps.jsonl``
and ``curves.png`` atomically after every epoch. Epoch order comes from a generator
seeded by (seed, epoch) and each image's augmentation from (seed, image, view)
(``edgekd/training/augment.py``), so a resumed run repeats an uninterrupted one. The step
also gets the view index of every image (what a K-view teacher cache is indexed by).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_json, atomic_write_text
from edgekd.models.unwrap import unwrap
from edgekd.progress import progress_bar
from edgekd.training import distributed as dist
from edgekd.training.batches import TensorSplit, batches, epoch_order
from edgekd.training.checkpoint import load_checkpoint, save_checkpoint, save_model
from edgekd.training.config import TrainConfig
from edgekd.training.evaluate import (
    evaluate,
    resolve_device,  # noqa: F401  (imported from here by the run code)
)
from edgekd.training.plots import plot_curves

# step_fn(x, y, idx, view): augmented images, labels, training positions, view indices (int64 numpy)
StepFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray], tuple[torch.Tensor, dict[str, torch.Tensor]]]


def make_optimizer(params, cfg: TrainConfig):
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay, nesterov=True)
    else:
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    else:
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(cfg.epochs * 0.5), int(cfg.epochs * 0.75)], 0.1)
    return opt, sched


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype training uses on ``device``: bfloat16 on a GPU that has it, float16
    (with loss scaling) on older GPUs, None (float32) on the CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _autocast(device: torch.device):
    dtype = amp_dtype(device)
    if dtype is None:
        return contextlib.nullcontext(), None
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


def fit(model: torch.nn.Module, step_fn: StepFn, train: TensorSplit, val: TensorSplit, cfg: TrainConfig,
        out_dir: Path, content: dict, resume: bool = False, quiet: bool = False) -> dict:
    """Train ``model`` with ``step_fn``; returns the final metrics dict (also in metrics.json).

    ``content`` is the checkpoint's static part (model spec, data info, config, method);
    the loop adds weights, optimizer, scheduler, epoch and history.
    """
    device = next(model.parameters()).device
    ctx = dist.context()
    opt, sched = make_optimizer(model.parameters(), cfg)
    history: list[dict] = []
    steps: list[dict] = []
    start_epoch, best = 1, {"epoch": 0, "score": -math.inf}
    last_path, best_path = out_dir / "last.pt", out_dir / "model.pt"
    if resume and last_path.exists():
        history, steps, best, start_epoch = restore(load_checkpoint(last_path), content, model, opt, sched, last_path)
    autocast, scaler = _autocast(device)
    views = cfg.make_views()
    # the global batch is cfg.batch_size: each of the world's ranks takes its share
    local_batch = max(1, cfg.batch_size // ctx.world)
    n_batches = -(-len(epoch_order(len(train), cfg.seed, 0, ctx.rank, ctx.world)) // local_batch)
    content = {**content, "world": dist.shard_summary(epoch_order(len(train), cfg.seed, start_epoch, ctx.rank, ctx.world))}
    bar = progress_bar("batch", disable=quiet or not ctx.is_main)
    with bar:
        task = bar.add_task("train", total=(cfg.epochs - start_epoch + 1) * n_batches, status="")
        for epoch in range(start_epoch, cfg.epochs + 1):
            t0 = time.perf_counter()
            model.train()
            sums: dict[str, float] = {}
            correct = seen = 0
            for idx in batches(epoch_order(len(train), cfg.seed, epoch, ctx.rank, ctx.world), local_batch):
                x, view = views.batch(train.x[idx], idx, epoch)
                x, y = x.to(device, non_blocking=True), train.y[idx].to(device, non_blocking=True)
                with autocast:
                    logits, terms = step_fn(x, y, idx, view)
                loss = sum(terms.values())
                step = len(steps) + 1
                if not torch.isfinite(loss):
                    bad = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in terms.items())
                    raise EdgekdError(f"loss became {float(loss.detach())} at epoch {epoch}, step {step} ({bad}); "
                                      f"the last good checkpoint is {last_path}: lower --lr and rerun with --resume")
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    opt.step()
                values = {k: float(v.detach()) for k, v in terms.items()}
                steps.append({"epoch": epoch, "step": step, "loss": float(loss.detach()), **values})
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v * len(idx)
                correct += int((logits.detach().argmax(1) == y).sum())
                seen += len(idx)
                bar.update(task, advance=1, status=f"epoch {epoch}/{cfg.epochs} loss {steps[-1]['loss']:.4f}")
            sched.step()
            terms_mean = dist.mean_dict({k: v / seen for k, v in sums.items()})
            train_acc = dist.mean_dict({"acc": correct / seen})["acc"]
            val_metrics = evaluate(unwrap(model), val, device=device)
            record = {"epoch": epoch, "train_loss": sum(terms_mean.values()), "terms": terms_mean,
                      "train_accuracy": train_acc, "val": val_metrics, "lr": opt.param_groups[0]["lr"],
                      "time_s": time.perf_counter() - t0}
            history.append(record)
            score = val_metrics[cfg.selection_metric(content["data"]["num_classes"])]
            improved = score > best["score"]
            if improved:
                best = {"epoch": epoch, "score": score, "val": val_metrics}
            if ctx.is_main:
                state = {**content, "state_dict": unwrap(model).state_dict(), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict(), "epoch": epoch, "history": history, "steps": steps,
                         "best": best}
                if improved:
                    save_model(best_path, state)
                save_checkpoint(last_path, state)
                write_metrics(out_dir, content, history, steps, best)
            bar.update(task, status=f"epoch {epoch}: val acc {val_metrics['accuracy']:.4f} (best {best['score']:.4f})")
    dist.barrier()
    return {"history": history, "best": best}


def restore(state: dict, content: dict, model: torch.nn.Module, opt, sched, path: Path) -> tuple:
    """Load last.pt into model, optimizer and scheduler; a one-line error when it belongs to another run."""
    config, was = content.get("config") or {}, state.get("config") or {}
    pairs = {"model": (state["model"], content["model"]), "data set": (state["data"]["name"], content["data"]["name"]),
             "optimizer": (was.get("optimizer"), config.get("optimizer")),
             "schedule": (was.get("schedule"), config.get("schedule")),
             "method": ((state.get("distill") or {}).get("method"), (content.get("distill") or {}).get("method"))}
    shown = {k: [v.get("name") if isinstance(v, dict) else v for v in pair] for k, pair in pairs.items()}
    changed = [f"{k} {shown[k][0]} -> {shown[k][1]}" for k, (a, b) in pairs.items() if a != b]
    if changed:
        raise EdgekdError(f"{path} belongs to another run ({'; '.join(changed)}); resume with the options it was "
                          f"started with, or use --force to start over")
    try:
        unwrap(model).load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        return state["history"], state.get("steps", []), state["best"], state["epoch"] + 1
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise EdgekdError(f"{path} cannot be resumed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
                          f"use --force to start over") from None


def write_metrics(out_dir: Path, content: dict, history: list[dict], steps: list[dict], best: dict) -> None:
    summary = {"world": content.get("world"), "config": content.get("config"), "model": content.get("model"),
               "data": content.get("data", {}).get("name"),
               "params": content.get("params"), "macs": content.get("macs"), "distill": content.get("distill"),
               "spec": content.get("spec"),
               "best": best, "epochs": history}
    atomic_write_json(out_dir / "metrics.json", summary)
    atomic_write_text(out_dir / "steps.jsonl", "".join(json.dumps(s) + "\n" for s in steps))
    plot_curves(history, out_dir / "curves.png", title=f"{content['model']['name']} on {content['data']['name']}")


def config_dict(cfg: TrainConfig) -> dict:
    """The training options of a run, as checkpoints and metrics.json record them."""
    return cfg.recipe()
