"""The one-page PDF of a brief (A4 or Letter), laid out with matplotlib."""

from __future__ import annotations

import warnings
from pathlib import Path

from forecast.reports.content import DRIVER_HEADER, EVIDENCE_HEADER, PAPER_INCHES, BriefContent, driver_rows, evidence_rows, scenario_rows
from forecast.reports.style import DARK, INK, WARNING_RED, figure_style, new_figure, shorten_to_width, wrap_text

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
        self.fig.text((x if x is not None else self.margin) / self.w, 1 - self.y / self.h, lines, fontsize=size, fontweight=weight, color=color,
                      ha="left", va="top", parse_math=False, **kw)
        self.y += n * size * 1.32 / 72 + gap
        return self

    def axes(self, height: float, left: float, width: float, **kw):
        """An axes in a block ``height`` inches tall at the cursor, ``left`` and ``width`` in inches; the block
        keeps 0.25 in above the axes for its title and 0.5 in below for (rotated) tick labels."""
        bottom = self.y + height
        return self.fig.add_axes((left / self.w, 1 - (bottom - 0.5) / self.h, width / self.w, (height - 0.75) / self.h), **kw)


def _table(cur: _Cursor, title: str, header: list[str], rows: list[list[str]], widths: list[float], size: float = 6.8) -> None:
    """A plain text table at the cursor: ``widths`` are column widths in inches; long cells are shortened."""
    cur.text(title, size=8.5, weight="bold", gap=0.03)
    x0 = cur.margin
    line_h = size * 1.45 / 72
    y = cur.y
    for r, cells in enumerate([header] + rows):
        x = x0
        for cell, w in zip(cells, widths):
            text = shorten_to_width(str(cell), w - 0.08, size, bold=r == 0) if cell else ""
            cur.fig.text(x / cur.w, 1 - y / cur.h, text, fontsize=size, fontweight="bold" if r == 0 else "normal", ha="left", va="top",
                         parse_math=False, color=INK)
            x += w
        y += line_h
        if r == 0:
            cur.fig.add_artist(_hline(cur, y - 0.03))
    cur.y = y + 0.06


def _hline(cur: _Cursor, y_inches: float):
    from matplotlib.lines import Line2D

    return Line2D([cur.margin / cur.w, 1 - cur.margin / cur.w], [1 - y_inches / cur.h] * 2, color=DARK, lw=0.5)


def page_figure(content: BriefContent, paper: str = "a4"):
    """The brief as one matplotlib figure the size of an A4 or Letter page."""
    from forecast.reports.by_date import draw_by_date
    from forecast.reports.scenarios_plot import draw_scenarios

    if paper not in PAPER_INCHES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_INCHES)}, not {paper!r}")
    w, h = PAPER_INCHES[paper]
    with figure_style():
        fig = new_figure(w, h)
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
        cur.text(content.headline["sentence"], size=10.5, weight="bold", wrap=usable, gap=0.12)

        # row 1: trajectory and P(event by date)
        # the plot rows take what a shorter page (Letter is 0.69 in shorter than A4) gives up
        shorter = PAPER_INCHES["a4"][1] - h
        row_h = 2.9 - 0.55 * shorter
        left_w = usable * 0.55
        ax_t = cur.axes(row_h, cur.margin + 0.45, left_w - 0.75)
        _draw_trajectory_into(ax_t, content)
        ax_b = cur.axes(row_h, cur.margin + left_w + 0.45, usable - left_w - 1.25)
        draw_by_date(ax_b, r)
        ax_b.set_title("P(event by date), from the as-of date", loc="left", fontsize=8)
        ax_b.tick_params(axis="x", labelrotation=30, labelsize=6)
        ax_b.yaxis.label.set_fontsize(7)
        cur.y += row_h + 0.12

        # row 2: scenarios (curves left; their headlines, then the legend, right)
        if content.scenarios is not None:
            scen_h = 2.35 - 0.45 * shorter
            ax_s = cur.axes(scen_h, cur.margin + 0.45, usable * 0.42 - 0.45)
            draw_scenarios(ax_s, content.scenarios, legend=False, band_labels=False)
            ax_s.set_title("Scenarios (what if an indicator were held)", loc="left", fontsize=8)
            ax_s.tick_params(axis="x", labelrotation=30, labelsize=6)
            ax_s.yaxis.label.set_fontsize(7)
            top_of_row = cur.y
            left_margin = cur.margin
            cur.margin = left_margin + usable * 0.42 + 0.3
            right_w = w - left_margin - cur.margin
            _table(cur, f"Scenario headlines (P by {content.headline['horizon']})", ["scenario", "P (90%)", "vs forecast"],
                   [row[:3] for row in scenario_rows(content)], [right_w - 1.75, 1.05, 0.7])
            handles, labels = ax_s.get_legend_handles_labels()
            fig.legend(handles, labels, loc="upper left", fontsize=6.2, ncols=2, borderaxespad=0,
                       bbox_to_anchor=(cur.margin / w, 1 - (cur.y + 0.02) / h))
            cur.margin = left_margin
            cur.y = top_of_row + scen_h + 0.05
        else:
            cur.text("Scenarios: " + " ".join(content.notes["scenarios"] or ["not computed."]), size=7.5, color=DARK, gap=0.1)

        # tables: drivers and evidence
        _table(cur, "Top drivers (log hazard ratio; push = effect x current level)", DRIVER_HEADER, driver_rows(content),
               [2.15, 0.6, 1.3, 1.3, 1.3, 0.7])
        if content.influence is not None:
            _table(cur, "Most influential evidence (headline with the item minus without it)", EVIDENCE_HEADER, evidence_rows(content),
                   [1.7, 0.5, 0.65, 0.8, usable - 3.65])
            for note in content.notes["influence"]:  # what Pareto k says, one line under the table
                cur.text(note, size=6.3, color=DARK, wrap=usable, gap=0.06)
        else:
            cur.text("Evidence influence: " + " ".join(content.notes["influence"] or ["not computed."]), size=7.5, color=DARK, gap=0.1)

        cur.text("What changed", size=8.5, weight="bold", gap=0.02)
        cur.text(content.changes, size=7.2, wrap=usable, gap=0.08)
        for note in content.notes["general"]:
            cur.text("Note: " + note, size=7, color=DARK, wrap=usable, gap=0.04)

        # footer pinned to the bottom of the page
        footer = content.footer_lines()
        size = 5.8
        wrapped = [wrap_text(line, usable, size) for line in footer]
        n_lines = sum(x.count("\n") + 1 for x in wrapped)
        y_footer = h - cur.margin - n_lines * size * 1.32 / 72
        if cur.y > y_footer - 0.05:
            warnings.warn(f"the brief's content runs {cur.y - y_footer + 0.05:.2f} in into the footer", stacklevel=2)
        fig.add_artist(_hline(cur, y_footer - 0.05))
        cur.y = y_footer
        for i, line in enumerate(wrapped):
            flagged = i == len(wrapped) - 1 and not content.passed
            cur.text(line, size=size, color=WARNING_RED if flagged else DARK, weight="bold" if flagged else "normal", gap=0.0)
    return fig


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
