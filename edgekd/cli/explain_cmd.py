"""``edgekd explain``, ``edgekd attention-agreement`` and ``edgekd report``: why a model decided,
whether students agree, and one self-contained HTML page of a run (offline in any browser).

Printing only: the work is :func:`edgekd.api.explain`, :func:`edgekd.api.attention_agreement` and
:func:`edgekd.api.report`; ``explain`` on an exported model never imports torch.
"""

from __future__ import annotations

import typer

from edgekd.api import AgreementSpec, ExplainSpec, ReportSpec


def explain(spec: ExplainSpec) -> None:
    """Print one line per image and where the overlays are (edgekd.api.explain)."""
    from edgekd.api import explain as run

    result = run(spec)
    for rec in result["images"]:
        true = f" (true {rec['true_class']})" if rec["true_class"] is not None else ""
        c = rec.get("converted")
        converted = "" if not c else f" [{c}]" if c.startswith("stored preprocessing") else f" [--resize: {c}]"
        typer.echo(f"{rec['file']}: {rec['predicted_class']} p={rec['probability']:.3f}{true}{converted}")
    for warning in result.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{result['n']} overlays of {result['map_label']} in {spec.out}; details in {spec.out / 'explain.json'}")


def attention_agreement(spec: AgreementSpec) -> None:
    """Print the faithfulness and agreement figures (edgekd.api.attention_agreement)."""
    from edgekd.api import attention_agreement as run
    from edgekd.api.printing import format_interval

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


def report(spec: ReportSpec) -> None:
    """Print where the page is and its size (edgekd.api.report)."""
    from edgekd.api import report as run

    path = run(spec)
    typer.echo(f"report: {path} ({path.stat().st_size / 1e3:.0f} kB, self-contained)")
