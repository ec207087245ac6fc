"""What a benchmark's results record and where they go: how its models were made, read from their
checkpoints, so every benchmark JSON records it and every table header states it (instead of a
hard-coded "trained 5 epochs"), and ``write_outputs``: ``<out>.json`` (the figures), ``<out>.md``
(the tables people read) and ``<out>.png`` (the plot), written atomically beside one another."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgekd.fileio import atomic_write_json, atomic_write_text

ROOT = Path(__file__).resolve().parents[2]


def rel_path(path) -> str:
    """``path`` relative to the repository when inside it (committed results must not name this
    machine's checkout), else as given."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def made_how(checkpoint: Path) -> dict[str, Any]:
    """The recipe of a model.pt: model, data set, kind (train / distill), epochs, seed, best
    epoch, and for a distilled student its method, alpha, beta and teacher."""
    from edgekd.training.checkpoint import load_checkpoint

    content = load_checkpoint(checkpoint)
    config, distill = content.get("config") or {}, content.get("distill") or {}
    rec = {"checkpoint": str(checkpoint), "model": content["model"]["name"], "dataset": content["data"]["name"],
           "kind": content.get("kind"), "epochs": config.get("epochs"), "seed": config.get("seed"),
           "best_epoch": (content.get("best") or {}).get("epoch"), "params": content.get("params")}
    if distill:
        rec.update({"method": distill.get("method"), "alpha": distill.get("alpha"), "beta": distill.get("beta"),
                    "teacher": (distill.get("teacher") or {}).get("model")})
    return rec


def describe(rec: dict[str, Any]) -> str:
    """One phrase for a table header: "cnn-small distilled from resnet20 with fma (alpha 0.5,
    beta 1), 3 epochs (seed 0)" or "resnet20 trained 3 epochs (seed 0)"."""
    how = f"{rec['epochs']} epochs (seed {rec['seed']}, best epoch {rec['best_epoch']})"
    if rec.get("method"):
        return (f"{rec['model']} distilled from {rec['teacher']} with {rec['method']} "
                f"(alpha {rec['alpha']:g}, beta {rec['beta']:g}), {how}")
    return f"{rec['model']} trained {how}"


def write_outputs(out: Path, report: dict, markdown: Callable[[dict], str],
                  plot: Callable[[dict, Path], None]) -> None:
    """Write the report's JSON, its markdown and its plot; print the markdown."""
    atomic_write_json(out.with_suffix(".json"), report)
    atomic_write_text(out.with_suffix(".md"), markdown(report))
    plot(report, out.with_suffix(".png"))
    print(markdown(report))


def run_once(out: Path, command: list[str]) -> None:
    """Run an edgekd ``command`` into ``out`` unless ``out`` already holds a finished run (test.json):
    one thread, no progress bar, its output in ``out``.log. How the benchmarks make their runs."""
    import subprocess

    if (out / "test.json").is_file():
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".log"), "w") as log:
        subprocess.run([*command, "--threads", "1", "--quiet", "--force", "--out", str(out)], stdout=log,
                       stderr=subprocess.STDOUT, check=True)
