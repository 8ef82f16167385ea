"""The one HTML kit: escaping, tables and pages for notebook displays (``_repr_html_``), the
brief's web page and the dashboard (:mod:`forecast.reports.html`, :mod:`forecast.reports.site`).

Evidence and spec text is untrusted input (a quote may contain ``<script>`` or markup), so every
text that reaches the page goes through :func:`esc` (``html.escape`` with quotes). The only HTML
that is not escaped is the :class:`Markup` built by this module's helpers from escaped parts.

Tables are sortable by clicking a column header. The sorter is a small ``onclick`` handler on each
header (no ``<script>`` element): numbers sort as numbers (a cell may carry a ``data-sort`` key,
e.g. the probability behind "5%"), everything else as text. Where a notebook front end does not run
handlers for untrusted output the table is still a plain, readable table.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from forecast.core.fmt import percent

CSS_CLASS = "forecast-table"

STYLE = (
    f"<style>.{CSS_CLASS}{{border-collapse:collapse;font-size:0.9em}}"
    f".{CSS_CLASS} th{{cursor:pointer;text-align:left;white-space:nowrap}}"
    f".{CSS_CLASS} td{{text-align:left;vertical-align:top;padding:2px 8px}}"
    f".{CSS_CLASS} td.quote{{max-width:40em;white-space:normal}}"
    f".{CSS_CLASS} tr.headline td{{font-weight:bold}}"
    ".forecast-flagged{color:#b00020}</style>"
)

# A table with class "stack" (built with cell_labels=True) becomes one block per row on a narrow
# screen, each cell after its column's name: nothing scrolls sideways at phone width.
STACK_CSS = """
td.date { white-space: nowrap; }
@media (max-width: 40rem) {
  table.stack thead { display: none; }
  table.stack tr { display: block; border-bottom: 2px solid #000; padding: 0.3rem 0; }
  table.stack td { display: block; border: 0; padding: 0.1rem 0; text-align: left; white-space: normal; overflow-wrap: anywhere; }
  table.stack td::before { content: attr(data-label) ": "; font-weight: bold; }
}
"""

# Sort the table by the clicked header's column; click again to reverse. One handler per table, on
# its <thead>, kept in an attribute (not a <script> element): a display holds no script tag at all.
_SORT_JS = (
    "var th=event.target.closest('th');if(!th)return;"
    "var b=th.closest('table').tBodies[0],i=th.cellIndex,"
    "asc=th.getAttribute('data-dir')!=='asc';"
    "th.parentNode.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-dir')});"
    "th.setAttribute('data-dir',asc?'asc':'desc');"
    "var k=function(r){var c=r.cells[i];return c.hasAttribute('data-sort')?c.getAttribute('data-sort'):c.textContent.trim()};"
    "Array.from(b.rows).sort(function(x,y){var a=k(x),c=k(y);"
    "var v=(a!==''&&c!==''&&!isNaN(a)&&!isNaN(c))?a-c:a.localeCompare(c);return asc?v:-v})"
    ".forEach(function(r){b.appendChild(r)});"
)


class Markup(str):
    """HTML that is already safe (built here from escaped parts); :func:`esc` leaves it alone.

    Joining with ``+`` keeps it safe: the other operand is escaped unless it is Markup too.
    """

    def __add__(self, other):
        return Markup(str.__add__(self, esc(other)))

    def __radd__(self, other):
        return Markup(str.__add__(esc(other), self))


@dataclass(frozen=True)
class Cell:
    """A table cell: its shown text, an optional sort key, tooltip, CSS class and ``data-*`` attributes."""

    value: Any
    sort: Any = None
    title: str | None = None
    css: str | None = None
    data: dict | None = None


def text(value: Any) -> str:
    """The plain text of a value: '' for missing, ISO dates, short floats."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def esc(value: Any) -> str:
    """Escaped text of a value (``<``, ``>``, ``&`` and both quotes), or ``Markup`` unchanged."""
    if isinstance(value, Markup):
        return value
    return html.escape(text(value), quote=True)


def link(url: str | None, label: Any) -> Markup:
    """``label`` linked to ``url`` when the url is http(s); otherwise the escaped label."""
    if url and url.lower().startswith(("http://", "https://")):
        return Markup(f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>')
    return Markup(esc(label))


def attr(name: str, value: Any) -> str:
    """`` name="value"`` with the value escaped, or '' when the value is None or empty."""
    return f' {name}="{esc(value)}"' if value is not None and value != "" else ""


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    """Concatenate escaped parts (``Markup`` parts stay as they are)."""
    return Markup(esc(sep).join(esc(p) for p in parts))


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: Any = None,
    row_css: Sequence[str | None] | None = None,
    sortable: bool = True,
    numeric: Iterable[int] = (),
    column_titles: Sequence[str | None] | None = None,
    css_class: str = CSS_CLASS,
    id: str | None = None,
    cell_labels: bool = False,
) -> Markup:
    """An HTML table with escaped cells; a cell is a value, a :class:`Cell` or :class:`Markup`.

    Parameters
    ----------
    columns : sequence of str
        Header labels.
    rows : iterable of sequences
        One sequence of cells per row.
    caption : optional
        Table caption (escaped).
    row_css : sequence of str or None, optional
        A CSS class per row (e.g. ``"headline"``).
    sortable : bool
        Headers sort the table when clicked (an ``onclick`` attribute; pages that must hold no
        script at all, the brief and the dashboard, pass False).
    numeric : iterable of int
        Column indices whose cells get the CSS class ``num`` (right-aligned numbers) unless the
        cell names its own class.
    column_titles : sequence of str or None, optional
        A tooltip per header (what the column means).
    css_class : str
        The table's CSS class.
    id : str, optional
        The table's ``id`` attribute.
    cell_labels : bool
        Give every cell a ``data-label`` with its column's header, so a stylesheet can stack a row's
        cells with their labels on a narrow screen (``td::before { content: attr(data-label) }``).
    """
    onclick = f' onclick="{html.escape(_SORT_JS, quote=True)}" title="click a header to sort"' if sortable else ""
    titles = list(column_titles) if column_titles is not None else [None] * len(columns)
    head = "".join(f"<th{attr('title', t)}>{esc(c)}</th>" for c, t in zip(columns, titles))
    numeric = set(numeric)
    body = []
    for n, row in enumerate(rows):
        css = row_css[n] if row_css is not None else None
        cells = []
        for i, cell in enumerate(row):
            if not isinstance(cell, Cell):
                cell = Cell(cell)
            klass = cell.css if cell.css is not None else ("num" if i in numeric else None)
            attrs = attr("data-sort", cell.sort) + attr("title", cell.title) + attr("class", klass)
            attrs += "".join(attr(f"data-{k}", v) for k, v in (cell.data or {}).items())
            if cell_labels and i < len(columns):
                attrs += attr("data-label", columns[i])
            cells.append(f"<td{attrs}>{esc(cell.value)}</td>")
        body.append(f"<tr{attr('class', css)}>{''.join(cells)}</tr>")
    cap = f"<caption style=\"text-align:left\">{esc(caption)}</caption>" if caption is not None else ""
    return Markup(f'<table class="{esc(css_class)}"{attr("id", id)}>{cap}<thead{onclick}><tr>{head}</tr></thead>'
                  f'<tbody>{"".join(body)}</tbody></table>')


def details(summary: Any, content: Any, open_: bool = False) -> Markup:
    """A collapsible block."""
    return Markup(f"<details{' open' if open_ else ''}><summary>{esc(summary)}</summary>{esc(content)}</details>")


def page(*parts: Any) -> str:
    """The final display: the shared style and the parts, in one ``<div>``."""
    return f'<div class="forecast">{STYLE}{join(parts)}</div>'


def tag(name: str, content: Any = "", **attrs: Any) -> Markup:
    """``<name attr="value">content</name>`` with every attribute value and the content escaped
    (``class_`` for ``class``; ``None`` attributes are left out)."""
    attributes = "".join(attr(k.rstrip("_").replace("_", "-"), v) for k, v in attrs.items())
    return Markup(f"<{name}{attributes}>{esc(content)}</{name}>")


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """``data:<mime>;base64,...``: an image embedded in the page (no file, no request)."""
    import base64

    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def figure(src: str, alt: str, caption: Any = None, id: str | None = None) -> Markup:
    """``<figure>`` with an image (``src`` a relative path or a data URI) and an optional caption."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return Markup(f"<figure{attr('id', id)}><img src=\"{esc(src)}\" alt=\"{esc(alt)}\">{cap}</figure>")


def document(title: str, *parts: Any, css: str = "", lang: str = "en") -> str:
    """A complete, self-contained HTML page: UTF-8, phone-width viewport, the page's own CSS inline,
    no script, no external font, stylesheet or image (``parts`` are escaped unless ``Markup``)."""
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head><body>\n{join(parts, chr(10))}\n</body></html>\n"
    )


def pct(p: float | None) -> str:
    """A probability as the headline prints it (``<1%``, ``5%``, ``>99%``)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return percent(float(p))
