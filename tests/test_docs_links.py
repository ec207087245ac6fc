"""Every link in README.md, docs/*.md and benchmarks/README.md resolves.

Checked, outside fenced code blocks: relative Markdown links and images (``[text](path)``,
``![alt](path#anchor)``, resolved from the page's folder), their ``#anchors`` (a heading of
the target page, slugged as GitHub does), and repository paths written in backticks
(```benchmarks/study/study.md```, resolved from the repository root; a span counts as a path
when its first component is an entry of the repository root, so commands, options and example
paths such as ``runs/teacher/model.pt`` are left alone). A path that git ignores (a work
folder a command creates, e.g. ``benchmarks/_work/``) may be absent; ``{a,b}`` alternatives
are expanded and ``*`` globs must match something.
"""

from __future__ import annotations

import glob
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "benchmarks/README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE = re.compile(r"(`+)(.+?)\1")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_PLACEHOLDER = re.compile(r"[<>$~\s]|\.\.\.")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    out, fenced = [], False
    for i, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append((i, line))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: markup and punctuation dropped, lower case, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page (a repeated heading gets -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in _prose_lines(page.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if not m:
            continue
        s = slug(m.group(1))
        out.add(s if s not in seen else f"{s}-{seen[s]}")
        seen[s] = seen.get(s, 0) + 1
    return out


def _expand(path: str) -> list[str]:
    """``a/{x,y}.md`` -> ``a/x.md``, ``a/y.md`` (one level of braces)."""
    m = re.search(r"\{([^{}]*)\}", path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(",") for p in _expand(path[:m.start()] + alt + path[m.end():])]


def _ignored(root: Path, path: str) -> bool:
    """Whether git ignores ``path`` (a folder a command creates may be documented yet absent)."""
    try:
        done = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", "--no-index", path],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _exists(root: Path, target: Path) -> bool:
    if any(ch in str(target) for ch in "*?"):
        return bool(glob.glob(str(target)))
    return target.exists()


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """Every link, anchor and backticked repository path of ``page`` that does not resolve,
    as "page:line: what" strings (empty when all resolve)."""
    problems: list[str] = []
    rel = page.relative_to(root) if page.is_relative_to(root) else page
    top = {p.name for p in root.iterdir()}
    for n, line in _prose_lines(page.read_text(encoding="utf-8")):
        for m in _LINK.finditer(line):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
                continue
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            if not dest.exists():
                problems.append(f"{rel}:{n}: link to missing {file_part}")
                continue
            if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{rel}:{n}: no heading #{anchor} in {dest.relative_to(root)}")
        for m in _CODE.finditer(_LINK.sub("", line) if "](" in line else line):
            span = m.group(2).strip()
            if _PLACEHOLDER.search(span) or span.split("/")[0] not in top or span.startswith(("-", ".")):
                continue
            for path in _expand(span):
                if not _exists(root, root / path) and not _ignored(root, path):
                    problems.append(f"{rel}:{n}: `{span}` names a path that does not exist")
    return problems


@pytest.mark.parametrize("page", PAGES)
def test_every_link_and_path_resolves(page):
    assert broken_links(ROOT / page) == []


def test_docs_pages_are_all_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert all(f": {p.name}" in nav for p in (ROOT / "docs").glob("*.md")), "a docs page missing from mkdocs.yml nav"


def test_a_broken_link_anchor_or_path_is_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "edgekd").mkdir()
    (tmp_path / "edgekd" / "real.py").write_text("")
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## A `code` heading: here\n")
    page = tmp_path / "docs" / "page.md"
    good = ("[ok](other.md) [anchor](other.md#a-code-heading-here) [self](#title) ![img](../edgekd/real.py)\n"
            "`edgekd/real.py`, `edgekd/{real}.py`, `edgekd/*.py`, `runs/x/model.pt`, `--out DIR`, `edgekd/<name>.py`\n"
            "```bash\n[in code](missing.md) `edgekd/missing.py`\n```\n")
    page.write_text("# Title\n\n" + good)
    assert broken_links(page, tmp_path) == []
    page.write_text("# Title\n\n" + good + "[gone](missing.md) [bad anchor](other.md#nowhere) `edgekd/gone.py`\n")
    problems = broken_links(page, tmp_path)
    assert len(problems) == 3
    assert "missing missing.md" in problems[0] and "#nowhere" in problems[1] and "edgekd/gone.py" in problems[2]
    assert all(p.startswith("docs/page.md:") for p in problems)
