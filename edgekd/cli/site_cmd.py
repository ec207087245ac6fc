"""``edgekd classify`` and ``edgekd adapt``: decisions at the site, torch-free."""

from __future__ import annotations

from collections import Counter

import typer

from edgekd.api import AdaptSpec, ClassifySpec


def _shares(names: list[str], values: list[float]) -> str:
    return ", ".join(f"{n} {100 * v:.1f} %" for n, v in zip(names, values))


def classify(spec: ClassifySpec) -> None:
    from edgekd.api import classify as run

    result = run(spec)
    rule, names = result.rule, list(result.rule.class_names)
    for path, why in result.skipped:
        typer.echo(f"skipped {path}: {why}", err=True)
    shown = result.rows if len(result.rows) <= 20 else result.rows[:10]
    for row in shown:
        true = f" (true {row['true']})" if "true" in row else ""
        typer.echo(f"{row['image']}: {row['decision']} p={row['probability']:.3f}{true}")
    if len(shown) < len(result.rows):
        typer.echo(f"... and {len(result.rows) - len(shown)} more in {result.csv}")
    counts = Counter(row["decision"] for row in result.rows)
    typer.echo(f"{len(result.rows)} images: " + ", ".join(f"{n} {counts.get(n, 0)}" for n in names))
    threshold = f", threshold {rule.threshold:.3f}" if rule.threshold is not None else ""
    typer.echo(f"decided by operating point {rule.rule} (temperature {rule.temperature:.3f}{threshold})")
    if result.adaptation:
        typer.echo(f"adapted to the site prior {_shares(names, result.adaptation['prior'])} "
                   f"(edgekd adapt on {result.adaptation['n_images']} images; --no-adapted to decide without it)")
    if result.estimated_prior is not None:
        typer.echo(f"estimated class prior of these images: {_shares(names, result.estimated_prior)} "
                   f"(trained under {_shares(names, list(rule.train_prior))})")
    if "true" in result.rows[0]:
        right = sum(row["decision"] == row["true"] for row in result.rows)
        typer.echo(f"accuracy against the data set's labels: {right / len(result.rows):.4f}")
    if result.csv:
        typer.echo(f"decisions: {result.csv}")


def adapt(spec: AdaptSpec) -> None:
    from edgekd.api import adapt as run

    result = run(spec)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    low, high = result.interval
    typer.echo(f"{result.n_images} images: estimated class prior " + ", ".join(
        f"{n} {100 * p:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"
        for n, p, lo, hi in zip(result.class_names, result.prior, low, high)))
    typer.echo(f"trained under {_shares(result.class_names, result.train_prior)}")
    typer.echo(f"written: {result.path} (edgekd classify and bench on {spec.model.name} now decide under this prior)")
