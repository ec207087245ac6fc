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


def _shown(test: dict | None) -> str:
    return f"test accuracy {test['accuracy']:.4f}" if test is not None else "no test split"
