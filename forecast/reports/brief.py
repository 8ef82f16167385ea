"""The briefing pack: one page (PDF) and one web page (HTML) with the same content, plus every
figure as PNG (slides) and SVG (print).

What a brief holds, in reading order:

1. the headline: P(event by the headline horizon), its 90% interval and ICD 203 term, as recorded
   in the ledger for the run (and the sentence :meth:`FitResult.headline_sentence` prints);
2. the trajectory of that probability over the ledger's update and replay runs, and the cumulative
   P(event by date) curve of this run;
3. the top drivers (indicators' push now, :mod:`.drivers`) and the most influential evidence items
   with their grades and quotes (:func:`forecast.influence.evidence_influence`);
4. the scenarios declared in the spec (:func:`forecast.scenarios.scenario_curves`);
5. what changed since the previous update (the ledger row's change report);
6. a footer with the as-of date, run, fingerprints, package versions and the diagnostics line.

A fit whose sampling diagnostics are flagged carries a boxed warning on the page, in the HTML and
in every figure's subtitle. Evidence text is untrusted: the HTML escapes it
(:mod:`.html`), and the figures draw it with math parsing off (a ``$`` in a quote stays a ``$``).

Files are written into the output folder one by one with :func:`forecast.store.atomic_write`
(temp file + rename): a brief interrupted half-way leaves every file either complete or absent.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..result import percent
from .style import DARK, INK, WARNING_RED, Provenance, figure_style, new_figure, shorten_to_width, wrap_text

PAPER_INCHES = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
FIGURES = ("trajectory", "by_date", "drivers", "prior_posterior", "influence", "scenarios", "diagnostics")
TOP_DRIVERS = 5
TOP_EVIDENCE = 5


@dataclass
class BriefContent:
    """Everything a brief shows, collected once and rendered to PDF, HTML and figures."""

    result: object  # FitResult
    question: object  # Question
    provenance: Provenance
    run: dict | None  # the ledger row, when the brief is of a recorded run
    headline: dict  # horizon, mean, lower_90, upper_90, term, sentence
    runs: pd.DataFrame  # ledger history of the question (for the trajectory)
    drivers: pd.DataFrame
    influence: pd.DataFrame | None
    scenarios: pd.DataFrame | None
    scenario_headlines: pd.DataFrame
    changes: str
    # what the brief could not show, and why, by section: "influence", "scenarios", "general"
    notes: dict = field(default_factory=lambda: {"influence": [], "scenarios": [], "general": []})
    generated: dt.date = field(default_factory=dt.date.today)

    @property
    def passed(self) -> bool:
        return self.result.passed

    @property
    def diagnostics_line(self) -> str:
        return self.result.diagnostics.line()

    @property
    def problems(self) -> list[str]:
        return list(self.result.diagnostics.problems)

    @property
    def title(self) -> str:
        return self.result.spec.question

    def top_drivers(self, n: int = TOP_DRIVERS) -> pd.DataFrame:
        return self.drivers.head(n)

    def top_evidence(self, n: int = TOP_EVIDENCE) -> pd.DataFrame:
        if self.influence is None:
            return pd.DataFrame(columns=["id", "indicator", "grade", "quote", "influence", "pareto_k", "method"])
        return self.influence.head(n)

    def footer_lines(self) -> list[str]:
        fp = self.provenance.fingerprints
        versions = self.provenance.versions
        run = self.run or {}
        head = f"As of {self.result.as_of}"
        if run:
            head += f" | run {run.get('id')} ({run.get('kind')}, finished {run.get('finished_at') or '?'})"
        head += f" | seed {self.result.seed} | brief generated {self.generated}"
        return [
            head,
            "Fingerprints: " + ", ".join(f"{k} {v}" for k, v in fp.items() if v),
            "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
            self.diagnostics_line,  # "diagnostics OK: ..." or "diagnostics FLAGGED: ..." (the last line)
        ]


# --------------------------------------------------------------------------------------------------
# collecting the content


def headline_of(result, run: dict | None) -> dict:
    """The headline numbers: the ledger row's when the brief is of a recorded run, else the result's."""
    sentence = result.headline_sentence()
    if run is not None and run.get("headline_mean") is not None:
        return {
            "horizon": run["headline_horizon"],
            "mean": float(run["headline_mean"]),
            "lower_90": float(run["headline_lower_90"]),
            "upper_90": float(run["headline_upper_90"]),
            "term": run["headline_term"],
            "sentence": sentence,
        }
    table = result.summary()
    head = table[table["headline"]] if len(table) else table
    if not len(head):
        return {"horizon": None, "mean": None, "lower_90": None, "upper_90": None, "term": None, "sentence": sentence}
    row = head.iloc[0]
    return {"horizon": row["horizon"].isoformat(), "mean": float(row["mean"]), "lower_90": float(row["lower_90"]),
            "upper_90": float(row["upper_90"]), "term": row["icd203"], "sentence": sentence}


def changes_paragraph(run: dict | None, ledger=None) -> str:
    """'What changed since the last brief': the run's change report against the previous update."""
    from ..cli import describe_changes

    if run is None:
        return "This fit is not recorded in the ledger: no earlier forecast to compare with."
    changes = run.get("changes") or {}
    if changes.get("replay"):
        return f"A replay point: the forecast as it would have been made on {run['as_of']} with the evidence published by then."
    if changes.get("first_run") or not changes:
        return "First recorded update of this question: no earlier forecast to compare with."
    text = ""
    previous = ledger.get(changes["previous_run"]) if ledger is not None and changes.get("previous_run") else None
    if previous and previous.get("headline_mean") is not None:
        text = (f"Previous update: run {previous['id']} as of {previous['as_of']}, {percent(previous['headline_mean'])} by "
                f"{previous['headline_horizon']} (\"{previous['headline_term']}\"). ")
        if previous.get("headline_term") and run.get("headline_term") and previous["headline_term"] != run["headline_term"]:
            text += f"The ICD 203 term moved from \"{previous['headline_term']}\" to \"{run['headline_term']}\". "
    text += describe_changes(changes)[0].upper() + describe_changes(changes)[1:] + "."
    return text


def collect(result, question, run: dict | None = None, runs: pd.DataFrame | None = None, ledger=None,
            influence: bool = True, influence_refits: int = 3, scenarios: bool = True) -> BriefContent:
    """Gather the content of a brief for ``result`` (a fit of ``question``).

    Parameters
    ----------
    result : FitResult
    question : Question
        The question as loaded now (evidence quotes and grades, scenarios, indicator names).
    run : dict, optional
        The ledger row of ``result``; its headline numbers and change report are used.
    runs : pandas.DataFrame, optional
        The ledger history of the question, for the trajectory (default: ``ledger.history``).
    ledger : forecast.ledger.Ledger, optional
        To look up the previous run named by the change report.
    influence, scenarios : bool
        Compute evidence influence / scenario curves (both need the current files to match the
        run's inputs; otherwise they are left out with a note).
    influence_refits : int
        At most this many exact refits where PSIS is unreliable (0: PSIS only, no refit).
    """
    from ..store import inputs_changed_since
    from .drivers import drivers_table
    from .scenarios_plot import scenario_headlines

    notes: dict[str, list[str]] = {"influence": [], "scenarios": [], "general": []}
    if runs is None:
        runs = ledger.history(question.id) if ledger is not None else pd.DataFrame()

    # Influence and scenarios combine the run's posterior with the question as loaded now; each
    # reason below makes that combination wrong or meaningless, and the brief says which.
    blocked = None
    changed = inputs_changed_since(run, question) if run is not None else []
    if changed:
        notes["general"].append(f"The {' and '.join(changed)} changed since run {run['id']}: evidence influence and scenarios, which "
                                "combine the saved posterior with the current files, are left out. Run `forecast update` for a current brief.")
        blocked = f"Not computed: the {' and '.join(changed)} changed since run {run['id']}."
    elif result.design.resolved_on is not None:
        blocked = "The question is resolved: there is no forecast left to explain or vary."
    elif result.design.indicator_ids and "level" not in result.idata["posterior"].data_vars:
        blocked = "Not computed: this run kept no latent indicator paths (a replay point); brief an update instead."

    influence_table = None
    if blocked:
        notes["influence"].append(blocked)
    elif not influence:
        notes["influence"].append("Not computed for this brief.")
    else:
        try:
            from ..influence import evidence_influence
        except ImportError:
            notes["influence"].append("Not available in this installation (forecast.influence is missing).")
        else:
            influence_table = evidence_influence(result, question, refit=influence_refits > 0, max_refits=max(influence_refits, 0))

    curves = None
    if blocked:
        notes["scenarios"].append(blocked)
    elif not scenarios:
        notes["scenarios"].append("Not computed for this brief.")
    elif not getattr(question.spec, "scenarios", None):
        notes["scenarios"].append("No scenarios are declared in the question spec.")
    else:
        try:
            from ..scenarios import scenario_curves
        except ImportError:
            notes["scenarios"].append("Not available in this installation (forecast.scenarios is missing).")
        else:
            curves = scenario_curves(result, question)

    return BriefContent(
        result=result,
        question=question,
        provenance=Provenance.of(result, run_id=run.get("id") if run else None),
        run=run,
        headline=headline_of(result, run),
        runs=runs,
        drivers=drivers_table(result, question.library),
        influence=influence_table,
        scenarios=curves,
        scenario_headlines=scenario_headlines(curves, result.headline),
        changes=changes_paragraph(run, ledger),
        notes=notes,
    )


# --------------------------------------------------------------------------------------------------
# figures


def make_figures(content: BriefContent) -> dict:
    """Every figure of the brief by name (those whose data is missing are left out)."""
    from .by_date import plot_by_date
    from .diagnostics_plot import plot_diagnostics
    from .drivers import plot_drivers
    from .influence_plot import plot_influence
    from .prior_posterior import plot_prior_posterior
    from .scenarios_plot import plot_scenarios
    from .trajectory import plot_trajectory

    r, prov = content.result, content.provenance
    figures = {
        "trajectory": plot_trajectory(content.runs, prov, r.spec, content.question.evidence, horizon=content.headline["horizon"]),
        "by_date": plot_by_date(r, prov),
        "drivers": plot_drivers(r, prov, content.question.library),
        "prior_posterior": plot_prior_posterior(r, prov),
    }
    if content.influence is not None:
        figures["influence"] = plot_influence(content.influence, prov)
    if content.scenarios is not None:
        figures["scenarios"] = plot_scenarios(content.scenarios, prov)
    figures["diagnostics"] = plot_diagnostics(r, prov)
    return figures


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


def driver_rows(content: BriefContent) -> list[list[str]]:
    rows = []
    for r in content.top_drivers().itertuples():
        level = "" if pd.isna(r.level_mean) else f"{r.level_mean:+.2f} ({r.level_lower_90:+.2f} to {r.level_upper_90:+.2f})"
        push = "" if pd.isna(r.push_mean) else f"{r.push_mean:+.2f} ({r.push_lower_90:+.2f} to {r.push_upper_90:+.2f})"
        toward = "" if pd.isna(r.p_toward) else f"{100 * r.p_toward:.0f}%"
        rows.append([r.name, r.direction, f"{r.effect_mean:+.2f} ({r.effect_lower_90:+.2f} to {r.effect_upper_90:+.2f})", level, push, toward])
    return rows


DRIVER_HEADER = ["indicator", "direction", "effect per +1 (90%)", "level now (90%)", "push now (90%)", "P(toward)"]
EVIDENCE_HEADER = ["item", "grade", "influence", "method", "quote"]


def evidence_rows(content: BriefContent) -> list[list[str]]:
    return [[r.id, r.grade, f"{100 * r.influence:+.2f} pts", r.method + (f" (k={r.pareto_k:.2f})" if r.method == "psis" and r.pareto_k > 0.7 else ""),
             r.quote] for r in content.top_evidence().itertuples()]


def scenario_rows(content: BriefContent) -> list[list[str]]:
    rows = []
    base = content.headline.get("mean")
    for r in content.scenario_headlines.itertuples():
        if r.scenario == "baseline":
            continue
        delta = "" if base is None else f"{100 * (r.mean - base):+.1f} pts"
        rows.append([r.name, f"{percent(r.mean)} ({percent(r.lower_90)}-{percent(r.upper_90)})", delta, r.description])
    return rows


def page_figure(content: BriefContent, paper: str = "a4"):
    """The brief as one matplotlib figure the size of an A4 or Letter page."""
    from .by_date import draw_by_date
    from .scenarios_plot import draw_scenarios

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
    from .style import GRADE_MARKERS, grade_marker
    from .trajectory import draw_trajectory, evidence_marks, trajectory_frame

    frame = trajectory_frame(content.runs, content.headline["horizon"], until_as_of=content.result.as_of)
    ax.set_title(f"P(event by {content.headline['horizon']}) over time", loc="left", fontsize=8)
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

    from ..store import atomic_write

    fig = page_figure(content, paper)

    def write(tmp: Path) -> None:
        with figure_style(), PdfPages(tmp, metadata={"Title": content.title, "Creator": "forecast", "CreationDate": None}) as pdf:
            pdf.savefig(fig)

    return atomic_write(Path(path), write)


# --------------------------------------------------------------------------------------------------
# writing the pack


@dataclass
class BriefOutput:
    """Where a brief was written and what it shows."""

    folder: Path
    pdf: Path
    html: Path
    figures: dict  # name -> {"png": path, "svg": path}
    content: BriefContent

    def __repr__(self) -> str:
        return f"<Brief {self.content.result.spec.id} as of {self.content.result.as_of}: {self.folder}>"


def write_brief(content: BriefContent, out, paper: str = "a4") -> BriefOutput:
    """Write ``brief.pdf``, ``brief.html`` and ``figures/<name>.png|.svg`` into ``out``."""
    from ..store import atomic_write
    from .html import render_html
    from .style import save

    if paper not in PAPER_INCHES:
        raise ValueError(f"--paper must be one of {', '.join(PAPER_INCHES)}, not {paper!r}")
    out = Path(out)
    figures = make_figures(content)
    paths, images = {}, {}
    for name, fig in figures.items():
        paths[name] = save(fig, out / "figures" / name)
        images[name] = Path(paths[name]["png"]).read_bytes()
    pdf = write_pdf(content, out / "brief.pdf", paper)
    html_text = render_html(content, images, paper)
    html = atomic_write(out / "brief.html", lambda p: p.write_text(html_text, encoding="utf-8"))
    return BriefOutput(folder=out, pdf=pdf, html=html, figures=paths, content=content)


def brief(
    question_id: str,
    run: int | None = None,
    out=None,
    paper: str = "a4",
    ledger_path=None,
    root=None,
    seed: int = 1,
    influence_refits: int = 3,
    **fit_overrides,
) -> BriefOutput:
    """``forecast brief``: the briefing pack of a recorded run.

    Uses run ``run`` of the ledger, or the latest successful update; when the ledger has none,
    runs :func:`forecast.runner.update` first (``seed`` and ``fit_overrides`` go to it). The pack
    is written to ``out`` (default ``briefs/<question>-<as-of>`` under the project folder).

    Raises
    ------
    ValueError
        ``run`` is not a succeeded run of ``question_id``, or ``paper`` is not ``a4`` or ``letter``.
    """
    from ..ledger import Ledger, default_path
    from ..project import Project
    from ..store import load_result

    if paper not in PAPER_INCHES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_INCHES)}, not {paper!r}")
    project = Project.find(root)
    question = project.load(question_id)
    ledger_path = Path(ledger_path) if ledger_path else default_path(project.root)
    ledger = Ledger(ledger_path)
    result = None
    if run is not None:
        row = ledger.get(run)
        if row is None or row["question"] != question_id:
            raise ValueError(f"no run {run} of {question_id} in the ledger {ledger_path}")
        if row["status"] != "succeeded":
            raise ValueError(f"run {run} of {question_id} did not succeed (status {row['status']}): no posterior to brief")
    else:
        row = ledger.last_success(question_id, kind="update")
        if row is None:
            from ..runner import update

            outcome = update(question_id, seed=seed, root=project.root, ledger_path=ledger_path, **fit_overrides)
            row = ledger.get(outcome.run_id)
            result = outcome.result
    if result is None:
        result = load_result(row, question)
    content = collect(result, question, run=row, ledger=ledger, influence_refits=influence_refits)
    out = Path(out) if out else project.root / "briefs" / f"{question_id}-{result.as_of.isoformat()}"
    return write_brief(content, out, paper)

