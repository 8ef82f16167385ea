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
from typing import Annotated

from pydantic import BeforeValidator

from forecast.core.timegrid import parse_date


def _date(value):
    return parse_date(value)  # DateFormatError is a ValueError: pydantic reports its message


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
