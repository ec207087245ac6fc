"""``edgekd train``: supervised training from scratch (teachers and baseline students)."""

from __future__ import annotations

import typer

from edgekd.api import RunResult, TrainSpec


def run(spec: TrainSpec) -> None:
    from edgekd.api import train

    result = train(spec)
    if result is not None:
        print_result(f"{spec.model} on {spec.dataset}", result)


def print_result(title: str, result: RunResult) -> None:
    test = result.test
    auc = f", AUC {test['auc']:.4f}" if test.get("auc") == test.get("auc") else ""
    typer.echo(f"{title}: test accuracy {test['accuracy']:.4f}{auc} (best epoch {result.best_epoch}, "
               f"{result.params:,} params, {result.macs / 1e6:.2f}M MACs) -> {result.checkpoint}")
