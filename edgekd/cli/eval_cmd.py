"""``edgekd eval`` and ``edgekd calibrate``: a checkpoint's figures on a split, side by side at
0.5 and at its operating point; and a new operating point for a checkpoint."""

from __future__ import annotations

import typer

from edgekd.api import CalibrateSpec, EvalSpec


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def decision_lines(d: dict) -> list[str]:
    """A decision rule's figures (edgekd.decision.ValidationFigures as a dict) as text lines."""
    lines = [f"  accuracy at 0.5 {_pct(d['accuracy_at_half'])} %; at the operating point {_pct(d['accuracy'])} %, "
             f"balanced {_pct(d['balanced_accuracy'])} %"
             + (f", sensitivity {_pct(d['sensitivity'])} %, specificity {_pct(d['specificity'])} %"
                if d.get("sensitivity") is not None else ""),
             f"  ECE {d['ece_before']:.3f} -> {d['ece_after']:.3f}, NLL {d['nll_before']:.3f} -> {d['nll_after']:.3f} "
             "(before -> after calibration)",
             "  confusion (rows true, columns decided): " + "; ".join(" ".join(str(c) for c in row)
                                                                      for row in d["confusion"])]
    return lines


def run(spec: EvalSpec) -> None:
    from edgekd.api import evaluate
    from edgekd.fileio import atomic_write_json

    result = evaluate(spec)
    m = result.metrics
    auc = f"  AUC {m['auc']:.4f}" if m["auc"] == m["auc"] else ""
    typer.echo(f"{m['dataset']} {spec.split} (n={m['n']}): accuracy {m['accuracy']:.4f}{auc}")
    d = m["decision"]
    if d is None:
        typer.echo(f"  no decision rule in this checkpoint: edgekd calibrate {spec.checkpoint} adds one")
    else:
        threshold = f", threshold {d['threshold']:.3f}" if d["threshold"] is not None else ""
        typer.echo(f"  decision: operating point {d['rule']}, temperature {d['temperature']:.3f}{threshold}")
        for line in decision_lines(d):
            typer.echo(line)
        typer.echo(f"  reliability diagram: {result.reliability}")
    if spec.json:
        atomic_write_json(spec.json, m)


def calibrate(spec: CalibrateSpec) -> None:
    from edgekd.api import calibrate as run_calibrate

    rule = run_calibrate(spec)
    threshold = f", threshold {rule.threshold:.3f}" if rule.threshold is not None else ""
    typer.echo(f"{spec.checkpoint}: operating point {rule.rule}, temperature {rule.temperature:.3f}{threshold} "
               f"(validation, n = {rule.validation.n})")
    for line in decision_lines(rule.validation.to_dict()):
        typer.echo(line)
