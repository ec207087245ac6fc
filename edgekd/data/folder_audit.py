"""``edgekd datasets --check``: decode every file of an image set and list everything wrong at once.

The audit reads the set as training would (:mod:`edgekd.data.folder_scan` for the layout and
headers, :mod:`edgekd.data.folder_read` to decode every file at the chosen preprocessing,
which also fills the cache training reuses) and reports:

- images per class and split, and how validation and test were chosen;
- sizes (shorter side) and aspect ratios (width / height) as text histograms, and the
  Pillow modes (L, RGB, RGBA, P, ...) found;
- identical files (same SHA-256 of their bytes) in more than one split: a test image that
  is also a training image inflates the test figure;
- every unreadable file (header or pixels: truncated, corrupt, not an image, listed in a
  CSV but missing) and every off-policy file (enlarged more than 2x by the resize policy).

:func:`report_text` is the full report (every problem and every duplicate group), written
to a file; :func:`summary_lines` is what the screen shows (the first few of each).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from edgekd.data.folder_read import Decoded, decode
from edgekd.data.folder_scan import FolderScan
from edgekd.data.spec import SPLITS

SIDE_BINS = (0, 32, 64, 128, 256, 512, 1024, 2048)
ASPECT_BINS = ((0, 0.5, "< 1:2 (tall)"), (0.5, 0.75, "1:2 .. 3:4"), (0.75, 0.95, "3:4 .. 19:20"),
               (0.95, 1.0526, "square (within 5 %)"), (1.0526, 1.34, "20:19 .. 4:3"), (1.34, 2.0, "4:3 .. 2:1"),
               (2.0, float("inf"), "> 2:1 (wide)"))
BAR = 40


@dataclass
class Audit:
    scan: FolderScan
    decoded: Decoded
    problems: list[tuple[Path, str]]  # unreadable or off-policy, in split order
    cross_split: list[list[tuple[str, Path]]]  # groups of identical files found in more than one split
    within_split: int  # files identical to another file of the same split

    @property
    def ok(self) -> bool:
        return not self.problems


def audit(scan: FolderScan, quiet: bool = False) -> Audit:
    """Decode every file of ``scan`` and collect its problems and duplicates."""
    decoded = decode(scan, quiet=quiet)
    groups: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    for s in SPLITS:
        for f, _ in scan.splits.get(s, []):
            if scan.facts[f].sha256:
                groups[scan.facts[f].sha256].append((s, f))
    cross = [g for g in groups.values() if len({s for s, _ in g}) > 1]
    within = sum(len(g) - len({s for s, _ in g}) for g in groups.values())
    return Audit(scan, decoded, scan.problems + decoded.bad, cross, within)


def _bar(n: int, top: int) -> str:
    return "#" * max(1 if n else 0, round(BAR * n / top)) if top else ""


def histogram(values: list[float], bins: list[tuple[float, float, str]]) -> list[str]:
    """One line per bin from the first to the last non-empty one: label, count, a bar."""
    counts = [sum(lo <= v < hi for v in values) for lo, hi, _ in bins]
    used = [i for i, n in enumerate(counts) if n] or [0]
    rows = list(zip(bins, counts))[used[0]:used[-1] + 1]
    top = max(counts, default=0)
    width = max(len(label) for (_, _, label), _ in rows)
    return [f"  {label:<{width}} {n:>7} {_bar(n, top)}" for (_, _, label), n in rows]


def side_bins() -> list[tuple[float, float, str]]:
    edges = list(SIDE_BINS) + [float("inf")]
    return [(lo, hi, f"{lo}..{hi - 1} px" if hi != float("inf") else f">= {lo} px") for lo, hi in zip(edges, edges[1:])]


def summary_lines(a: Audit, shown: int = 10) -> list[str]:
    """The audit as the screen shows it (``shown`` problems and duplicate groups at most)."""
    s = a.scan
    sizes = [f.size for f in s.facts.values() if f.size]
    lines = [f"layout {s.layout}: {s.note}", f"read as {s.preprocess.describe()}; most images are "
             f"{s.common_size[0]}x{s.common_size[1]}", "", "images per class and split:"]
    counts = s.counts()
    names = list(counts)
    width = max(len(c) for c in [*s.classes, "class"])
    lines.append(f"  {'class':<{width}} " + " ".join(f"{n:>7}" for n in [*names, "total"]))
    for i, cls in enumerate(s.classes):
        row = [counts[n][i] for n in names]
        lines.append(f"  {cls:<{width}} " + " ".join(f"{v:>7}" for v in [*row, sum(row)]))
    if not s.has_test:
        lines.append("  (no test split: every report of a model trained on it says so)")
    lines += ["", "shorter side:", *histogram([min(w, h) for w, h in sizes], side_bins()),
              "aspect ratio (width / height):", *histogram([w / h for w, h in sizes], list(ASPECT_BINS)),
              "modes: " + ", ".join(f"{m} {n}" for m, n in Counter(f.mode for f in s.facts.values() if f.mode)
                                    .most_common()), ""]
    lines.append(f"duplicates: {len(a.cross_split)} groups of identical files across splits, {a.within_split} "
                 "repeated within a split")
    for group in a.cross_split[:shown]:
        lines.append("  " + " = ".join(f"{split}:{s.rel(f)}" for split, f in group))
    if len(a.cross_split) > shown:
        lines.append(f"  ... and {len(a.cross_split) - shown} more groups")
    lines.append(f"unreadable or off-policy images: {len(a.problems)}")
    for f, why in a.problems[:shown]:
        lines.append(f"  {s.rel(f)}: {why}")
    if len(a.problems) > shown:
        lines.append(f"  ... and {len(a.problems) - shown} more")
    return lines


def report_text(a: Audit) -> str:
    """The full audit: the summary with every problem and duplicate group, then the skipped files."""
    s = a.scan
    lines = [f"# edgekd audit of {s.root}", f"# fingerprint sha256 {s.fingerprint}", ""]
    lines += summary_lines(a, shown=max(len(a.problems), len(a.cross_split)))
    lines += ["", f"not images, never read: {len(s.skipped)}"]
    lines += [f"  {s.rel(f)}: {why}" for f, why in s.skipped]
    return "\n".join(lines) + "\n"
