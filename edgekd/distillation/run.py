"""``distill``: train a student from a frozen teacher checkpoint with any method.

Everything ``train`` does (progress, resume, validation selection, metrics, curves,
checkpoint) plus: the checkpoint records the method, its hyper-parameters and the
teacher (name, checkpoint hash, validation and test metrics; an ensemble teacher of
several checkpoints also each member's, see ``teachers.py``); an optional teacher cache
(with augmentation, of K seeded views per image: ``--cache-views``, default
:data:`~edgekd.distillation.cache.DEFAULT_VIEWS`; the resolved K is saved in the run's config);
and an attention figure (teacher vs student maps on validation images) at the end.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from edgekd import __version__
from edgekd.attention.stages import all_one_by_one
from edgekd.distillation.cache import DEFAULT_VIEWS, TeacherCache, data_fingerprint
from edgekd.distillation.config import DistillConfig
from edgekd.distillation.distiller import Distiller
from edgekd.distillation.figures import attention_grid
from edgekd.distillation.spec import DistillSpec
from edgekd.distillation.teachers import add_test_metrics, load_teacher
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_json, removed_if_left_empty
from edgekd.models.registry import create_model
from edgekd.models.stats import count_macs, count_params
from edgekd.models.unwrap import unwrap
from edgekd.training import distributed as dist
from edgekd.training.checkpoint import build_model, load_checkpoint
from edgekd.training.cost import check_cost, estimate_cost, say_cost
from edgekd.training.loop import TrainConfig, amp_dtype, config_dict, fit, resolve_device
from edgekd.training.run import (
    DataOptions,
    RunData,
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
from edgekd.training.supervised import run_record


def check_precision(distiller: Distiller, dtype: torch.dtype | None) -> None:
    """Refuse a method whose loss takes a gradient inside it (SALS's double backprop) under
    float16 autocast: GradScaler scales the final loss only, so the inner input gradient is
    not loss-scaled and can underflow to zero. bfloat16 (its float32 range) and float32 run."""
    if distiller.use_att and distiller.impl.double_backprop and dtype == torch.float16:
        raise EdgekdError(f"--method {distiller.method} takes an input gradient inside the loss, which float16 autocast "
                          "does not loss-scale: use a GPU with bfloat16 (Ampere or newer) or --device cpu")


def constant_map_notes(distiller: Distiller, input_shape: tuple[int, ...]) -> list[str]:
    """One warning per model whose captured layers are all 1 x 1 at ``input_shape``: its map
    is all zeros (1 x 1 stages are left out of FMA / MIP) or constant (AT), so the attention
    loss gives no training signal."""
    notes = []
    if not distiller.use_att:
        return notes
    for who, model, layers in (("teacher", distiller.teacher, distiller.teacher_layers),
                               ("student", unwrap(distiller.student), distiller.student_layers)):
        if model is not None and layers and all_one_by_one(model, layers, input_shape):
            notes.append(f"every captured {who} layer {layers} is 1x1 at {input_shape[-2]}x{input_shape[-1]} inputs: "
                         f"its map is constant and the attention loss gives no signal; pass --{who}-layers with "
                         "larger stages")
    return notes


def distill(teacher_path: Path | Sequence[Path], student_name: str, dataset: str, out: Path, cfg: TrainConfig,
            dcfg: DistillConfig, data_dir: str | None = None, teacher_cache: Path | None = None,
            resume: bool = False, force: bool = False, download: bool = False, quiet: bool = False,
            figure_images: int = 8, data_options: DataOptions | None = None) -> dict:
    """Run a distillation; returns {"best_epoch", "val", "test", "params", "macs", "teacher", "out"}.
    ``teacher_path``: one checkpoint, or several for an ensemble teacher (``edgekd/distillation/teachers.py``).
    ``data_options``: how a folder set is read; by default as the (first) teacher was trained.
    Every refusal comes before the run folder is touched (:mod:`edgekd.training.out_dir`)."""
    with removed_if_left_empty(out):  # a failure leaves no empty run folder behind
        return _distill(teacher_path, student_name, dataset, out, cfg, dcfg, data_dir, teacher_cache, resume, force,
                        download, quiet, figure_images, data_options)


def teacher_data_options(teacher_path: Path | Sequence[Path], dataset: str, given: DataOptions | None) -> DataOptions:
    """``given`` with the image size and resize policy the first teacher was trained with filled in
    (a folder set of the teacher's is then read exactly as the teacher saw it)."""
    given = given or DataOptions()
    first = Path(teacher_path if isinstance(teacher_path, (str, Path)) else teacher_path[0])
    pre = load_checkpoint(first)["data"].get("preprocess") if dataset.startswith("folder:") else None
    if not pre:
        return given
    return given.replace(image_size=given.image_size or pre["image_size"], resize=given.resize or pre["resize"])


def _distill(teacher_path: Path | Sequence[Path], student_name: str, dataset: str, out: Path, cfg: TrainConfig,
             dcfg: DistillConfig, data_dir: str | None, teacher_cache: Path | None, resume: bool, force: bool,
             download: bool, quiet: bool, figure_images: int, data_options: DataOptions | None) -> dict:
    if teacher_cache is not None and cfg.augment and cfg.cache_views is None:
        cfg = cfg.replace(cache_views=DEFAULT_VIEWS)  # a cache holds a fixed number of views; a live teacher sees fresh ones
    cfg.check()
    cfg = cfg.with_threads()
    device = dist.local_device(resolve_device(cfg.device))
    ctx = dist.init_from_env(device)
    if ctx.is_main:
        check_out_dir(out, resume, force)  # cheap refusals first; the folder is touched only by run_folder
    source = open_source(dataset, teacher_data_options(teacher_path, dataset, data_options), quiet)
    info = source.info
    loaded = load_teacher(teacher_path, info)
    configure_torch(cfg)
    try:
        student = create_model(student_name, info.channels, info.num_classes, **dcfg.model_kwargs)
    except ValueError as exc:  # e.g. --model-arg width=0
        raise EdgekdError(f"bad arguments for model '{student_name}': {exc}") from None
    params, macs = count_params(student), count_macs(student, info.input_shape)
    cost = None
    if ctx.is_main:  # before any image is decoded: a run that cannot fit is refused at once
        live = None if teacher_cache is not None else loaded.model.to(device)
        cost = check_cost(estimate_cost(info, train_count(info, cfg.label_fraction), cfg.batch_size, student, live,
                                        device=device, probe=not quiet), info)
    data = load_run_data(dataset, data_dir, download, cfg.label_fraction, cfg.seed, source=source)
    cfg = cfg.with_data(len(data.train))
    if isinstance(cfg, DataOptions):  # a whole spec: record the size and policy a folder set was read at
        cfg = cfg.settled(data.info.preprocess)  # --epochs auto: by the training set's size
    cfg.check_data(dataset)
    with run_folder(out, resume, force) if ctx.is_main else contextlib.nullcontext():
        dist.barrier()
        return _run(loaded, student, student_name, data, cfg, dcfg, out, device, ctx, teacher_cache, params, macs,
                    resume, quiet, figure_images, cost)


def _run(loaded, student, student_name: str, data: RunData, cfg: TrainConfig, dcfg: DistillConfig, out: Path,
         device, ctx, teacher_cache: Path | None, params: int, macs: int, resume: bool, quiet: bool,
         figure_images: int, cost=None) -> dict:
    dist.pin(data.train, device)
    teacher = loaded.model.to(device)
    student = student.to(device)
    wrapped = dist.wrap(student, device, cfg.compile)
    distiller = Distiller(teacher, wrapped, dcfg.method, dcfg.alpha, dcfg.temperature, dcfg.beta, dcfg.att_loss,
                          dcfg.att_size, dcfg.teacher_layers or None, dcfg.student_layers or None, dcfg.at_form,
                          dcfg.logit_standardize, cfg.label_smoothing)
    check_precision(distiller, amp_dtype(device))
    if isinstance(cfg, DistillSpec):  # a whole distill spec: record the values the Distiller chose
        cfg = cfg.replace(dataset=cfg.dataset or data.info.name, alpha=distiller.alpha, beta=distiller.beta)
    if ctx.is_main and not quiet:
        for note in constant_map_notes(distiller, data.info.input_shape):
            sys.stderr.write(f"warning: {note}\n")
    add_test_metrics(loaded, data.val, data.test, device)
    teacher_record = loaded.record
    cache = None
    if teacher_cache is not None:
        identity = {"dataset": data.info.name, "train_sha256": data_fingerprint(data.train),
                    "mean": list(data.info.mean), "std": list(data.info.std), "teacher_sha256": teacher_record["sha256"]}
        if data.info.fingerprint:  # a folder:PATH set: its files, labels and layout (not only the tensors)
            identity["data_fingerprint"] = data.info.fingerprint
        cache = TeacherCache.open_or_build(Path(teacher_cache), distiller, data.train, identity, cfg.make_views(),
                                           quiet=quiet or not ctx.is_main)
    method_record = {"method": distiller.method, "alpha": distiller.alpha, "temperature": distiller.temperature,
                     "beta": distiller.beta, "att_loss": distiller.att_loss, "att_size": dcfg.att_size,
                     "teacher_layers": distiller.teacher_layers, "student_layers": distiller.student_layers,
                     "at_form": distiller.at_form, "logit_standardize": dcfg.logit_standardize,
                     "teacher_cache": str(teacher_cache) if teacher_cache else None,
                     "teacher": teacher_record}
    content = {"kind": "distill", "model": {"name": student_name, "kwargs": dcfg.model_kwargs},
               "data": data.info.to_dict(), "config": config_dict(cfg), "params": params, "macs": macs,
               "distill": method_record, "edgekd_version": __version__, "spec": run_record(cfg)}

    def step(x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, view: np.ndarray):
        return distiller.forward_train(x, y, cache.lookup(idx, view) if cache else None)

    if ctx.is_main:
        announce_data(data)
        say_cost(cost, out, quiet)
        write_split_files(out, data)
    fit(wrapped, step, data.train, data.val, cfg, out, content, resume=resume, quiet=quiet)
    if not ctx.is_main:
        return {}
    result = finish(out, data, device, cfg)
    result["teacher"] = teacher_record
    atomic_write_json(out / "test.json", result)
    if figure_images:
        write_attention_figure(out, distiller, data, figure_images, device)
    return {**result, "params": params, "macs": macs, "out": str(out), "resolved": cfg, "n_train": len(data.train),
            "num_classes": data.info.num_classes}


def write_attention_figure(out: Path, distiller: Distiller, data: RunData, n: int, device: torch.device) -> None:
    """attention.png: N validation images (spread over classes), teacher vs best student maps."""
    best = build_model(load_checkpoint(out / "model.pt")).to(device)
    order = np.argsort(data.val.y.numpy(), kind="stable")
    pick = order[np.linspace(0, len(order) - 1, min(n, len(order))).astype(int)]
    x, y = data.val.x[pick].to(device), data.val.y[pick].to(device)
    kind = distiller.impl.figure_kind  # the method's own map, FMA for methods without one
    t_layers, s_layers = distiller.impl.figure_layers()
    figure = Distiller(distiller.teacher, best, kind, att_size=distiller.att_size, teacher_layers=t_layers,
                       student_layers=s_layers)
    t_maps = figure.teacher_targets(x, y)["map"].float().cpu().numpy()
    s_maps = figure.student_map(x, y).float().cpu().numpy()
    with torch.no_grad():
        preds = best(x).argmax(1).cpu().numpy()
    info = data.info
    mean, std = np.array(info.mean).reshape(1, -1, 1, 1), np.array(info.std).reshape(1, -1, 1, 1)
    images = np.clip((data.val.x[pick].numpy() * std + mean) * 255, 0, 255).astype(np.uint8)
    attention_grid(images, t_maps, s_maps, y.cpu().numpy(), preds, list(info.class_names), out / "attention.png",
                   title=f"{kind.upper()} maps: teacher vs student ({distiller.method} distillation)")
