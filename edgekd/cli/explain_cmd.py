"""``edgekd explain`` and ``edgekd attention-agreement``: why a model decided, and whether students agree.

Thin wrappers over :mod:`edgekd.explain.run` and :mod:`edgekd.explain.study`; imports
happen inside the commands, and ``explain`` on an exported model never imports torch.
Register with ``app.command("explain")(explain)`` and
``app.command("attention-agreement")(attention_agreement)``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.api import AgreementSpec
from edgekd.cli.common import DataDir, handle_errors
from edgekd.model_files import CHECKPOINT_SUFFIXES, FORMATS, suffix_list

EXPORT_SUFFIXES = tuple(s for f in FORMATS.values() if f.attention_head for s in f.suffixes)


@handle_errors
def explain(
    model: Path = typer.Argument(..., help=f"Checkpoint ({suffix_list(CHECKPOINT_SUFFIXES)}), or exported model "
                                 f"({suffix_list(EXPORT_SUFFIXES)}) with an attention head."),
    inputs: list[str] = typer.Argument(..., help="Image files (.png, .jpg) and/or data set names (edgekd datasets)."),
    map_name: str | None = typer.Option(None, "--map", help="fma | mip | cam | sals (checkpoint) or head "
                                           "(exported model). Default: head for an export, fma for a checkpoint."),
    out: Path = typer.Option(Path("explain"), "--out", "-o", help="Folder for the overlay PNGs and explain.json."),
    split: str = typer.Option("test", help="Split of a data set input."),
    n: int = typer.Option(8, "--n", "-n", help="Images per data set input, spread over classes."),
    data_dir: DataDir = None,
    runtime: str = typer.Option("auto", "--runtime", "-r", help="Runtime for an exported model (edgekd bench --help)."),
    layers: str | None = typer.Option(None, "--layers", help="Checkpoint only: comma-separated module names."),
    resize: bool = typer.Option(False, "--resize", help="Resize and convert (grey / colour) image files that do not "
                                "fit the model's input; without it they are refused. Each conversion is reported."),
) -> None:
    """Overlay the attention map on each image, with the predicted class and its probability."""
    from edgekd.explain.run import explain as run_explain

    picked = [v.strip() for v in layers.split(",") if v.strip()] if layers else None
    result = run_explain(model, inputs, map_name, out, split, n, data_dir, runtime, picked, resize=resize)
    for rec in result["images"]:
        true = f" (true {rec['true_class']})" if rec["true_class"] is not None else ""
        c = rec.get("converted")
        converted = "" if not c else f" [{c}]" if c.startswith("stored preprocessing") else f" [--resize: {c}]"
        typer.echo(f"{rec['file']}: {rec['predicted_class']} p={rec['probability']:.3f}{true}{converted}")
    for warning in result.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{result['n']} overlays of {result['map_label']} in {out}; details in {out / 'explain.json'}")


def attention_agreement(spec: AgreementSpec) -> None:
    """Print the faithfulness and agreement figures (edgekd.api.attention_agreement)."""
    from edgekd.api import attention_agreement as run
    from edgekd.explain.faithfulness import format_interval

    r = run(spec)
    typer.echo(f"{r['dataset']} {r['split']} (n = {r['n']}), fill {r['fill']}: ins−del of p(predicted class), "
               "map − random [95 % interval]; higher = more faithful")
    for rec in (r["teacher"], *r["students"]):
        cells = [f"{name} {m['ins_del']['mean']:+.3f} ({format_interval(m['vs']['random'])})"
                 for name, m in rec["maps"].items()]
        typer.echo(f"{rec['label']}: accuracy {rec['accuracy']:.4f}; " + "; ".join(cells))
        for name, g in (rec.get("agreement") or {}).items():
            typer.echo(f"  {name} r - r_shuffled with the teacher: {format_interval(g['gain'])}")
    typer.echo(f"written: {spec.out / 'agreement.json'}, {spec.out / 'faithfulness.png'}, {spec.out / 'curves.png'}")
