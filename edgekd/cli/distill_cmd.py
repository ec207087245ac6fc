"""``edgekd distill``: train a small student from a trained teacher checkpoint."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli import train_options as opt
from edgekd.cli.common import DataDir, Download, handle_errors
from edgekd.cli.config_file import ConfigOption, save_run_config


def _layers(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def resolved_options(out: Path, dataset: str, threads: int) -> dict:
    """The option values the run settled on where the command line left a default open:
    the data set (the teacher's), the thread count, the method's alpha and beta, the
    number of cached views and the number of epochs."""
    import json

    metrics = json.loads((out / "metrics.json").read_text())
    method, config = metrics["distill"], metrics["config"]
    return {"dataset": dataset, "threads": threads, "alpha": method["alpha"], "beta": method["beta"],
            "cache_views": config.get("views"), "epochs": config["epochs"]}


@handle_errors
def distill(
    ctx: typer.Context,
    teacher: list[Path] = typer.Option(..., "--teacher", "-t", help="Teacher checkpoint (model.pt from edgekd train "
                                       "or import-teacher). Repeat it for an ensemble teacher: mean of the members' "
                                       "logits and of their attention maps (not with --method at)."),
    student: str = typer.Option("cnn-small", "--student", "-s", help="Student model name (edgekd models)."),
    method: str = typer.Option("mip", help="none | kd | at | fma | mip | sals | cam: the attention term, added to KD. "
                               "Default mip (MIP + KD): the study's best method on validation in 6 of 12 groups "
                               "and the only one to beat KD by its interval (PneumoniaMNIST cnn-small; "
                               "benchmarks/study.md). cam matches the map the student exports (its CAM head)."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Data set (default: the teacher's own)."),
    data_dir: DataDir = None,
    download: Download = False,
    alpha: float | None = typer.Option(None, help="KD weight: L = (1-alpha) CE + alpha T^2 KL(teacher || student, "
                                          "both softened by T) + beta L_att (METHOD.md). torchdistill's KDLoss is "
                                          "the other way round: its alpha weighs CE and its beta (default 1-alpha) "
                                          "KD, so edgekd's --alpha 0.9 is torchdistill's alpha 0.1. Default 0.9, 0 "
                                          "for none; --alpha 0 trains the attention term alone."),
    temperature: float = typer.Option(4.0, help="KD temperature T."),
    beta: float | None = typer.Option(None, help="Attention-loss weight (default 10 for at, 1 for fma/mip/sals/cam, "
                                         "chosen by benchmarks/sweep.py; AT's official code uses 1000)."),
    att_loss: str = typer.Option("mse", "--att-loss", help="mse | bce | dice | centred between student and teacher "
                                  "maps; centred compares only the image-specific parts (each map minus the batch's "
                                  "mean map)."),
    att_size: int | None = typer.Option(None, "--att-size", help="Common map size (default: input size)."),
    teacher_layers: str | None = typer.Option(None, "--teacher-layers", help="Comma-separated module names."),
    student_layers: str | None = typer.Option(None, "--student-layers", help="Comma-separated module names."),
    at_form: str = typer.Option("official", "--at-form", help="AT loss: official (squared) or paper (L2 norm)."),
    teacher_cache: Path | None = typer.Option(None, "--teacher-cache", help="Folder of reusable teacher outputs "
                                                 "(logits and maps), built on first use and shared by later students "
                                                 "with the same data, teacher and augmentation (policy, seed, views)."),
    cache_views: int | None = typer.Option(None, "--cache-views", help="K augmented views per training image: the "
                                           "cache stores the teacher's outputs for each, and each epoch the student "
                                           "trains on one of them (every view once per K epochs). Default 8 with "
                                           "--teacher-cache and augmentation, 1 with --no-augment; without "
                                           "--teacher-cache the live teacher sees the same K views."),
    epochs: str = typer.Option("auto", help="Training epochs, or auto: by the training set's size, 300 up to "
                               "1,000 images, 100 up to 10,000 and 30 above (the lengths benchmarks/schedules.md picked on "
                               "validation; edgekd/train/schedule.py). The number used is saved in config.toml."),
    batch_size: opt.BatchSize = 128,
    lr: opt.Lr = 0.05,
    optimizer: opt.Optimizer = "sgd",
    schedule: opt.Schedule = "cosine",
    weight_decay: opt.WeightDecay = 5e-4,
    augment: opt.Augment = True,
    flip: opt.Flip = False,
    rotate: opt.Rotate = 0.0,
    seed: opt.Seed = 0,
    device: opt.Device = "auto",
    select: opt.Select = "auto",
    label_fraction: opt.LabelFraction = 1.0,
    image_size: opt.ImageSize = None,
    resize: opt.Resize = None,
    skip_bad: opt.SkipBad = False,
    model_arg: opt.ModelArg = None,
    out: Path = typer.Option(Path("runs/distill"), "--out", "-o", help="Run folder."),
    resume: opt.Resume = False,
    force: opt.Force = False,
    compile: opt.Compile = False,
    deterministic: opt.Deterministic = True,
    threads: opt.Threads = "auto",
    quiet: opt.Quiet = False,
    config: ConfigOption = None,
) -> None:
    """Distill a student from a frozen teacher: CE, Hinton KD, AT, or attention-guided (FMA / MIP / SALS)."""
    from edgekd.cli.train_cmd import print_result
    from edgekd.distill.run import DistillConfig
    from edgekd.distill.run import distill as run_distill
    from edgekd.train.checkpoint import load_checkpoint
    from edgekd.train.supervised import parse_model_args

    dataset = dataset or load_checkpoint(teacher[0])["data"]["name"]
    from edgekd.train.schedule import parse_epochs

    cfg = opt.train_config(parse_epochs(epochs), batch_size, lr, optimizer, schedule, weight_decay, augment, seed, device, select,
                       label_fraction, compile, deterministic, threads, flip=flip, rotate=rotate, views=cache_views)
    dcfg = DistillConfig(method, alpha, temperature, beta, att_loss, att_size, _layers(teacher_layers),
                         _layers(student_layers), at_form, parse_model_args(model_arg))
    result = run_distill(teacher, student, dataset, out, cfg, dcfg, data_dir and str(data_dir), teacher_cache,
                         resume, force, download, quiet, data_options=opt.data_options(image_size, resize, skip_bad))
    if result:
        save_run_config(ctx, out, {**resolved_options(out, dataset, cfg.threads), **opt.resolved_data(out)})
        print_result(f"{student} ({method}) on {dataset}", result)
        t = result["teacher"]["test"]
        shown = f"test accuracy {t['accuracy']:.4f}" if t is not None else "no test split"
        typer.echo(f"teacher {result['teacher']['model']}: {shown}; attention figure: {out}/attention.png")
        for member in result["teacher"].get("members", []):
            m = member["test"]
            typer.echo(f"  member {member['model']} ({member['checkpoint']}, sha256 {member['sha256'][:12]}): "
                       + (f"test accuracy {m['accuracy']:.4f}" if m is not None else "no test split"))
