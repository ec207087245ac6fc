"""``edgekd eval``: accuracy (and AUC) of a checkpoint on a split."""

from __future__ import annotations

import typer

from edgekd.api import EvalSpec


def run(spec: EvalSpec) -> None:
    from edgekd.api import evaluate
    from edgekd.fileio import atomic_write_json

    result = evaluate(spec).metrics
    auc = f"  AUC {result['auc']:.4f}" if result["auc"] == result["auc"] else ""
    typer.echo(f"{result['dataset']} {spec.split} (n={result['n']}): accuracy {result['accuracy']:.4f}{auc}")
    if spec.json:
        atomic_write_json(spec.json, result)
