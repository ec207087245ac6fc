"""``edgekd distill``: train a small student from a trained teacher checkpoint."""

from __future__ import annotations

import typer

from edgekd.api import DistillSpec
from edgekd.cli.train_cmd import print_result


def run(spec: DistillSpec) -> None:
    from edgekd.api import distill

    result = distill(spec)
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
