"""Supervised training from scratch with cross-entropy (how teachers, and baseline students, are made)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
import torch.nn.functional as F

from edgekd import __version__
from edgekd.errors import EdgekdError
from edgekd.fileio import removed_if_left_empty
from edgekd.models.registry import create_model
from edgekd.models.stats import count_macs, count_params
from edgekd.training import distributed as dist
from edgekd.training.cost import check_cost, estimate_cost, say_cost
from edgekd.training.loop import TrainConfig, config_dict, fit, resolve_device
from edgekd.training.run import (
    DataOptions,
    announce_data,
    check_out_dir,
    configure_torch,
    finish,
    load_run_data,
    open_source,
    run_folder,
    train_count,
    write_split_files,
)


def train_supervised(model_name: str, dataset: str, out: Path, cfg: TrainConfig, data_dir: str | None = None,
                     model_kwargs: dict | None = None, resume: bool = False, force: bool = False,
                     download: bool = False, quiet: bool = False, data_options: DataOptions | None = None) -> dict:
    """Train ``model_name`` on ``dataset``; returns {"best_epoch", "val", "test", "params", "macs", "out"}
    ("test" None for a set without a test split). Every refusal (data, model, memory) comes before
    the run folder is touched (:mod:`edgekd.training.out_dir`)."""
    with removed_if_left_empty(out):  # a failure leaves no empty run folder behind
        return _train(model_name, dataset, out, cfg, data_dir, model_kwargs, resume, force, download, quiet,
                      data_options)


def _train(model_name: str, dataset: str, out: Path, cfg: TrainConfig, data_dir: str | None, model_kwargs: dict | None,
           resume: bool, force: bool, download: bool, quiet: bool, data_options: DataOptions | None) -> dict:
    cfg.check()
    cfg = cfg.with_threads()
    device = dist.local_device(resolve_device(cfg.device))
    ctx = dist.init_from_env(device)
    if ctx.is_main:
        check_out_dir(out, resume, force)  # cheap refusals first; the folder is touched only by run_folder
    configure_torch(cfg)
    source = open_source(dataset, data_options, quiet)
    info = source.info
    try:
        model = create_model(model_name, info.channels, info.num_classes, **(model_kwargs or {}))
    except ValueError as exc:  # e.g. --model-arg width=0
        raise EdgekdError(f"bad arguments for model '{model_name}': {exc}") from None
    params, macs = count_params(model), count_macs(model, info.input_shape)
    cost = None
    if ctx.is_main:  # before any image is decoded: a run that cannot fit is refused at once
        cost = check_cost(estimate_cost(info, train_count(info, cfg.label_fraction), cfg.batch_size, model,
                                        device=device, probe=not quiet), info)
    data = load_run_data(dataset, data_dir, download, cfg.label_fraction, cfg.seed, source=source)
    cfg = cfg.with_data(len(data.train))
    if isinstance(cfg, DataOptions):  # a whole spec: record the size and policy a folder set was read at
        cfg = cfg.settled(data.info.preprocess)
    cfg.check_data(dataset)
    with run_folder(out, resume, force) if ctx.is_main else contextlib.nullcontext():
        dist.barrier()
        return _fit(model, model_name, model_kwargs, data, cfg, out, device, ctx, params, macs, resume, quiet,
                    cost)


def _fit(model, model_name: str, model_kwargs: dict | None, data, cfg: TrainConfig, out: Path, device, ctx,
         params: int, macs: int, resume: bool, quiet: bool, cost=None) -> dict:
    dist.pin(data.train, device)
    model = model.to(device)
    content = {"kind": "train", "model": {"name": model_name, "kwargs": model_kwargs or {}},
               "data": data.info.to_dict(), "config": config_dict(cfg), "params": params, "macs": macs,
               "edgekd_version": __version__, "spec": run_record(cfg)}
    trained = dist.wrap(model, device, cfg.compile)

    def step(x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, view):
        logits = trained(x)
        return logits, {"ce": F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)}

    if ctx.is_main:
        announce_data(data)
        say_cost(cost, out, quiet)
        write_split_files(out, data)
    fit(trained, step, data.train, data.val, cfg, out, content, resume=resume, quiet=quiet)
    result = finish(out, data, device, cfg) if ctx.is_main else {}
    return {**result, "params": params, "macs": macs, "out": str(out), "resolved": cfg}


def run_record(cfg: TrainConfig) -> dict | None:
    """What a run records of the command that made it: the resolved spec's values under its
    command's name (None for a bare TrainConfig from Python code)."""
    return {"command": cfg.command, "options": cfg.record()} if cfg.command else None
