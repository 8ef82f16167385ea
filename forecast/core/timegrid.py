"""The monthly time grid of a question.

Month ``t`` is the half-open interval ``[start + t months, start + (t + 1) months)`` counted from the
grid's ``start`` (a start of ``2022-02-24`` -> month 0 runs to ``2022-03-24``). A question's grid
starts at its indicator library's reference date (:func:`forecast.model.design.make_design`), not at
its risk window, which is a month coordinate on that grid. A date is placed on the
grid as a continuous *month coordinate* ``u(date) = t + fraction of month t elapsed``. Exposure to
risk inside a month is then a fraction in [0, 1]: with the complementary log-log link used by the
hazard model this is exact (a piecewise-constant continuous-time hazard), so an as-of date or a
horizon in the middle of a month needs no rounding.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math

import numpy as np


def to_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def month_start(start: dt.date, t: int) -> dt.date:
    """First day of month ``t`` of the grid that begins at ``start`` (day clipped to the month's end)."""
    months = start.year * 12 + (start.month - 1) + t
    year, month = divmod(months, 12)
    month += 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def month_coordinate(start: dt.date, date: dt.date) -> float:
    """Continuous month coordinate of ``date`` (0.0 at ``start``); negative before it."""
    start, date = to_date(start), to_date(date)
    t = (date.year - start.year) * 12 + (date.month - start.month)
    # step back or forward until month_start(t) <= date < month_start(t + 1)
    while month_start(start, t) > date:
        t -= 1
    while month_start(start, t + 1) <= date:
        t += 1
    a, b = month_start(start, t), month_start(start, t + 1)
    return t + (date - a).days / (b - a).days


def month_index(start: dt.date, date: dt.date) -> int:
    """Index of the grid month that contains ``date``."""
    return int(math.floor(month_coordinate(start, date)))


def exposure(n_months: int, u_from: float, u_to: float) -> np.ndarray:
    """Fraction of each month 0..n_months-1 lying inside [u_from, u_to)."""
    t = np.arange(n_months, dtype=float)
    return np.clip(np.minimum(u_to, t + 1.0) - np.maximum(u_from, t), 0.0, 1.0)


def month_labels(start: dt.date, n_months: int, offset: int = 0) -> list[str]:
    """ISO labels (first day) of months ``offset .. offset + n_months - 1``."""
    return [month_start(start, offset + t).isoformat() for t in range(n_months)]


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Last day of every month from ``start``'s month to ``end``'s month."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(dt.date(y, m, calendar.monthrange(y, m)[1]))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def parse_month(text: str, end: bool = False) -> dt.date:
    """``2022-03`` (first or last day of that month) or a full ISO date."""
    if len(text) == 7:
        y, m = map(int, text.split("-"))
        return dt.date(y, m, calendar.monthrange(y, m)[1] if end else 1)
    return dt.date.fromisoformat(text)
