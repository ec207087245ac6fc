"""``edgekd qat``: quantisation-aware distillation of a finished run, then its int8 export.

Printing only: the work is :func:`edgekd.api.qat` (:mod:`edgekd.quant.qat` says why this is a
step after ``distill`` and not a flag of it). Registered in :mod:`edgekd.cli.app` with
``register(app, QatSpec, qat_cmd.qat)``.
"""

from __future__ import annotations

from edgekd.api import QatSpec


def qat(spec: QatSpec) -> None:
    """Print the before / after table; a refused or failed export is the command's error (exit code 2)."""
    from rich.console import Console
    from rich.table import Table

    from edgekd.api import qat as run
    from edgekd.api.printing import qat_rows
    from edgekd.errors import EdgekdError

    result = run(spec, console=Console(stderr=True))
    table = Table(title=f"qat {spec.scheme}: {result.out}", show_header=False)
    for name, text in qat_rows(result):
        table.add_row(name, text)
    Console().print(table)
    if result.failed:
        raise EdgekdError("; ".join(f"{f} {r['status']} ({r.get('record') or r.get('reason')})"
                                    for f, r in result.failed.items())
                          + f": the fine-tuned model is kept in {result.out}/model.pt; try more --epochs or another "
                            "--scheme")
