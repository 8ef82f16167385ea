"""The one-page PDF of a brief (A4 or Letter), laid out with matplotlib.

Nothing on the page is cut: long table cells (indicator names, evidence quotes) wrap onto more
lines, and every number has its meaning written next to it (:meth:`BriefContent.footnotes`). The
page is laid out twice: once with small plot panels to measure the text, then with the panels
grown into the space the text leaves (so a longer quote takes room from the plots, never from the
words). When even the smallest panels leave too little room, :func:`page_figure` warns.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from forecast.core.fmt import percent, percent_range
from forecast.reports.content import (
    DRIVER_HEADER,
    EVIDENCE_HEADER,
    PAPER_INCHES,
    BriefContent,
    driver_rows,
    evidence_rows,
    scenario_rows,
)
from forecast.reports.style import DARK, INK, WARNING_RED, figure_style, new_figure, wrap_text

LINE = 1.32  # line height in units of the font size
TABLE_SIZE = 6.4
NOTE_SIZE = 5.8
# plot panel heights in inches: (smallest, largest) of the first row (trajectory, by date) and of
# the scenarios row
ROW1 = (1.75, 2.9)
ROW2 = (1.6, 2.35)
# what the plot rows may give up, in inches, when even the fewest table rows leave the text too
# little room (a flagged fit's warnings, long driver names): the panels stay legible down to there
ROW_SHRINK = (0.3, 0.25)

# --------------------------------------------------------------------------------------------------
# the one-page PDF


class _Cursor:
    """Lays blocks out down a page, in inches from the top."""

    def __init__(self, fig, margin: float = 0.45):
        self.fig = fig
        self.w, self.h = fig.get_figwidth(), fig.get_figheight()
        self.margin = margin
        self.y = margin  # inches from the top

    def text(self, s: str, size: float = 8.0, weight: str = "normal", color=INK, wrap: float | None = None, gap: float = 0.04, x: float | None = None, **kw):
        """Text at the cursor, wrapped to ``wrap`` inches when given; the cursor moves below it."""
        lines = wrap_text(s, wrap, size, bold=weight == "bold") if wrap else s
        n = lines.count("\n") + 1
        artist = self.fig.text((x if x is not None else self.margin) / self.w, 1 - self.y / self.h, lines, fontsize=size, fontweight=weight,
                               color=color, ha="left", va="top", parse_math=False, **kw)
        self.y += n * size * LINE / 72 + gap
        return artist

    def axes(self, height: float, left: float, width: float, **kw):
        """An axes in a block ``height`` inches tall at the cursor, ``left`` and ``width`` in inches; the block
        keeps 0.25 in above the axes for its title and 0.5 in below for (rotated) tick labels."""
        bottom = self.y + height
        return self.fig.add_axes((left / self.w, 1 - (bottom - 0.5) / self.h, width / self.w, (height - 0.75) / self.h), **kw)


def _table(cur: _Cursor, title: str, header: list[str], rows: list[list[str]], widths: list[float], size: float = TABLE_SIZE,
           glyphs: list | None = None) -> None:
    """A plain text table at the cursor: ``widths`` are column widths in inches; a long cell wraps
    onto more lines (the row is as tall as its tallest cell, measured as drawn), nothing is cut.
    ``glyphs`` (one legend handle or None per row) start each row with the style of its curve."""
    cur.text(title, size=8.5, weight="bold", gap=0.03)
    indent = 0.32 if glyphs else 0.0
    renderer = cur.fig.canvas.get_renderer()
    dpi = cur.fig.dpi
    y = cur.y
    for r, cells in enumerate([header] + rows):
        x = cur.margin
        tallest = size / 72
        for c, (cell, w) in enumerate(zip(cells, widths)):
            pad = indent if c == 0 else 0.0
            text = wrap_text(str(cell), w - 0.08 - pad, size, bold=r == 0) if cell not in (None, "") else ""
            artist = cur.fig.text((x + pad) / cur.w, 1 - y / cur.h, text, fontsize=size, fontweight="bold" if r == 0 else "normal", ha="left",
                                  va="top", parse_math=False, color=INK, linespacing=1.1)
            if c == 0 and r > 0 and glyphs and glyphs[r - 1] is not None:
                _glyph(cur, glyphs[r - 1], x, y + size / 72 * 0.55, indent - 0.06)
            if text:
                tallest = max(tallest, artist.get_window_extent(renderer).height / dpi)
            x += w
        y += tallest + 0.045
        if r == 0:
            cur.fig.add_artist(_hline(cur, y - 0.03))
    cur.y = y + 0.02


def _glyph(cur: _Cursor, handle, x: float, y: float, length: float) -> None:
    """A short sample of a legend handle (a line with its style and marker, or a band) at (x, y) inches."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    fx, fy = x / cur.w, 1 - y / cur.h
    if isinstance(handle, Line2D):
        cur.fig.add_artist(Line2D([fx, fx + length / cur.w / 2, fx + length / cur.w], [fy] * 3, color=handle.get_color(), ls=handle.get_linestyle(),
                                  lw=handle.get_linewidth(), marker=handle.get_marker(), markevery=[1], ms=3.5,
                                  mfc=handle.get_markerfacecolor(), mec=handle.get_markeredgecolor()))
    else:
        cur.fig.add_artist(Rectangle((fx, fy - 0.04 / cur.h), length / cur.w, 0.08 / cur.h, color=handle.get_facecolor()[0], lw=0))


def _notes(cur: _Cursor, lines: list[str], width: float, size: float = NOTE_SIZE, gap: float = 0.08) -> None:
    """Definitions under a table: one paragraph of ``term: meaning.`` sentences."""
    if lines:
        cur.text(" ".join(lines), size=size, color=DARK, wrap=width, gap=gap)


def _hline(cur: _Cursor, y_inches: float):
    from matplotlib.lines import Line2D

    return Line2D([cur.margin / cur.w, 1 - cur.margin / cur.w], [1 - y_inches / cur.h] * 2, color=DARK, lw=0.5)


def page_figure(content: BriefContent, paper: str = "a4"):
    """The brief as one matplotlib figure the size of an A4 or Letter page.

    ``fig.brief_rows`` says how many top drivers and evidence items the page's tables show (all
    five unless the text needs the room; the web page and the figures always show them).
    """
    if paper not in PAPER_INCHES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_INCHES)}, not {paper!r}")
    # first pass: the smallest panels, to measure what the text needs; when even they leave too
    # little room, the page shows fewer table rows (the web page and the figures show them all)
    for rows in ROWS_TRIED:
        fig, slack = _layout(content, paper, ROW1[0], ROW2[0], rows)
        if slack >= 0:
            break
    else:
        # the plot rows shrink, the first by at most its share, then the scenarios row
        deficit = -slack + 0.01
        cut2 = min(deficit * 0.45, ROW_SHRINK[1]) if content.scenarios is not None else 0.0
        cut1 = min(deficit - cut2, ROW_SHRINK[0])
        cut2 = min(deficit - cut1, ROW_SHRINK[1]) if content.scenarios is not None else 0.0
        fig, slack = _layout(content, paper, ROW1[0] - cut1, ROW2[0] - cut2, rows)
        if slack < 0:
            warnings.warn(f"the brief's content runs {-slack:.2f} in into the footer", stacklevel=2)
        fig.brief_rows = dict(zip(("drivers", "evidence"), rows))
        return fig
    # second pass: the panels take the room the text leaves, the first row first
    grow1 = min(slack * 0.55, ROW1[1] - ROW1[0])
    grow2 = min(slack - grow1, ROW2[1] - ROW2[0]) if content.scenarios is not None else 0.0
    grow1 = min(slack - grow2, ROW1[1] - ROW1[0])
    fig, slack = _layout(content, paper, ROW1[0] + grow1, ROW2[0] + grow2, rows)
    if slack < -0.01:  # the scenario row's text is taller than its panel: the panel grew for nothing
        fig, slack = _layout(content, paper, ROW1[0] + grow1, ROW2[0], rows)
    fig.brief_rows = dict(zip(("drivers", "evidence"), rows))  # how many table rows the page shows
    return fig


# (top drivers, top evidence items) shown on the page, most first
ROWS_TRIED = ((5, 5), (5, 4), (4, 4), (4, 3), (3, 3))


def _layout(content: BriefContent, paper: str, row_h: float, scen_h: float, rows: tuple[int, int] = ROWS_TRIED[0]):
    """Draw the page with plot rows of the given heights and ``rows`` = (drivers, evidence items) in
    the tables; returns (figure, inches left above the footer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from forecast.reports.by_date import draw_by_date
    from forecast.reports.scenarios_plot import draw_scenarios

    w, h = PAPER_INCHES[paper]
    with figure_style():
        fig = new_figure(w, h)
        FigureCanvasAgg(fig)  # a renderer to measure the tables' wrapped cells with
        cur = _Cursor(fig)
        usable = w - 2 * cur.margin
        r = content.result
        cur.text(content.title, size=12.5, weight="bold", wrap=usable, gap=0.02)
        run = content.run or {}
        sub = f"Briefing as of {r.as_of}" + (f" | ledger run {run.get('id')} ({run.get('kind')})" if run else "") + f" | generated {content.generated}"
        cur.text(sub, size=8, color=DARK, gap=0.1)
        if not content.passed:
            warning = "WARNING: the sampling diagnostics flag this fit; treat its numbers as provisional. " + "; ".join(content.problems)
            cur.text(warning, size=8, weight="bold", color=WARNING_RED, wrap=usable - 0.2, gap=0.14,
                     bbox={"boxstyle": "square,pad=0.35", "fc": "white", "ec": WARNING_RED, "lw": 1.5})
        cur.text(content.headline["sentence"], size=10.5, weight="bold", wrap=usable, gap=0.06)
        for note in content.headline_notes():
            cur.text(note, size=7, wrap=usable, gap=0.03, color=INK)
        flag = content.sensitivity_flag
        cur.y += 0.04 if flag else 0.0
        cur.text(content.sensitivity_line(), size=7, weight="bold" if flag else "normal", wrap=usable - (0.1 if flag else 0), gap=0.1 if flag else 0.06,
                 gid="sensitivity", **({"bbox": {"boxstyle": "square,pad=0.25", "fc": "white", "ec": INK, "lw": 1.0}} if flag else {}))

        # row 1: trajectory and P(event by date)
        left_w = usable * 0.55
        ax_t = cur.axes(row_h, cur.margin + 0.45, left_w - 0.75)
        ax_t.set_gid("page:trajectory")
        _draw_trajectory_into(ax_t, content)
        ax_b = cur.axes(row_h, cur.margin + left_w + 0.45, usable - left_w - 1.25)
        ax_b.set_gid("page:by_date")
        draw_by_date(ax_b, r)
        ax_b.set_title("P(event by date), from the as-of date", loc="left", fontsize=8)
        ax_b.tick_params(axis="x", labelrotation=30, labelsize=6)
        ax_b.yaxis.label.set_fontsize(7)
        cur.y += row_h + 0.12

        # row 2: scenarios (curves left; right, their headlines, each row starting with its curve's style)
        if content.scenarios is not None:
            ax_s = cur.axes(scen_h, cur.margin + 0.45, usable * 0.42 - 0.45)
            ax_s.set_gid("page:scenarios")
            draw_scenarios(ax_s, content.scenarios, legend=False, band_labels=False)
            ax_s.set_title("Scenarios (what if an indicator were held)", loc="left", fontsize=8)
            ax_s.tick_params(axis="x", labelrotation=30, labelsize=6)
            ax_s.yaxis.label.set_fontsize(7)
            top_of_row = cur.y
            left_margin = cur.margin
            cur.margin = left_margin + usable * 0.42 + 0.3
            right_w = w - left_margin - cur.margin
            # the table is the legend: each row starts with its curve's line style and marker
            handles = dict(zip(*reversed(ax_s.get_legend_handles_labels())))
            glyphs = [handles.get("as forecast")] + [handles.get(row[0]) for row in scenario_rows(content)]
            base = content.headline
            table_rows = [["As forecast", f"{percent(base['mean'])} ({percent_range(base['lower_90'], base['upper_90'])})", ""]] \
                + [row[:3] for row in scenario_rows(content)]
            _table(cur, f"Scenario headlines (P by {content.headline['horizon']})", ["scenario", "P (90%)", "vs forecast"],
                   table_rows, [right_w - 1.75, 1.05, 0.7], glyphs=glyphs)
            _notes(cur, ["Grey band: the forecast's 90% interval. " + " ".join(content.footnotes("scenarios"))], right_w, gap=0.02)
            cur.margin = left_margin
            cur.y = max(top_of_row + scen_h + 0.05, cur.y + 0.06)
        else:
            cur.text("Scenarios: " + " ".join(content.notes["scenarios"] or ["not computed."]), size=7.5, color=DARK, gap=0.1)

        # tables: drivers and evidence, each with what its numbers mean
        n_drivers, n_evidence = rows
        shown = driver_rows(content, n_drivers)
        title = "Top drivers: what pushes the chance of the event up or down now"
        if len(content.drivers) > len(shown):
            title += f" ({len(shown)} of {len(content.drivers)}; all in the drivers figure)"
        _table(cur, title, DRIVER_HEADER, shown, [1.75, 0.6, 1.35, 1.3, 1.35, usable - 6.35])
        _notes(cur, content.footnotes("drivers"), usable)
        if content.influence is not None:
            # the grade goes with the item id, so the quotes get the width
            shown = [[f"{item} ({grade})", *rest] for item, grade, *rest in evidence_rows(content, n_evidence)]
            title = "Most influential evidence"
            if len(content.influence) > len(shown):
                title += f" ({len(shown)} of {len(content.influence)}; all in the influence figure, 5 with quotes in brief.html)"
            _table(cur, title, ["item (grade)", *EVIDENCE_HEADER[2:]], shown, [1.75, 0.55, 0.75, usable - 3.05])
            _notes(cur, content.footnotes("evidence"), usable)
        else:
            cur.text("Evidence influence: " + " ".join(content.notes["influence"] or ["not computed."]), size=7.5, color=DARK, gap=0.1)

        if content.sources_line():
            cur.text(content.sources_line(), size=7.0, color=DARK, wrap=usable, gap=0.06)
        cur.text("What changed", size=8.5, weight="bold", gap=0.02)
        cur.text(content.changes, size=7.0, wrap=usable, gap=0.06)
        for note in content.notes["general"]:
            cur.text("Note: " + note, size=7, color=DARK, wrap=usable, gap=0.04)

        # footer pinned to the bottom of the page: what its codes mean, then the lines themselves
        size = 5.8
        footer = content.footnotes("footer") + content.footer_lines()
        wrapped = [wrap_text(line, usable, size) for line in footer]
        n_lines = sum(x.count("\n") + 1 for x in wrapped)
        y_footer = h - cur.margin - n_lines * size * LINE / 72
        slack = y_footer - 0.05 - cur.y
        fig.add_artist(_hline(cur, y_footer - 0.05))
        cur.y = y_footer
        for i, line in enumerate(wrapped):
            flagged = i == len(wrapped) - 1 and not content.passed
            cur.text(line, size=size, color=WARNING_RED if flagged else DARK, weight="bold" if flagged else "normal", gap=0.0)
    return fig, slack


def _draw_trajectory_into(ax, content: BriefContent) -> None:
    """The trajectory panel of the page: the figure's drawing, with the evidence marked along the
    bottom of the same axes instead of in a strip of its own."""
    from forecast.reports.style import GRADE_MARKERS, grade_marker
    from forecast.reports.trajectory import draw_trajectory, evidence_marks, trajectory_frame

    frame = trajectory_frame(content.runs, until_as_of=content.result.as_of)  # the rolling headline: comparable across dates
    ax.set_title(f"{frame.attrs.get('quantity') or 'The forecast'} over time", loc="left", fontsize=8)
    # the band names are printed once, by the neighbouring panel
    start, last, _ = draw_trajectory(ax, frame, content.result.as_of, band_labels=False)
    if not len(frame):
        ax.text(0.5, 0.5, "no runs in the ledger", transform=ax.transAxes, ha="center")
        return
    top = ax.get_ylim()[1]
    ax.set_ylim(-0.08 * top, top)
    marks = evidence_marks(content.question.evidence, content.result.spec, start, last)
    for letter in GRADE_MARKERS:
        sel = marks[marks["grade"].str[0] == letter]
        if len(sel):
            ax.plot(sel["published"].to_numpy(), [-0.04 * top] * len(sel), ls="none", ms=3.5, label=f"evidence, grade {letter}", **grade_marker(letter))
    ax.tick_params(axis="x", labelrotation=30, labelsize=6)
    handles, labels = ax.get_legend_handles_labels()
    keep = [(h, lab) for h, lab in zip(handles, labels) if lab.startswith("evidence") or lab == "diagnostics flagged"]
    if keep:
        ax.legend(*zip(*keep), fontsize=5.5, loc="upper left")


def write_pdf(content: BriefContent, path: Path, paper: str = "a4") -> Path:
    """The one-page PDF (atomically)."""
    from matplotlib.backends.backend_pdf import PdfPages

    from forecast.core.atomic import atomic_write

    fig = page_figure(content, paper)

    def write(tmp: Path) -> None:
        with figure_style(), PdfPages(tmp, metadata={"Title": content.title, "Creator": "forecast", "CreationDate": None}) as pdf:
            pdf.savefig(fig)

    return atomic_write(Path(path), write)
