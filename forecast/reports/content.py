"""What a brief holds, gathered once from a run: headline, drivers, influential evidence,
scenarios, changes and provenance (:class:`BriefContent`), and its tables as rows of text.

The PDF (:mod:`.pdf`), the web page (:mod:`.html`) and the figures all read the same content.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from forecast.core.fmt import percent
from forecast.reports.style import Provenance

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
    from forecast.runs.changes import describe_changes

    if run is None:
        return "This fit is not recorded in the ledger: no earlier forecast to compare with."
    changes = run.get("changes") or {}
    if changes.get("replay"):
        return f"A replay point: the forecast as it would have been made on {run['as_of']} with the evidence published by then."
    if changes.get("first_run") or not changes:
        return "First recorded update of this question: no earlier forecast to compare with."
    text = ""
    previous = ledger.get(changes["previous_run"]) if ledger is not None and changes.get("previous_run") else None
    # the rolling headline asks the same question on both dates; P(by a fixed horizon) does not
    if previous and previous.get("rolling_mean") is not None and previous.get("rolling_months"):
        text = (f"Previous update: run {previous['id']} as of {previous['as_of']}, {percent(previous['rolling_mean'])} within "
                f"{previous['rolling_months']} months (\"{previous['rolling_term']}\"). ")
    elif previous and previous.get("headline_mean") is not None:
        text = (f"Previous update: run {previous['id']} as of {previous['as_of']}, {percent(previous['headline_mean'])} by "
                f"{previous['headline_horizon']} (\"{previous['headline_term']}\"). ")
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
    ledger : forecast.runs.ledger.Ledger, optional
        To look up the previous run named by the change report.
    influence, scenarios : bool
        Compute evidence influence / scenario curves (both need the current files to match the
        run's inputs; otherwise they are left out with a note).
    influence_refits : int
        At most this many exact refits where PSIS is unreliable (0: PSIS only, no refit).
    """
    from forecast.inference.store import inputs_changed_since
    from forecast.reports.drivers import drivers_table
    from forecast.reports.scenarios_plot import scenario_headlines

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
        from forecast.analysis.influence import evidence_influence, pareto_k_note

        influence_table = evidence_influence(result, question, refit=influence_refits > 0, max_refits=max(influence_refits, 0))
        notes["influence"].append(pareto_k_note(influence_table))

    curves = None
    if blocked:
        notes["scenarios"].append(blocked)
    elif not scenarios:
        notes["scenarios"].append("Not computed for this brief.")
    elif not getattr(question.spec, "scenarios", None):
        notes["scenarios"].append("No scenarios are declared in the question spec.")
    else:
        from forecast.analysis.scenarios import scenario_curves

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
    limit = content.influence.attrs.get("k_limit", 0.7) if content.influence is not None else 0.7
    return [[r.id, r.grade, f"{100 * r.influence:+.2f} pts", r.method + (f" (k={r.pareto_k:.2f})" if r.method == "psis" and r.pareto_k > limit else ""),
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
