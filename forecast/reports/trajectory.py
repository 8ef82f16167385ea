"""Figure 1, the trajectory: the forecast as it was made at each past date.

Every succeeded run of kind ``update`` or ``replay`` in the ledger records its **rolling headline**,
P(event within L months of its as-of date | no event by then) (``rolling_*`` columns, L =
``headline_lead_months``): the same question asked on every date, so the points are comparable. A
fixed horizon is not: P(by 2025-12-31) asked in 2022 and in 2025 are different questions, and the
headline horizon jumps to the next one as the as-of date passes a horizon's lead. The trajectory
follows the rolling headline by default (runs recorded before it existed, or with another L, are
left out); ``horizon=`` follows one fixed horizon instead (from each run's ``horizons`` table).
Where several runs share an as-of date (a forced re-run, an update after a replay) the latest run
wins.

Runs are **points with their intervals** (50% and 90% as bars); only a replay's consecutive
monthly points are joined by a line and continuous bands (``segment``): a line between two runs
months apart would draw a path nobody forecast.

Evidence items are marked below the curve on the date they were *published* (when they could
first move a forecast), with the marker shape given by the reliability letter of their Admiralty
grade (filled for the usually reliable A-C, hollow for D-F); the ICD 203 bands are shaded on the
probability axis.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from forecast.reports.style import (
    BAND_50,
    BAND_90,
    DARK,
    GRADE_MARKERS,
    INK,
    Provenance,
    grade_marker,
    icd203_top,
    layout,
    new_figure,
    percent_axis,
    shade_icd203,
    source_line,
    styled,
    title_figure,
)

KINDS = ("update", "replay")
COLUMNS = ["as_of", "run_id", "kind", "horizon", "months", "mean", "lower_50", "upper_50", "lower_90", "upper_90", "diagnostics_passed", "segment"]
STATS = ("mean", "lower_50", "upper_50", "lower_90", "upper_90")


def _horizon_rows(value) -> list[dict]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return list(value)


def present(value) -> bool:
    """True for a recorded ledger value: not None, not NaN (a column a run predates reads as either)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _empty(quantity: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(columns=COLUMNS)
    frame.attrs["quantity"] = quantity
    return frame


def segments(frame: pd.DataFrame) -> np.ndarray:
    """Segment number of each row (sorted by ``as_of``): consecutive monthly replay points share one.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``as_of`` (datetime) and ``kind``, one row per as-of date, in date order.

    Returns
    -------
    numpy.ndarray
        (n,) ints from 0; a row starts a new segment unless it and the row before are both replay
        points one calendar month apart.
    """
    out = np.zeros(len(frame), dtype=int)
    month = (frame["as_of"].dt.year * 12 + frame["as_of"].dt.month).to_numpy()
    kind = frame["kind"].to_numpy()
    for i in range(1, len(frame)):
        joined = kind[i] == kind[i - 1] == "replay" and month[i] - month[i - 1] == 1
        out[i] = out[i - 1] + (0 if joined else 1)
    return out


def trajectory_frame(runs: pd.DataFrame, horizon=None, until_as_of=None) -> pd.DataFrame:
    """One row per as-of date: the forecast made then.

    Parameters
    ----------
    runs : pandas.DataFrame
        Ledger rows (:meth:`forecast.runs.ledger.Ledger.history` or :func:`forecast.history`).
    horizon : date or str, optional
        Follow P(event by this fixed date) instead of the rolling headline.
    until_as_of : date, optional
        Ignore runs with a later as-of date (a brief of an older run shows the past as it was then).

    Returns
    -------
    pandas.DataFrame
        Columns ``as_of`` (datetime), ``run_id``, ``kind``, ``horizon`` (the date the probability
        runs to: the rolling window's end, or the fixed horizon), ``months`` (L; None for a fixed
        horizon), ``mean``, ``lower_50``, ``upper_50``, ``lower_90``, ``upper_90``,
        ``diagnostics_passed``, ``segment`` (:func:`segments`), sorted by ``as_of``.
        ``attrs["quantity"]`` names what the rows are: ``"P(event within 12 months)"`` or
        ``"P(event by 2025-12-31)"`` (None for an empty frame without one).
    """
    if runs is None or len(runs) == 0:
        return _empty()
    usable = runs[(runs["status"] == "succeeded") & (runs["kind"].isin(KINDS))].copy()
    if until_as_of is not None:
        usable = usable[usable["as_of"].astype(str) <= pd.Timestamp(until_as_of).date().isoformat()]
    usable = usable.sort_values("id")
    rows = []
    if horizon is None:
        if "rolling_mean" not in usable.columns:
            return _empty()
        with_rolling = usable[[present(v) for v in usable["rolling_mean"]]]
        if not len(with_rolling):
            return _empty()
        months = int(with_rolling.iloc[-1]["rolling_months"])  # the L of the latest run: only like with like
        quantity = f"P(event within {months} months)"
        for rec in with_rolling.to_dict(orient="records"):
            if int(rec["rolling_months"]) != months:
                continue
            rows.append({"as_of": pd.Timestamp(rec["as_of"]), "run_id": int(rec["id"]), "kind": rec["kind"], "horizon": str(rec["rolling_until"]),
                         "months": months, **{c: float(rec[f"rolling_{c}"]) for c in STATS},
                         "diagnostics_passed": bool(rec.get("diagnostics_passed"))})
    else:
        key = pd.Timestamp(horizon).date().isoformat()
        quantity = f"P(event by {key})"
        for rec in usable.to_dict(orient="records"):
            for h in _horizon_rows(rec.get("horizons")):
                if str(h.get("horizon")) == key:
                    rows.append({"as_of": pd.Timestamp(rec["as_of"]), "run_id": int(rec["id"]), "kind": rec["kind"], "horizon": key, "months": None,
                                 **{c: float(h[c]) for c in STATS}, "diagnostics_passed": bool(rec.get("diagnostics_passed"))})
    if not rows:
        return _empty(quantity)
    frame = pd.DataFrame(rows).sort_values(["as_of", "run_id"])
    # the latest run at each as-of date wins (rows are ordered by run id within a date)
    frame = frame.drop_duplicates("as_of", keep="last").reset_index(drop=True)
    frame["segment"] = segments(frame)
    frame = frame[COLUMNS]
    frame.attrs["quantity"] = quantity
    return frame


def evidence_marks(evidence, spec, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Evidence items about this question published in [start, end]: id, published, grade, resolves."""
    from forecast.model.design import items_for_question

    located = [e if hasattr(e, "item") else _Located(e) for e in (evidence or [])]
    rows = []
    for li in items_for_question(spec, located):
        it = li.item
        if start <= it.published <= end:
            rows.append({"id": it.id, "published": pd.Timestamp(it.published), "grade": it.grade, "resolves": bool(it.resolves)})
    return pd.DataFrame(rows, columns=["id", "published", "grade", "resolves"]).sort_values(["published", "id"]).reset_index(drop=True)


class _Located:
    """Wrap a bare EvidenceItem so items_for_question (which takes LocatedItem) accepts it."""

    def __init__(self, item):
        self.item = item


@styled
def plot_trajectory(runs: pd.DataFrame, provenance: Provenance, spec, evidence=(), horizon=None, width: float = 8.0, height: float = 4.6):
    """Draw the trajectory of the rolling headline (or of P(event by ``horizon``)) from ledger runs (see module docstring).

    Parameters
    ----------
    runs : pandas.DataFrame
        Ledger rows; only succeeded ``update`` and ``replay`` runs up to ``provenance.as_of`` are used.
    provenance : Provenance
        Question, as-of date and fingerprints for the title and source line.
    spec : QuestionSpec
        Selects the evidence items that bear on the question.
    evidence : list of LocatedItem or EvidenceItem
        Items to mark on the time axis (those published inside the plotted period).
    horizon : date, optional
        Follow this fixed horizon instead of the rolling headline.

    Returns
    -------
    matplotlib.figure.Figure
        Axes: ``fig.axes[0]`` the probability panel, ``fig.axes[1]`` the evidence strip.
    """
    frame = trajectory_frame(runs, horizon, until_as_of=provenance.as_of)
    fig = new_figure(width, height)
    top = title_figure(fig, provenance, "Trajectory of the forecast")
    layout(fig, top_inches=top + 0.3, bottom_inches=0.75, left=0.1, right=0.86, hspace=0.08)
    grid = fig.add_gridspec(2, 1, height_ratios=[5, 1])
    ax = fig.add_subplot(grid[0])
    strip = fig.add_subplot(grid[1], sharex=ax)
    ax.set_gid("trajectory")
    strip.set_gid("evidence")

    start, last, end = draw_trajectory(ax, frame, provenance.as_of, band_labels=True)
    if len(frame):
        quantity = frame.attrs["quantity"]
        ax.set_ylabel(quantity)
        what = (f"P({provenance.event} within {int(frame['months'].iloc[-1])} months of each date" if horizon is None
                else f"P({provenance.event} by {frame['horizon'].iloc[-1]}")
        ax.set_title(f"{what}), as forecast on each date ({len(frame)} run{'s' if len(frame) != 1 else ''})", loc="left")
    else:
        ax.text(0.5, 0.5, "no succeeded update or replay runs with this forecast in the ledger", transform=ax.transAxes, ha="center", va="center")
    ax.tick_params(labelbottom=False)
    handles, labels = ax.get_legend_handles_labels()

    marks = evidence_marks(evidence, spec, start, last)
    _draw_evidence(strip, marks)
    strip.set_xlim(start, end)
    grade_handles, grade_labels = strip.get_legend_handles_labels()
    if handles or grade_handles:
        ax.legend(handles + grade_handles, labels + grade_labels, loc="upper left", fontsize=6.5, ncols=3, frameon=True,
                  facecolor="white", edgecolor="white", framealpha=0.9)
    source_line(fig, provenance)
    return fig


def draw_trajectory(ax, frame: pd.DataFrame, as_of: dt.date, band_labels: bool = True) -> tuple[dt.date, dt.date, dt.date]:
    """Draw ``frame`` (:func:`trajectory_frame`) into ``ax`` with the ICD 203 shading; set the limits.

    A segment of two or more consecutive monthly replay points is a line (``"mean"``) with
    continuous 50% / 90% bands; every other run is a point (``"run"``) with its intervals as
    vertical bars. Flagged runs are circled.

    Returns
    -------
    (start, last, end)
        The x axis's start, the last run's date and the axis's end.
    """
    if len(frame):
        top = icd203_top(frame["upper_90"])
        shade_icd203(ax, top, label=band_labels)
        ax.set_ylim(0, top)
        labelled = set()

        def once(name: str) -> str:
            if name in labelled:
                return "_nolegend_"
            labelled.add(name)
            return name

        size = frame.groupby("segment")["segment"].transform("size")
        for _, seg in frame[size >= 2].groupby("segment", sort=True):
            x = seg["as_of"].to_numpy()
            ax.fill_between(x, seg["lower_90"], seg["upper_90"], color=BAND_90, lw=0, label=once("90% interval"), zorder=1)
            ax.fill_between(x, seg["lower_50"], seg["upper_50"], color=BAND_50, lw=0, label=once("50% interval"), zorder=2)
            ax.plot(x, seg["mean"], color=INK, ls="-", marker="o", ms=3.0, label=once("mean"), zorder=3)
        single = frame[size < 2]
        if len(single):  # every other run: a point with its intervals, joined to nothing
            x = single["as_of"].to_numpy()
            ax.vlines(x, single["lower_90"], single["upper_90"], color=BAND_90, lw=6, label=once("90% interval"), zorder=1)
            ax.vlines(x, single["lower_50"], single["upper_50"], color=BAND_50, lw=6, label=once("50% interval"), zorder=2)
            ax.plot(x, single["mean"], ls="none", color=INK, marker="D", ms=4.0, label="run", zorder=3)
        flagged = frame[~frame["diagnostics_passed"].astype(bool)]
        if len(flagged):
            ax.plot(flagged["as_of"].to_numpy(), flagged["mean"], ls="none", marker="o", ms=7, mfc="none", mec=INK, mew=1.0,
                    label="diagnostics flagged", zorder=4)
        first, last = frame["as_of"].min().date(), frame["as_of"].max().date()
    else:
        first = last = as_of
        ax.set_ylim(0, 0.1)
    span = max((last - first).days, 1)
    pad = dt.timedelta(days=max(15, int(span * 0.03)))
    # a single run gets half a year of context before it (the evidence that led up to it)
    start = first - (dt.timedelta(days=180) if span < 60 else pad)
    end = last + pad
    ax.set_xlim(start, end)
    percent_axis(ax)
    return start, last, end


def _draw_evidence(strip, marks: pd.DataFrame) -> None:
    """Evidence strip: one marker per item at its publication date, stacked when dates coincide."""
    strip.set_yticks([])
    strip.grid(False, axis="y")
    strip.spines["left"].set_visible(False)
    strip.set_ylabel("evidence", rotation=0, ha="right", va="center", fontsize=7)
    if not len(marks):
        strip.set_ylim(0, 1)
        strip.text(0.5, 0.5, "no evidence published in this period", transform=strip.transAxes, ha="center", va="center", fontsize=7, color=DARK)
        return
    stack = marks.groupby("published").cumcount()
    marks = marks.assign(level=stack)
    for letter in GRADE_MARKERS:
        sel = marks[(marks["grade"].str[0] == letter) & ~marks["resolves"]]
        if len(sel):
            strip.plot(sel["published"].to_numpy(), sel["level"], ls="none", ms=4.5, label=f"grade {letter}", **grade_marker(letter))
    resolved = marks[marks["resolves"]]
    for when in resolved["published"].to_numpy():
        strip.axvline(when, color=INK, lw=1.5)
        strip.figure.axes[0].axvline(when, color=INK, lw=1.5, ls="--", label="resolved")
    strip.set_ylim(-0.8, max(2, int(marks["level"].max()) + 0.8))
