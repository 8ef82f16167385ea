"""The result every check returns, and the status vocabulary shared by the checks and the CLI.

A check is a function ``run(context, ...) -> CheckResult`` in its own module. The result is small and
self-describing, so the command line, the brief and a notebook can show any of them the same way:

* ``status``: ``"pass"``, ``"warn"`` (look at it; nothing is known to be wrong) or ``"fail"`` (the
  check found something wrong; ``forecast check`` exits non-zero);
* ``table``: the check's main numbers as a DataFrame (one row per parameter, item, horizon, ...);
* ``text``: two or three sentences in plain words;
* ``figures``: name -> matplotlib Figure (saved as PNG by :func:`forecast.checks.check` when given a
  folder);
* ``tables`` / ``metrics``: secondary tables and the headline numbers of the check (JSON-friendly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Status = Literal["pass", "warn", "fail"]
STATUSES: tuple[str, ...] = ("pass", "warn", "fail")


def worst(*statuses: str) -> str:
    """The most severe of several statuses (``fail`` > ``warn`` > ``pass``)."""
    return max(statuses, key=STATUSES.index) if statuses else "pass"


def _plain(value):
    """A JSON-friendly copy of a metric value (numpy scalars to Python, NaN to None)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class CheckResult:
    """Outcome of one model check.

    Attributes
    ----------
    name : str
        The check's name as ``forecast check --only`` spells it (``"sbc"``, ``"sensitivity"``...).
    status : {"pass", "warn", "fail"}
        ``fail`` makes ``forecast check`` exit with :data:`forecast.checks.EXIT_FAILED`.
    table : pandas.DataFrame
        The check's main table.
    text : str
        A short plain-language summary.
    figures : dict of str to matplotlib.figure.Figure
        Figures by name.
    tables : dict of str to pandas.DataFrame
        Secondary tables by name.
    metrics : dict
        Headline numbers (JSON-friendly) for ``--json`` and for comparing runs.
    seconds : float
        Wall time of the check.
    """

    name: str
    status: Status
    table: pd.DataFrame
    text: str
    figures: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    seconds: float = float("nan")

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"check {self.name}: status must be one of {STATUSES}, got {self.status!r}")

    @property
    def passed(self) -> bool:
        """True unless the check failed (a warning still passes)."""
        return self.status != "fail"

    def to_dict(self) -> dict:
        """JSON-friendly form: name, status, text, metrics, the table as records, figure names."""
        return {
            "name": self.name,
            "status": self.status,
            "text": self.text,
            "metrics": _plain(self.metrics),
            "table": _plain(self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records")),
            "figures": sorted(self.figures),
            "seconds": _plain(float(self.seconds)),
        }

    def __repr__(self) -> str:
        return f"<CheckResult {self.name}: {self.status}>"

    def _repr_html_(self) -> str:
        from html import escape

        colour = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}[self.status]
        return (
            f"<div><b>{escape(self.name)}</b> <span style='color:{colour}'><b>{self.status.upper()}</b></span>"
            f"<p>{escape(self.text)}</p>{self.table.to_html(index=False, escape=True)}</div>"
        )


def figure_of(plot_collection, title: str | None = None):
    """The matplotlib Figure of an ``arviz_plots`` PlotCollection (optionally with a title), laid out
    so that no title or label overlaps another (:func:`forecast.checks.figures.tidy`)."""
    from forecast.checks.figures import figure_of as tidied

    return tidied(plot_collection, title)


def pct(p: float) -> str:
    """A probability as the README prints it (``<1%``, ``5%``, ``>99%``)."""
    from forecast.core.fmt import percent

    return percent(float(p))


def add_figure(figures: dict, problems: list, name: str, make) -> None:
    """``figures[name] = make()``; a plotting error is recorded in ``problems`` instead of raised.

    A figure is never worth losing a check's numbers, but its absence must be visible: the message
    lands in the check's ``metrics["figure_errors"]``.
    """
    try:
        figures[name] = make()
    except Exception as exc:  # noqa: BLE001 - plotting libraries raise many types on odd data
        problems.append(f"{name}: {type(exc).__name__}: {exc}")
