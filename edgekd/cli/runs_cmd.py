"""``edgekd train``, ``distill``, ``eval`` and ``calibrate``: what the runs of :mod:`edgekd.api.runs`
return, printed. Training from scratch (teachers and baseline students), a student distilled from
a trained teacher; a checkpoint's figures on a split, side by side at 0.5 and at its operating
point; and a new operating point for a checkpoint."""

from __future__ import annotations

import typer

from edgekd.api import CalibrateSpec, DistillSpec, EvalSpec, RunResult, TrainSpec


def train(spec: TrainSpec) -> None:
    from edgekd.api import train as run

    result = run(spec)
    if result is not None:
        print_result(f"{spec.model} on {spec.dataset}", result)


def print_result(title: str, result: RunResult) -> None:
    """The selected checkpoint's test figures; without a test split, validation's, named as such."""
    test = result.test if result.test is not None else result.val
    what = "test" if result.test is not None else "validation (no test split)"
    auc = f", AUC {test['auc']:.4f}" if test.get("auc") == test.get("auc") and test.get("auc") is not None else ""
    typer.echo(f"{title}: {what} accuracy {test['accuracy']:.4f}{auc} (best epoch {result.best_epoch}, "
               f"{result.params:,} params, {result.macs / 1e6:.2f}M MACs) -> {result.checkpoint}")


def distill(spec: DistillSpec) -> None:
    from edgekd.api import distill as run

    result = run(spec)
    if result is None:
        return
    resolved = result.spec
    print_result(f"{resolved.student} ({resolved.method}) on {resolved.dataset}", result)
    teacher = result.teacher or {}
    typer.echo(f"teacher {teacher.get('model')}: {_shown(teacher.get('test'))}; attention figure: "
               f"{result.out}/attention.png")
    for member in teacher.get("members", []):
        typer.echo(f"  member {member['model']} ({member['checkpoint']}, sha256 {member['sha256'][:12]}): "
                   f"{_shown(member.get('test'))}")
    if result.baseline:
        print_baseline(result.baseline)


def print_baseline(report: dict) -> None:
    """The student alone beside the distilled one, the gap recovery, and the teacher warning."""
    metric = report["metric"]
    for split in ("val", "test"):
        r = report[split]
        if r["alone"] is None:
            continue
        gap = f"{100 * r['gap_recovery']:.0f} %" if r["gap_recovery"] is not None else "not defined"
        typer.echo(f"{split}: {metric} teacher {r['teacher']:.4f}, student alone {r['alone']:.4f}, distilled "
                   f"{r['distilled']:.4f}; gap recovery {gap}" if r["teacher"] is not None else
                   f"{split}: {metric} student alone {r['alone']:.4f}, distilled {r['distilled']:.4f}")
    typer.echo(f"student alone (same recipe): {report['alone_run']}")
    if report["warning"]:
        typer.echo(f"warning: {report['warning']}", err=True)


def _shown(test: dict | None) -> str:
    return f"test accuracy {test['accuracy']:.4f}" if test is not None else "no test split"


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


def evaluate(spec: EvalSpec) -> None:
    from edgekd.api import evaluate as run
    from edgekd.fileio import atomic_write_json

    result = run(spec)
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
