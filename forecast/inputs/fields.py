"""Field types shared by every file format: strict dates and numbers that are not booleans.

* :data:`Date` - a date written ``YYYY-MM-DD`` (a YAML date or exactly that text), read by
  :func:`forecast.core.timegrid.parse_date`; an integer (``1702080000``, ``20240615``), an ISO
  week (``2024-W40-1``), a time or an offset is refused with the text to write.
* :data:`Number` and :data:`Integer` - a number, never a boolean: YAML reads ``true``, ``yes``,
  ``on`` (and ``false``, ``no``, ``off``) as booleans, and pydantic would otherwise take them as 1
  and 0, so ``value: yes`` would silently become a level of +1.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated

from pydantic import BeforeValidator

from forecast.core.timegrid import parse_date


@functools.lru_cache(maxsize=4096)
def _date_text(text: str) -> dt.date:
    return parse_date(text)


def _date(value):
    # DateFormatError is a ValueError: pydantic reports its message. Text is parsed once per distinct
    # date (a 100,000-row CSV export repeats a few hundred dates); an error is not cached.
    if type(value) is str:
        return _date_text(value)
    return parse_date(value)


def _not_bool(value):
    if isinstance(value, bool):
        raise ValueError(
            f"{str(value).lower()} is a yes/no value, not a number (YAML reads true/false, yes/no and on/off as "
            "yes/no values): write a number"
        )
    return value


Date = Annotated[dt.date, BeforeValidator(_date)]
Number = Annotated[float, BeforeValidator(_not_bool)]
Integer = Annotated[int, BeforeValidator(_not_bool)]
