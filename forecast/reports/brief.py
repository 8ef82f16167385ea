"""The briefing pack: one page (PDF) and one web page (HTML) with the same content, plus every
figure as PNG (slides) and SVG (print).

What a brief holds, in reading order:

1. the headline: P(event by the headline horizon), its 90% interval and ICD 203 term, as recorded
   in the ledger for the run (and the sentence :meth:`FitResult.headline_sentence` prints);
2. the trajectory of that probability over the ledger's update and replay runs, and the cumulative
   P(event by date) curve of this run;
3. the top drivers (indicators' push now, :mod:`.drivers`) and the most influential evidence items
   with their grades and quotes (:func:`forecast.analysis.influence.evidence_influence`);
4. the scenarios declared in the spec (:func:`forecast.analysis.scenarios.scenario_curves`);
5. what changed since the previous update (the ledger row's change report);
6. a footer with the as-of date, run, fingerprints, package versions and the diagnostics line.

Every number carries its meaning in plain words next to it (what the headline's interval and term
are, why the average sits above most plausible values when the distribution is skewed, each table
column), and a line on the prior sensitivity of the headline (power-scaling, as ``forecast check``
computes it), flagged when the headline is prior-dominated or in prior-data conflict.

Next to the pack, ``brief.json`` records which run it briefs (question, run id, as-of date, the
headline numbers): the dashboard (:mod:`.site`) links the PDF of a question's latest run from it.

A fit whose sampling diagnostics are flagged carries a boxed warning on the page, in the HTML and
in every figure's subtitle. Evidence text is untrusted: the HTML escapes it
(:mod:`.html`), and the figures draw it with math parsing off (a ``$`` in a quote stays a ``$``).

Files are written into the output folder one by one with :func:`forecast.inference.store.atomic_write`
(temp file + rename): a brief interrupted half-way leaves every file either complete or absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from forecast.core.progress import stage
from forecast.reports.content import PAPER_INCHES, BriefContent, collect
from forecast.reports.pdf import write_pdf

# --------------------------------------------------------------------------------------------------
# figures


def make_figures(content: BriefContent) -> dict:
    """Every figure of the brief by name (those whose data is missing are left out)."""
    from forecast.reports.by_date import plot_by_date
    from forecast.reports.diagnostics_plot import plot_diagnostics
    from forecast.reports.drivers import plot_drivers
    from forecast.reports.influence_plot import plot_influence
    from forecast.reports.prior_posterior import plot_prior_posterior
    from forecast.reports.scenarios_plot import plot_scenarios
    from forecast.reports.trajectory import plot_trajectory

    r, prov = content.result, content.provenance
    figures = {
        "trajectory": plot_trajectory(content.runs, prov, r.spec, content.question.evidence),
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
    """Write ``brief.pdf``, ``brief.html``, ``figures/<name>.png|.svg`` and (with influence) ``influence.csv`` into ``out``."""
    from forecast.core.atomic import atomic_write
    from forecast.reports.html import render_html
    from forecast.reports.influence_plot import INFLUENCE_CSV
    from forecast.reports.style import save

    if paper not in PAPER_INCHES:
        raise ValueError(f"--paper must be one of {', '.join(PAPER_INCHES)}, not {paper!r}")
    out = Path(out)
    figures = make_figures(content)
    paths, images = {}, {}
    for name, fig in figures.items():
        paths[name] = save(fig, out / "figures" / name)
        images[name] = Path(paths[name]["png"]).read_bytes()
    if content.influence is not None:
        # every item's influence (the figure and the page show the largest): one row per item
        table = content.influence.drop(columns="quote", errors="ignore")
        atomic_write(out / INFLUENCE_CSV, lambda p: table.to_csv(p, index=False))
    pdf = write_pdf(content, out / "brief.pdf", paper)
    html_text = render_html(content, images, paper)
    html = atomic_write(out / "brief.html", lambda p: p.write_text(html_text, encoding="utf-8"))
    manifest = json.dumps(manifest_of(content, paper), indent=2, default=str)
    atomic_write(out / MANIFEST, lambda p: p.write_text(manifest, encoding="utf-8"))
    return BriefOutput(folder=out, pdf=pdf, html=html, figures=paths, content=content)


MANIFEST = "brief.json"


def manifest_of(content: BriefContent, paper: str) -> dict:
    """What a brief folder holds: the question, the ledger run it briefs and the headline numbers."""
    run = content.run or {}
    return {"question": content.result.spec.id, "run_id": run.get("id"), "as_of": content.result.as_of.isoformat(),
            "generated": content.generated.isoformat(), "paper": paper, "pdf": "brief.pdf", "html": "brief.html",
            "headline": {k: content.headline.get(k) for k in ("horizon", "mean", "lower_90", "upper_90", "term")},
            "diagnostics_passed": content.passed, "sensitivity": content.sensitivity_line(), "sensitivity_flag": content.sensitivity_flag}


def brief(
    question_id: str,
    run: int | None = None,
    out=None,
    paper: str = "a4",
    ledger_path=None,
    root=None,
    seed: int = 1,
    influence_refits: int = 3,
    progress=None,
    **fit_overrides,
) -> BriefOutput:
    """``forecast brief``: the briefing pack of a recorded run.

    Uses run ``run`` of the ledger, or the current forecast (:meth:`~forecast.runs.ledger.Ledger.current`:
    the latest update of the scheduled series, not an ad-hoc backdated one); when the ledger has none,
    runs :func:`forecast.runs.update.update` first (``seed`` and ``fit_overrides`` go to it). The pack
    is written to ``out`` (default ``briefs/<question>-<as-of>`` under the project folder).
    ``progress(stage, done, total)``, if given, follows the slow stages: ``"update"`` (when one is
    run), ``"influence refits"`` (only items whose PSIS estimate is unreliable and large enough to
    matter are refitted, see :func:`forecast.analysis.influence.evidence_influence`), ``"scenarios"``,
    ``"prior sensitivity"`` and ``"figures"``.

    Raises
    ------
    ValueError
        ``run`` is not a succeeded run of ``question_id``, or ``paper`` is not ``a4`` or ``letter``.
    """
    if paper not in PAPER_INCHES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_INCHES)}, not {paper!r}")
    project, question, ledger, row, result = recorded_result(question_id, run, ledger_path, root, seed, progress=progress, **fit_overrides)
    content = collect(result, question, run=row, ledger=ledger, influence_refits=influence_refits, progress=progress)
    out = Path(out) if out else project.root / "briefs" / f"{question_id}-{result.as_of.isoformat()}"
    with stage(progress, "figures"):
        return write_brief(content, out, paper)


def recorded_result(question_id: str, run: int | None = None, ledger_path=None, root=None, seed: int = 1, progress=None, **fit_overrides):
    """The fit of a recorded run: run ``run`` of the ledger, or the current forecast (one is run when there is none).

    Parameters
    ----------
    question_id : str
    run : int, optional
        A succeeded run of ``question_id`` in the ledger.
    ledger_path, root : path, optional
        The ledger (default ``runs/ledger.sqlite`` of the project) and the project folder.
    seed : int
        Seed of the update run when the ledger has none.
    progress : callable, optional
        ``progress("update", done, total)`` around that update, when one is run.
    **fit_overrides
        Passed to :func:`forecast.runs.update.update` (draws, chains, ...).

    Returns
    -------
    (Project, Question, Ledger, dict, FitResult)
        The project, the question as loaded now, the ledger, the run's row and its fit.

    Raises
    ------
    ValueError
        ``run`` is not a succeeded run of ``question_id``.
    """
    from forecast.inference.question import Question
    from forecast.inference.store import load_result
    from forecast.inputs.project import Project
    from forecast.runs.ledger import Ledger, default_path

    project = Project.find(root)
    question = Question.from_inputs(project.load(question_id))
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
        row = ledger.current(question_id)
        if row is None:
            from forecast.runs.update import update

            if progress is not None:
                progress("update", 0, 1)
            outcome = update(question_id, seed=seed, root=project.root, ledger_path=ledger_path, **fit_overrides)
            if progress is not None:
                progress("update", 1, 1)
            row = ledger.get(outcome.run_id)
            result = outcome.result
    if result is None:
        result = load_result(row, question)
    return project, question, ledger, row, result
