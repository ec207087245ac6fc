"""Small HTML builders for ``edgekd report``: escaped tables, embedded images, one page shell.

Everything is inline: styles in one ``<style>``, images as ``data:image/png;base64``
URIs, one short script. A Content-Security-Policy meta tag forbids every other source
(``default-src 'none'``), so the page cannot fetch anything even if a value in a run's
JSON looked like a URL: it opens offline, from a USB stick or an e-mail attachment, in
any browser. Every value from a run folder goes through :func:`esc`.

The script only checks the page itself: after ``load`` it writes into the hidden
``#edgekd-check`` element how many images there are and how many decoded with a
non-zero size and are laid out with a non-zero box (read by the browser test).
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;max-width:1150px;
padding:16px 24px;color:#1d2430;background:#fff;line-height:1.4}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;border-bottom:2px solid #d5dbe5;padding-bottom:.2em;
margin-top:1.6em}h3{font-size:1.02em;margin:1.1em 0 .4em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.86em}th,td{border:1px solid #d5dbe5;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#eef2f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#f8fafc}tr.best td{background:#fff4c2}
figure{margin:.6em 0 1.2em;display:inline-block;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;border:1px solid #d5dbe5}figcaption{font-size:.8em;color:#556}
.note{background:#fff7e6;border-left:4px solid #f0a020;padding:6px 10px;font-size:.9em}
.meta{color:#556;font-size:.88em}.scroll{overflow-x:auto}code{font-size:.92em}
"""

CHECK = """
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0, shown = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0 && imgs[i].naturalHeight > 0) ok++;
    var r = imgs[i].getBoundingClientRect();
    if (r.width > 0 && r.height > 0) shown++;
  }
  var c = document.getElementById("edgekd-check");
  c.setAttribute("data-images", imgs.length);
  c.setAttribute("data-loaded", ok);
  c.setAttribute("data-visible", shown);
});
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """A cell value as text: floats to 4 decimals (or 4 significant digits when tiny / huge)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.4g}"
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value) and len(value) <= 12:
            return ", ".join(fmt(v) for v in value)
        return json.dumps(value)[:200]
    if isinstance(value, dict):
        return json.dumps(value, default=str)[:200]
    return str(value)


def _cell(value: Any) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="num">{esc(fmt(value))}</td>' if numeric else f"<td>{esc(fmt(value))}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], row_classes: Sequence[str] | None = None) -> str:
    """An HTML table; cells formatted by :func:`fmt` and escaped; optional class per row."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{esc(row_classes[i])}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(_cell(v) for v in row) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> one level with dotted keys (lists stay values)."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key))
            else:
                out[key] = v
    else:
        out[prefix or "value"] = obj
    return out


def kv_table(obj: dict[str, Any], headers: tuple[str, str] = ("setting", "value")) -> str:
    return table(headers, list(flatten(obj).items()))


def json_tables(obj: Any, depth: int = 0) -> str:
    """A generic, readable view of a JSON value: scalars as a key/value table, lists of
    records as tables with the union of their keys, nested objects under headings."""
    if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        keys: list[str] = []
        for r in obj:
            keys.extend(k for k in flatten(r) if k not in keys)
        return table(keys, [[flatten(r).get(k) for k in keys] for r in obj[:500]])
    if not isinstance(obj, dict):
        return f"<p>{esc(fmt(obj))}</p>"
    scalars = {k: v for k, v in obj.items() if not isinstance(v, (dict, list)) or
               (isinstance(v, list) and not any(isinstance(x, dict) for x in v))}
    parts = [kv_table(scalars, ("key", "value"))] if scalars else []
    for k, v in obj.items():
        if k in scalars:
            continue
        if depth >= 2:
            parts.append(table(("key", "value"), [[k, v]]))
            continue
        parts.append(f"<h3>{esc(k)}</h3>" + json_tables(v, depth + 1))
    return "".join(parts)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(png: bytes, caption: str, width: int | None = None) -> str:
    style = f' style="width:{int(width)}px"' if width else ""
    return (f'<figure{style}><img src="{data_uri(png)}" alt="{esc(caption)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def page(title: str, sections: Sequence[str]) -> str:
    """The whole document: CSP, inline style, the sections, the hidden check element and script."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(sections)
            + '\n<p id="edgekd-check" hidden></p>\n'
            + f"<script>{CHECK}</script>\n</body></html>\n")
