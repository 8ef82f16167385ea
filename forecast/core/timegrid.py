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
import re

import numpy as np

# --------------------------------------------------------------------------------------------------
# reading dates strictly
#
# Every date a user writes (question spec, indicator library, evidence YAML/CSV/DataFrame, the
# command line's --as-of/--from/--to) is read by :func:`parse_date`. Python's ``date.fromisoformat``
# accepts far more than ``YYYY-MM-DD`` since 3.11 (``20240615``, ``2024-W40-1``), and YAML or pandas
# readers turn integers into Unix timestamps; every such form is refused with the date to write.

DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
EXAMPLE_DATE = "2024-06-15"


class DateFormatError(ValueError):
    """A date not written ``YYYY-MM-DD`` (or an impossible one); the message says what to write."""


def _suggestion(text: str) -> str | None:
    """The ``YYYY-MM-DD`` form of a date written another unambiguous way, or None."""
    candidates = [
        # 20240615 (basic ISO form)
        (r"^(\d{4})(\d{2})(\d{2})$", lambda m: dt.date(int(m[1]), int(m[2]), int(m[3]))),
        # 2024/06/15, 2024.06.15, 2024_06_15
        (r"^(\d{4})[/._](\d{1,2})[/._](\d{1,2})$", lambda m: dt.date(int(m[1]), int(m[2]), int(m[3]))),
        # 2024-6-5 (no zero padding)
        (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", lambda m: dt.date(int(m[1]), int(m[2]), int(m[3]))),
        # ISO week date 2024-W40-1 / 2024W401
        (r"^(\d{4})-?W(\d{2})-?([1-7])$", lambda m: dt.date.fromisocalendar(int(m[1]), int(m[2]), int(m[3]))),
        # ordinal date 2024-166
        (r"^(\d{4})-(\d{3})$", lambda m: dt.date(int(m[1]), 1, 1) + dt.timedelta(days=int(m[2]) - 1) if 1 <= int(m[2]) <= 366 else None),
        # a date with a time and/or an offset: 2024-06-15T10:00, 2024-06-15 10:00:00+03:00, 2024-06-15+03:00, 2024-06-15Z
        (r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{1,2}(?::\d{2}){0,2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?$",
         lambda m: dt.date(int(m[1]), int(m[2]), int(m[3]))),
    ]
    for pattern, build in candidates:
        m = re.match(pattern, text, flags=re.IGNORECASE)
        if m:
            try:
                got = build(m)
            except ValueError:
                return None
            if got is not None and got.year >= 1:
                return got.isoformat()
    return None


def _what(value) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, dt.datetime):
        return f"the date and time {value.isoformat()}"
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_date(value, *, month: bool = False, end: bool = False) -> dt.date:
    """Read a date written ``YYYY-MM-DD`` (a ``datetime.date``, or exactly that text).

    Parameters
    ----------
    value : datetime.date or str
        The date as written. A ``datetime.datetime`` is accepted only at midnight without a time
        zone (how pandas holds a date); text may carry surrounding spaces (a CSV cell).
    month : bool
        Also accept ``YYYY-MM`` (a month, as ``forecast replay --from/--to`` take): its first day,
        or its last day when ``end`` is true.
    end : bool
        With ``month``: a month means its last day.

    Returns
    -------
    datetime.date

    Raises
    ------
    DateFormatError
        For anything else: integers (``1702080000`` is not read as a Unix timestamp, ``20240615``
        not as a basic ISO date), ISO week or ordinal dates (``2024-W40-1``, ``2024-166``), times,
        time-zone offsets, booleans and impossible dates (``2024-02-30``). The message names the
        value and, when the intended date is unambiguous, the text to write instead
        ("write 2024-09-30").
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.time() == dt.time(0):
            return value.date()
        raise DateFormatError(f"{_what(value)} is not a valid date: it has a time of day or a time zone; write {value.date().isoformat()}")
    if isinstance(value, dt.date):
        return value
    form = "YYYY-MM-DD" + (" or YYYY-MM" if month else "")
    if not isinstance(value, str):
        hint = _suggestion(str(value)) if isinstance(value, int) and not isinstance(value, bool) else None
        if hint:  # 20240615, as YAML reads an unquoted basic ISO date
            raise DateFormatError(f"{_what(value)} is not a valid date: dates are written {form}; write {hint}")
        raise DateFormatError(f"{_what(value)} is not a valid date: dates are written {form}, e.g. {EXAMPLE_DATE} (a number is never read as a date)")
    text = value.strip()
    m = DATE_RE.match(text)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise DateFormatError(f"{_what(text)} is not a valid date: {exc}") from None
    if month:
        m = MONTH_RE.match(text)
        if m:
            year, mon = int(m[1]), int(m[2])
            if not 1 <= mon <= 12:
                raise DateFormatError(f"{_what(text)} is not a valid month: month {mon} is not 1-12")
            return dt.date(year, mon, calendar.monthrange(year, mon)[1] if end else 1)
    hint = _suggestion(text)
    if hint and re.match(r"^\d{4}-\d{2}-\d{2}\s*[T \d:.Z+-]", text, flags=re.IGNORECASE):
        raise DateFormatError(f"{_what(text)} is not a valid date: it has a time of day or a time-zone offset; write {hint}")
    if hint:
        raise DateFormatError(f"{_what(text)} is not a valid date: dates are written {form}; write {hint}")
    raise DateFormatError(f"{_what(text)} is not a valid date: dates are written {form}, e.g. {EXAMPLE_DATE}")


def to_date(value) -> dt.date:
    """A date from a ``date``, a ``datetime`` (its date) or ``YYYY-MM-DD`` text (:func:`parse_date`)."""
    if isinstance(value, dt.datetime):
        return value.date()
    return parse_date(value)


def check_not_future(as_of: dt.date, today: dt.date | None = None, name: str = "as-of date") -> dt.date:
    """Refuse an as-of date after today.

    A fit "as of" a date counts every month up to it without a resolving item as a month in which
    the event did not happen; months that have not yet passed cannot count as such (an as-of
    date three years ahead turned a 21% forecast into 6%).

    Raises
    ------
    DateFormatError
        ``as_of`` is after ``today`` (default: the local date today).
    """
    today = today or dt.date.today()
    if as_of > today:
        raise DateFormatError(
            f"{name} {as_of.isoformat()} is after today ({today.isoformat()}): months that have not passed cannot count as "
            f"months without the event; use a date on or before {today.isoformat()}"
        )
    return as_of


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
    """``2022-03`` (first or last day of that month) or a ``YYYY-MM-DD`` date (see :func:`parse_date`)."""
    return parse_date(text, month=True, end=end)


def last_month_end_on_or_before(day: dt.date) -> dt.date:
    """The last day of the latest month that has ended by ``day`` (``day`` itself when it is a month end)."""
    last = dt.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    return last if last == day else day.replace(day=1) - dt.timedelta(days=1)
