"""What a brief holds, gathered once from a run: headline, drivers, influential evidence,
scenarios, changes and provenance (:class:`BriefContent`), and its tables as rows of text.

The PDF (:mod:`.pdf`), the web page (:mod:`.html`) and the figures all read the same content.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from forecast.core.fmt import percent, percent_range, points
from forecast.core.progress import stage
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
    # what the brief could not show, and why, by section: "influence", "scenarios", "sensitivity", "general"
    notes: dict = field(default_factory=lambda: {"influence": [], "scenarios": [], "sensitivity": [], "general": []})
    # power-scaling prior sensitivity of the headline (:func:`prior_sensitivity`), None when not computed
    sensitivity: dict | None = None
    generated: dt.date = field(default_factory=dt.date.today)
    # each source's prior and posterior weight (forecast.analysis.sources), when the question learns them
    sources: pd.DataFrame | None = None

    @property
    def passed(self) -> bool:
        """True when the run's diagnostics pass."""
        return self.result.passed

    @property
    def diagnostics_line(self) -> str:
        """The diagnostics in one line (r_hat, ESS, divergences, MCSE)."""
        return self.result.diagnostics.line()

    @property
    def problems(self) -> list[str]:
        """The diagnostics problems, one sentence each."""
        return list(self.result.diagnostics.problems)

    @property
    def title(self) -> str:
        """The question as the spec words it."""
        return self.result.spec.question

    def top_drivers(self, n: int = TOP_DRIVERS) -> pd.DataFrame:
        """The ``n`` indicators with the largest push on the headline."""
        return self.drivers.head(n)

    def top_evidence(self, n: int = TOP_EVIDENCE) -> pd.DataFrame:
        """The ``n`` most influential evidence items (an empty table when influence was not computed)."""
        if self.influence is None:
            return pd.DataFrame(columns=["id", "indicator", "grade", "quote", "influence", "pareto_k", "method"])
        return self.influence.head(n)

    def footer_lines(self) -> list[str]:
        """The provenance footer: run, fingerprints, package versions, seed and sampler settings."""
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

    # -- what the numbers mean ----------------------------------------------------------------------
    def headline_notes(self) -> list[str]:
        """Plain-words reading of the headline: what the number, the interval and the term are, and
        why the average sits outside the middle of the plausible values when it does."""
        return headline_notes(self.headline, self.result.spec.event, self.result.as_of)

    def sensitivity_line(self) -> str:
        """One line on the prior sensitivity of the headline (or why it was not computed)."""
        if self.sensitivity is not None:
            return self.sensitivity["text"]
        return "Prior sensitivity: " + (" ".join(self.notes.get("sensitivity") or []) or "not computed for this brief.")

    @property
    def sensitivity_flag(self) -> str | None:
        """``"prior-dominated"`` or ``"prior-data conflict"`` when the headline is either, else None."""
        return None if self.sensitivity is None else self.sensitivity.get("flag")

    def sources_line(self) -> str | None:
        """One sentence of each source's weight, prior median -> posterior mean (90%), or None in the fixed mode."""
        if self.sources is None or not len(self.sources):
            return None
        parts = [f"{r.source} ({r.letter}, {r.items} item{'' if r.items == 1 else 's'}) {r.prior_median:.2f} -> {r.posterior_mean:.2f} ({r.posterior_lower_90:.2f}-{r.posterior_upper_90:.2f})"
                 for r in self.sources.itertuples()]
        return ("Source weights, learned from the evidence (prior median -> posterior mean, 90% interval; 1 = an A-graded source; "
                "a source whose reports disagree with the rest loses weight): " + "; ".join(parts) + ".")

    def footnotes(self, section: str) -> list[str]:
        """The definitions a reader needs for ``section`` (``drivers``, ``evidence``, ``scenarios``,
        ``footer``): one ``"term: meaning"`` per quantity shown there."""
        return section_notes(section, self)


# --------------------------------------------------------------------------------------------------
# collecting the content


def headline_of(result, run: dict | None) -> dict:
    """The headline numbers: the ledger row's when the brief is of a recorded run, else the result's."""
    sentence = result.headline_sentence()
    if run is not None and run.get("headline_mean") is not None:
        out = {
            "horizon": run["headline_horizon"],
            "mean": float(run["headline_mean"]),
            "lower_90": float(run["headline_lower_90"]),
            "upper_90": float(run["headline_upper_90"]),
            "term": run["headline_term"],
            "sentence": sentence,
        }
        # the middle of the plausible values, from the run's recorded horizon table
        for h in run.get("horizons") or []:
            if str(h.get("horizon")) == str(run["headline_horizon"]):
                out.update({k: float(h[k]) for k in ("median", "lower_50", "upper_50") if h.get(k) is not None})
        return out
    table = result.summary()
    head = table[table["headline"]] if len(table) else table
    if not len(head):
        return {"horizon": None, "mean": None, "lower_90": None, "upper_90": None, "term": None, "sentence": sentence}
    row = head.iloc[0]
    return {"horizon": row["horizon"].isoformat(), "mean": float(row["mean"]), "lower_90": float(row["lower_90"]),
            "upper_90": float(row["upper_90"]), "term": row["icd203"], "sentence": sentence,
            "median": float(row["median"]), "lower_50": float(row["lower_50"]), "upper_50": float(row["upper_50"])}


# --------------------------------------------------------------------------------------------------
# what every number means, in plain words


def skew_note(head: dict) -> str | None:
    """Why the average lies outside the middle half of the plausible values, when it does.

    A rare event's probability is skewed: most plausible values are small and a few are large, so
    the mean (the headline, and the number the ICD 203 term describes) sits above the median and
    can sit above the whole 50% interval. A reader who sees "almost no chance" next to an interval
    reaching 21% needs that said in words. Returns None when the mean is inside the 50% interval.
    """
    needed = ("mean", "median", "lower_50", "upper_50", "lower_90", "upper_90")
    if any(head.get(k) is None for k in needed):
        return None
    mean, median = head["mean"], head["median"]
    middle = f"{percent(head['lower_50'])} and {percent(head['upper_50'])}"
    if mean > head["upper_50"]:
        return (f"Why the average is above most plausible values: half of them lie between {middle} (median {percent(median)}), "
                f"but a few high ones, up to {percent(head['upper_90'])}, pull the average up to {percent(mean)}. "
                f"\"{head['term']}\" describes the average: the most likely values are lower, and a higher one cannot be ruled out.")
    if mean < head["lower_50"]:
        return (f"Why the average is below most plausible values: half of them lie between {middle} (median {percent(median)}), "
                f"but a few low ones, down to {percent(head['lower_90'])}, pull the average down to {percent(mean)}. "
                f"\"{head['term']}\" describes the average: the most likely values are higher.")
    return None


def headline_notes(head: dict, event: str, as_of) -> list[str]:
    """How to read the headline sentence, with its own numbers (and :func:`skew_note` when it applies)."""
    if head.get("mean") is None:
        return []
    notes = [f"How to read it: {percent(head['mean'])} is the average of the model's plausible values for this probability; "
             f"9 in 10 of them lie between {percent(head['lower_90'])} and {percent(head['upper_90'])} (the 90% interval: how unsure "
             f"we are about the probability itself); \"{head['term']}\" is the word Intelligence Community Directive 203 gives to the average."]
    skew = skew_note(head)
    if skew:
        notes.append(skew)
    return notes


# term -> meaning, for every quantity the brief shows (the tables' column headers among them)
GLOSSARY = {
    "(90%)": "9 in 10 plausible values lie in the bracket",
    "direction": "toward = a higher indicator makes the event more likely, against = less likely",
    "effect per +1": "change of the monthly chance of the event per step up the indicator's scale, on a log scale "
                     "(+0.69 doubles it, -0.69 halves it)",
    "level now": "where the indicator stands now: 0 = as the source text describes it, +1 = a clear shift up, +2 = extreme",
    "push now": "effect x level now: how much the indicator, where it stands, raises (+) or lowers (-) that chance "
                "against the source text's picture",
    "P(toward)": "the probability that the push now is above 0, i.e. toward the event",
    "influence": "the headline with the item minus without it, in percentage points (pts; + toward the event)",
    "grade": "Admiralty code: source reliability A (best) to F, credibility of the item 1 (confirmed) to 6",
    "method": "psis = estimated without refitting (Pareto-smoothed importance sampling), refit = fitted again without the item",
    "Pareto k": "how reliable a psis estimate is; above the limit in the note under the table (0.7, lower with few draws) "
                "it is not, and the item is refitted (refit) or shown with its k",
    "P (90%)": "the average probability of the event by the headline date if the scenario held (90% interval)",
    "vs forecast": "that minus the headline, in percentage points",
    "diagnostics": "checks of the sampling",
    "r_hat": "chains agree",
    "ESS": "effectively independent draws",
    "divergences": "failed steps",
    "headline MCSE": "sampling error of the headline",
    "fingerprints": "identify the exact files, code and settings of the run",
}

SECTION_TERMS = {
    "drivers": ("direction", "effect per +1", "level now", "push now", "P(toward)", "(90%)"),
    "evidence": ("influence", "grade", "method", "Pareto k"),
    "scenarios": ("P (90%)", "vs forecast"),
}


def section_notes(section: str, content: "BriefContent | None" = None) -> list[str]:
    """``"term: meaning"`` lines for a section of the brief (see :data:`GLOSSARY`)."""
    if section == "footer":
        th = content.result.spec.thresholds if content is not None else None
        limits = (f"r_hat <= {th.r_hat}", f"ESS >= {th.ess:.0f}", f"divergences <= {th.divergences}", f"headline MCSE <= {th.headline_mcse}") \
            if th is not None else ("", "", "", "")
        parts = [f"{t} ({GLOSSARY[t]}{', ' + lim if lim else ''})" for t, lim in zip(("r_hat", "ESS", "divergences", "headline MCSE"), limits)]
        return ["Diagnostics are " + GLOSSARY["diagnostics"] + ": " + ", ".join(parts) + ". "
                f"Fingerprints {GLOSSARY['fingerprints']}."]
    lines = [f"{term}: {GLOSSARY[term]}." for term in SECTION_TERMS[section]]
    influence = getattr(content, "influence", None)
    if section == "evidence" and influence is not None:
        from forecast.analysis.influence import pareto_k_note

        # the one line on k: the limit the table applied, and the unreliable estimates it kept
        lines = [line for line in lines if not line.startswith("Pareto k:")] + [pareto_k_note(influence)]
    return lines


# --------------------------------------------------------------------------------------------------
# prior sensitivity of the headline (power-scaling, as `forecast check --only sensitivity`)


SENSITIVITY_WORDS = {
    "prior-dominated": "PRIOR-DOMINATED: the headline mostly restates the starting assumptions (the priors read from the source "
                       "text); the evidence and the months without the event barely move it",
    "prior-data conflict": "PRIOR-DATA CONFLICT: the starting assumptions (the priors read from the source text) and the evidence "
                           "pull the headline different ways",
}


def prior_sensitivity(result) -> dict:
    """Power-scaling sensitivity of the headline, computed as ``forecast check``'s sensitivity check
    computes it (:func:`forecast.checks.sensitivity.sensitivity_table`, ArviZ's ``psense``) on this
    run's posterior: no refit; PyMC evaluates the log prior and log likelihood of the stored draws.

    Returns
    -------
    dict
        ``prior`` and ``likelihood`` sensitivity of the headline, ``threshold``, ``flag``
        (``"prior-dominated"``, ``"prior-data conflict"`` or None) and ``text``, one line in plain words.

    Raises
    ------
    ValueError
        The run has no headline horizon, or its posterior lacks what the model needs (a replay point
        reweighted from an anchor keeps no latent paths).
    """
    import xarray as xr

    from forecast.checks.sensitivity import PRIOR_VARIABLES, THRESHOLD, sensitivity_table
    from forecast.inference.sampling import log_likelihood, log_prior

    if result.headline is None or result.design.resolved_on is not None:
        raise ValueError("no open headline to test")
    post = result.idata["posterior"].to_dataset()
    prior = log_prior(result.design, post, PRIOR_VARIABLES)  # first: it names what a reweighted replay point lacks
    idata = xr.DataTree.from_dict({"posterior": post, "log_likelihood": log_likelihood(result.design, post), "log_prior": prior})
    table = sensitivity_table(idata, result.headline.isoformat())
    head = table[table["headline"]]
    if not len(head):
        raise ValueError("the headline is not among the sensitivity table's quantities")
    row = head.iloc[0]
    flag = row["diagnosis"] or None
    numbers = f"prior sensitivity {row['prior_sensitivity']:.3f}, data sensitivity {row['likelihood_sensitivity']:.3f}; flagged at {THRESHOLD}"
    if flag:
        text = f"Prior sensitivity: {SENSITIVITY_WORDS[flag]} ({numbers})."
    else:
        text = ("Prior sensitivity: the headline is not decided by the starting assumptions alone; the evidence and the months without "
                f"the event move it (power-scaling: {numbers}).")
    return {"prior": float(row["prior_sensitivity"]), "likelihood": float(row["likelihood_sensitivity"]), "threshold": THRESHOLD,
            "flag": flag, "text": text}


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
            influence: bool = True, influence_refits: int = 3, scenarios: bool = True, sensitivity: bool = True,
            progress=None) -> BriefContent:
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
        At most this many refits where PSIS is unreliable (0: PSIS only, no refit).
    sensitivity : bool
        Compute the power-scaling prior sensitivity of the headline (:func:`prior_sensitivity`).
    progress : callable, optional
        ``progress(stage, done, total)`` as the slow parts advance: ``"influence refits"`` (the
        refits, each NUTS without one item, warm-started from the fit), ``"scenarios"`` and
        ``"prior sensitivity"`` (a few seconds each).
    """
    from forecast.inference.store import inputs_changed_since
    from forecast.reports.drivers import drivers_table
    from forecast.reports.scenarios_plot import scenario_headlines

    notes: dict[str, list[str]] = {"influence": [], "scenarios": [], "sensitivity": [], "general": []}
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
        from forecast.analysis.influence import evidence_influence

        tick = (lambda done, total: progress("influence refits", done, total)) if progress is not None else None
        influence_table = evidence_influence(result, question, refit=influence_refits > 0, max_refits=max(influence_refits, 0), progress=tick)

    curves = None
    if blocked:
        notes["scenarios"].append(blocked)
    elif not scenarios:
        notes["scenarios"].append("Not computed for this brief.")
    elif not getattr(question.spec, "scenarios", None):
        notes["scenarios"].append("No scenarios are declared in the question spec.")
    else:
        from forecast.analysis.scenarios import scenario_curves

        with stage(progress, "scenarios"):
            curves = scenario_curves(result, question)

    psense = None
    if not sensitivity:
        notes["sensitivity"].append("not computed for this brief.")
    else:
        with stage(progress, "prior sensitivity"):
            try:
                psense = prior_sensitivity(result)
            except ValueError as exc:
                notes["sensitivity"].append(f"not computed ({exc}).")

    source_table = None
    if result.design.learned_sources:
        from forecast.analysis.sources import source_weights

        source_table = source_weights(result, question)

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
        sensitivity=psense,
        sources=source_table,
    )


def driver_rows(content: BriefContent, n: int = TOP_DRIVERS) -> list[list[str]]:
    """Rows of the drivers table: indicator, effect, current level, push on the headline (90% intervals)."""
    rows = []
    for r in content.top_drivers(n).itertuples():
        level = "" if pd.isna(r.level_mean) else f"{r.level_mean:+.2f} ({r.level_lower_90:+.2f} to {r.level_upper_90:+.2f})"
        push = "" if pd.isna(r.push_mean) else f"{r.push_mean:+.2f} ({r.push_lower_90:+.2f} to {r.push_upper_90:+.2f})"
        toward = "" if pd.isna(r.p_toward) else percent(r.p_toward)
        rows.append([r.name, r.direction, f"{r.effect_mean:+.2f} ({r.effect_lower_90:+.2f} to {r.effect_upper_90:+.2f})", level, push, toward])
    return rows


DRIVER_HEADER = ["indicator", "direction", "effect per +1 (90%)", "level now (90%)", "push now (90%)", "P(toward)"]
EVIDENCE_HEADER = ["item", "grade", "influence", "method", "quote"]
SCENARIO_HEADER = ["scenario", "P (90%)", "vs forecast", "what it assumes"]


K_SHOWN = 0.7  # a PSIS estimate above this Pareto k is shown with its k (unreliable), unless the table says otherwise


def method_text(method: str, pareto_k: float, limit: float = K_SHOWN) -> str:
    """``psis``, ``refit`` or ``psis (k=0.91)`` when the PSIS estimate is unreliable (k above ``limit``)."""
    return method + (f" (k={pareto_k:.2f})" if method == "psis" and pareto_k > limit else "")


def evidence_rows(content: BriefContent, n: int = TOP_EVIDENCE) -> list[list[str]]:
    """Rows of the evidence table: id, grade, influence in points, how it was computed (PSIS with Pareto k, or refit), quote."""
    limit = content.influence.attrs.get("k_limit", K_SHOWN) if content.influence is not None else K_SHOWN
    return [[r.id, r.grade, points(r.influence), method_text(r.method, r.pareto_k, limit), r.quote] for r in content.top_evidence(n).itertuples()]


def scenario_rows(content: BriefContent) -> list[list[str]]:
    """Rows of the scenarios table: scenario, its headline, the change from the base headline."""
    rows = []
    base = content.headline.get("mean")
    for r in content.scenario_headlines.itertuples():
        if r.scenario == "baseline":
            continue
        delta = "" if base is None else points(r.mean - base)
        rows.append([r.name, f"{percent(r.mean)} ({percent_range(r.lower_90, r.upper_90)})", delta, r.description])
    return rows


SOURCE_HEADER = ["source", "kind", "letter", "items", "prior weight (90%)", "posterior weight (90%)", "posterior / prior", "P(below prior)"]


def source_rows(table: pd.DataFrame) -> list[list[str]]:
    """The table as text rows (:data:`HEADER`), as the CLI, the notebook and the brief show it."""
    out = []
    for r in table.itertuples():
        fixed = r.mode == "fixed"
        prior = f"{r.prior_median:.2f}" + ("" if fixed else f" ({r.prior_lower_90:.2f}-{r.prior_upper_90:.2f})")
        post = f"{r.posterior_mean:.2f}" + (" (fixed)" if fixed else f" ({r.posterior_lower_90:.2f}-{r.posterior_upper_90:.2f})")
        out.append([r.source, r.kind, r.letter, str(r.items), prior, post, f"{r.ratio:.2f}", "" if fixed else f"{r.p_below:.0%}"])
    return out
