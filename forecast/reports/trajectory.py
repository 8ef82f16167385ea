"""Figure 1, the trajectory: P(event by a fixed horizon) as it was forecast at each past date.

Every succeeded run of kind ``update`` or ``replay`` in the ledger holds the summary table of its
fit (``horizons`` JSON: mean and 50% / 90% equal-tailed intervals at each horizon still ahead of
its as-of date). The trajectory follows **one** horizon (by default the headline horizon of the
latest run) across runs, so the points are comparable: each is P(event by H | no event by that
run's as-of date). Where several runs share an as-of date (a forced re-run, an update after a
replay) the latest run wins.

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
COLUMNS = ["as_of", "run_id", "kind", "horizon", "mean", "lower_50", "upper_50", "lower_90", "upper_90", "diagnostics_passed"]


def _horizon_rows(value) -> list[dict]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return list(value)


def trajectory_frame(runs: pd.DataFrame, horizon=None, until_as_of=None) -> pd.DataFrame:
    """One row per as-of date: the forecast of P(event by ``horizon``) made then.

    Parameters
    ----------
    runs : pandas.DataFrame
        Ledger rows (:meth:`forecast.runs.ledger.Ledger.history` or :func:`forecast.history`).
    horizon : date or str, optional
        The horizon to follow; default the headline horizon of the latest usable run.
    until_as_of : date, optional
        Ignore runs with a later as-of date (a brief of an older run shows the past as it was then).

    Returns
    -------
    pandas.DataFrame
        Columns ``as_of`` (datetime), ``run_id``, ``kind``, ``horizon``, ``mean``, ``lower_50``,
        ``upper_50``, ``lower_90``, ``upper_90``, ``diagnostics_passed``, sorted by ``as_of``.
    """
    if runs is None or len(runs) == 0:
        return pd.DataFrame(columns=COLUMNS)
    usable = runs[(runs["status"] == "succeeded") & (runs["kind"].isin(KINDS))].copy()
    if until_as_of is not None:
        usable = usable[usable["as_of"].astype(str) <= pd.Timestamp(until_as_of).date().isoformat()]
    usable = usable.sort_values("id")
    if horizon is None:
        with_head = usable[usable["headline_horizon"].notna()]
        if not len(with_head):
            return pd.DataFrame(columns=COLUMNS)
        horizon = with_head.iloc[-1]["headline_horizon"]
    key = pd.Timestamp(horizon).date().isoformat()
    rows = []
    for rec in usable.to_dict(orient="records"):
        for h in _horizon_rows(rec.get("horizons")):
            if str(h.get("horizon")) == key:
                rows.append(
                    {
                        "as_of": pd.Timestamp(rec["as_of"]),
                        "run_id": int(rec["id"]),
                        "kind": rec["kind"],
                        "horizon": key,
                        **{c: float(h[c]) for c in ("mean", "lower_50", "upper_50", "lower_90", "upper_90")},
                        "diagnostics_passed": bool(rec.get("diagnostics_passed")),
                    }
                )
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(rows).sort_values(["as_of", "run_id"])
    # the latest run at each as-of date wins (rows are ordered by run id within a date)
    return frame.drop_duplicates("as_of", keep="last").reset_index(drop=True)[COLUMNS]


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
    """Draw the trajectory of P(event by ``horizon``) from ledger runs (see module docstring).

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
        Horizon to follow (default: the latest run's headline horizon).

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
        head = frame["horizon"].iloc[-1]
        ax.set_ylabel(f"P(event by {head})")
        ax.set_title(f"P({provenance.event} by {head}), as forecast on each date ({len(frame)} runs)", loc="left")
    else:
        ax.text(0.5, 0.5, "no succeeded update or replay runs in the ledger", transform=ax.transAxes, ha="center", va="center")
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
    """Draw the bands, the mean and the flagged runs of ``frame`` (:func:`trajectory_frame`) into
    ``ax`` with the ICD 203 shading; set the limits. Returns (start, last run, end) of the x axis."""
    if len(frame):
        x = frame["as_of"].to_numpy()
        top = icd203_top(frame["upper_90"])
        shade_icd203(ax, top, label=band_labels)
        ax.set_ylim(0, top)
        if len(frame) >= 2:
            ax.fill_between(x, frame["lower_90"], frame["upper_90"], color=BAND_90, lw=0, label="90% interval", zorder=1)
            ax.fill_between(x, frame["lower_50"], frame["upper_50"], color=BAND_50, lw=0, label="50% interval", zorder=2)
        else:  # one run: the bands are vertical bars at its date
            ax.vlines(x, frame["lower_90"], frame["upper_90"], color=BAND_90, lw=10, label="90% interval", zorder=1)
            ax.vlines(x, frame["lower_50"], frame["upper_50"], color=BAND_50, lw=10, label="50% interval", zorder=2)
        ax.plot(x, frame["mean"], color=INK, ls="-", marker="o", ms=3.5, label="mean", zorder=3)
        flagged = frame[~frame["diagnostics_passed"]]
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
