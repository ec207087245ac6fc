"""How the CLI shows what the API returns: the library's presentation helpers, re-exported so
that ``edgekd.cli`` imports nothing but ``edgekd.api`` (the import contract in pyproject.toml).
Torch-free."""

from __future__ import annotations

from edgekd.api.results import QatResult
from edgekd.benchmarking.matrix import table_lines
from edgekd.benchmarking.report import profile_sections, rich_tables
from edgekd.explain.faithfulness import format_interval
from edgekd.exporters.verify import print_report

__all__ = ["format_interval", "print_report", "profile_sections", "qat_rows", "rich_tables", "table_lines"]


def qat_rows(result: QatResult) -> list[tuple[str, str]]:
    """What ``edgekd qat`` prints: accuracy before, after (fake-quant and float), and each export."""
    m = result.metrics
    before, after = m["before"], m["after"]
    rows = [("float student (before)", f"test accuracy {before['test']['accuracy']:.4f}"),
            ("after qat, fake-quantized", f"test accuracy {after['test_fake_quant']['accuracy']:.4f} "
                                          f"(epoch {m['qat']['selected_epoch']} of {m['qat']['epochs']})"),
            ("after qat, float (grid weights)", f"test accuracy {after['test']['accuracy']:.4f}")]
    for fmt, rec in m.get("exports", {}).items():
        if rec.get("top1_agreement") is not None:
            text = (f"{rec['status']}: test accuracy {rec['accuracy_artifact']:.4f}, agreement "
                    f"{rec['top1_agreement']:.2%}")
        else:
            text = f"{rec['status']}: {rec.get('reason', '')}"
        rows.append((f"{fmt} {m['qat']['scheme']}", text))
    return rows
