"""Evidence as a collection: read it from a file or a pandas DataFrame, edit it, write it back.

:class:`Evidence` is a list of :class:`~forecast.inputs.evidence.LocatedItem` (an item plus the file and
line it came from), so every function that takes a list of items takes it too;
``forecast.Question.evidence`` is one. On top of the list it can

* be built from an evidence file (``Evidence.from_file``) or a DataFrame
  (``Evidence.from_dataframe``), validated by the same code as the file readers: a row of a
  DataFrame goes through exactly the checks a CSV row does, and its problems carry the same
  messages, with the DataFrame's name as the file and the row (counted from 1) as the line;
* become a DataFrame (``to_dataframe``: one row per item, one column per field, dates as
  datetimes) and be written as YAML or CSV (``to_yaml``/``to_csv``, atomic writes) that
  ``forecast validate`` accepts, so file -> DataFrame -> file gives the same validated items;
* show itself as a sortable table in a notebook (``_repr_html_``; every text escaped).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path
from typing import Callable, Iterable

from forecast.core.atomic import atomic_write
from forecast.core.errors import InputError, Problem, nearest
from forecast.inputs.evidence import REQUIRED_COLUMNS, EvidenceItem, LocatedItem, check_duplicates, read_evidence_file, validate_row
from forecast.inputs.yamlio import load_yaml

FIELDS: tuple[str, ...] = tuple(EvidenceItem.model_fields)
# Columns ``to_dataframe(provenance=True)`` adds; ``from_dataframe`` ignores them (they say where
# a row came from, not what it observes).
PROVENANCE_COLUMNS = ("file", "line")
DATE_FIELDS = ("event_date", "published")
FLAG_FIELDS = ("resolves", "assumption")


def _is_missing(value) -> bool:
    """An empty cell: None, NaN, NaT, pd.NA or blank text (a CSV reader drops these too)."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cells are not missing; pydantic rejects them
        return False


def _python_value(value):
    """A DataFrame cell as a plain Python value pydantic validates like a file's value."""
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        # a midnight timestamp without a time zone is a date; a time or a time zone is left for the
        # date reader to refuse ("has a time of day or a time zone")
        return value.date() if value.tzinfo is None and value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


class Evidence(list):
    """A list of evidence items with their provenance (file and line).

    Parameters
    ----------
    items : iterable of LocatedItem
        The items.
    description : str, optional
        What the collection holds (a YAML evidence file's ``description``).
    """

    def __init__(self, items: Iterable[LocatedItem] = (), description: str | None = None):
        super().__init__(items)
        self.description = description

    # -- reading --------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path) -> "Evidence":
        """Read one YAML or CSV evidence file; raises :class:`~forecast.InputError` listing every problem."""
        path = Path(path)
        items, problems = read_evidence_file(path)
        problems = [p for p in problems + check_duplicates(items) if p.severity == "error"]
        if problems:
            raise InputError(problems)
        description = None
        if path.suffix.lower() in (".yaml", ".yml"):
            parsed, _ = load_yaml(path)
            if parsed is not None and isinstance(parsed.data, dict):
                description = parsed.data.get("description")
        return cls(items, description=description)

    @classmethod
    def from_dataframe(cls, df, name: str = "<dataframe>", description: str | None = None) -> "Evidence":
        """Validate a DataFrame (one row per item, one column per field) as evidence.

        Rows go through the CSV reader's checks (:func:`forecast.inputs.evidence.validate_row`): empty
        cells (None, NaN, NaT, blank text) are absent fields; text in ``resolves``/``assumption``
        is true for ``true``/``yes``/``1``; midnight timestamps are dates. Columns ``file`` and
        ``line`` (from ``to_dataframe(provenance=True)``) are ignored.

        Parameters
        ----------
        df : pandas.DataFrame
            The items.
        name : str
            Names the DataFrame in problems, in place of a file name.
        description : str, optional
            Kept as the collection's description (written by ``to_yaml``).

        Returns
        -------
        Evidence
            Items located at ``name`` and their row, counted from 1 (row ``n`` is ``df.iloc[n - 1]``).

        Raises
        ------
        InputError
            Listing every problem: unknown columns (with the nearest field name), missing required
            columns, each bad row
            (``<name>:<row> [<field>]: <the message a file would give>``) and duplicate ids.
        """
        problems: list[Problem] = []
        for column in df.columns:
            if column not in FIELDS and column not in PROVENANCE_COLUMNS:
                problems.append(Problem(name, f"unknown column '{column}'", None, str(column), nearest(str(column), FIELDS)))
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing and not problems:  # as for a CSV header: a misspelt column is the one problem to fix
            problems.append(Problem(name, f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)}", None, missing[0]))
        if problems:
            raise InputError(problems)
        columns = [c for c in df.columns if c in FIELDS]
        items: list[LocatedItem] = []
        for row_number, values in enumerate(df[columns].itertuples(index=False, name=None), start=1):
            data = {c: _python_value(v) for c, v in zip(columns, values) if not _is_missing(v)}
            item, more = validate_row(data, name, row_number)
            problems += more
            if item is not None:
                items.append(LocatedItem(item=item, file=name, line=row_number))
        problems += check_duplicates(items)
        if problems:
            raise InputError(problems)
        return cls(items, description=description)

    # -- views ----------------------------------------------------------------------------------
    @property
    def items(self) -> list[EvidenceItem]:
        """The items without their provenance."""
        return [li.item for li in self]

    @property
    def ids(self) -> list[str]:
        """The item ids, in order."""
        return [li.item.id for li in self]

    def get(self, item_id: str) -> LocatedItem:
        """The item with this id; a KeyError names the nearest id for a typo."""
        for li in self:
            if li.item.id == item_id:
                return li
        hint = nearest(item_id, self.ids)
        raise KeyError(f"no evidence item '{item_id}'" + (f" (did you mean '{hint}'?)" if hint else ""))

    def __getitem__(self, key):
        got = super().__getitem__(key)
        return Evidence(got, self.description) if isinstance(key, slice) else got

    def filter(
        self,
        predicate: Callable[[EvidenceItem], bool] | None = None,
        *,
        indicator: str | None = None,
        question: str | None = None,
        published_by=None,
        assumption: bool | None = None,
    ) -> "Evidence":
        """The items that pass every given test.

        Parameters
        ----------
        predicate : callable, optional
            ``predicate(item) -> bool`` on the :class:`~forecast.inputs.evidence.EvidenceItem`.
        indicator : str, optional
            Items observing this indicator.
        question : str, optional
            Items naming this question (resolving it, or observing an indicator for it only).
        published_by : date or ISO string, optional
            Items published on or before this date (what a fit as of that date may use).
        assumption : bool, optional
            Only the analyst's additions (True) or only sourced items (False).
        """
        from forecast.core.timegrid import to_date

        cutoff = to_date(published_by) if published_by is not None else None
        keep = []
        for li in self:
            it = li.item
            if indicator is not None and it.indicator != indicator:
                continue
            if question is not None and it.question != question:
                continue
            if cutoff is not None and it.published > cutoff:
                continue
            if assumption is not None and it.assumption != assumption:
                continue
            if predicate is not None and not predicate(it):
                continue
            keep.append(li)
        return Evidence(keep, self.description)

    def to_dataframe(self, provenance: bool = False):
        """One row per item, one column per field (in the file format's order).

        Dates become datetimes (``df.published > "2024-01-01"`` works), a missing value is None
        (NaN for ``value``). With ``provenance=True`` the columns ``file`` and ``line`` say where
        each item came from. ``Evidence.from_dataframe`` reads the result back.
        """
        import pandas as pd

        records = [li.item.model_dump(mode="python") for li in self]
        df = pd.DataFrame.from_records(records, columns=list(FIELDS))
        for name in DATE_FIELDS:
            df[name] = pd.to_datetime(df[name])
        df["value"] = df["value"].astype(float)
        for name in FLAG_FIELDS:
            df[name] = df[name].astype(bool)
        if provenance:
            df["file"] = [li.file for li in self]
            df["line"] = pd.array([li.line for li in self], dtype="Int64")
        return df

    # -- writing --------------------------------------------------------------------------------
    def _records(self) -> list[dict]:
        # fields at their default (None, resolves/assumption false) are left out, as a person
        # writing the file would; reading the file back restores them
        return [li.item.model_dump(mode="python", exclude_defaults=True) for li in self]

    def to_yaml(self, path: str | Path) -> Path:
        """Write a YAML evidence file (``description`` then ``items``) atomically; returns the path."""
        import yaml

        document: dict = {}
        if self.description:
            document["description"] = self.description
        document["items"] = self._records()
        body = yaml.dump(document, Dumper=_indented_dumper(), sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
        return atomic_write(Path(path), lambda p: p.write_text(body, encoding="utf-8"))

    def to_csv(self, path: str | Path) -> Path:
        """Write a CSV evidence file (header = every field) atomically; returns the path.

        The CSV format has no description; it is not written.
        """
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(FIELDS), lineterminator="\n")
        writer.writeheader()
        for record in self._records():
            writer.writerow({k: _csv_cell(v) for k, v in record.items()})
        body = buffer.getvalue()
        return atomic_write(Path(path), lambda p: p.write_text(body, encoding="utf-8"))

    # -- display --------------------------------------------------------------------------------
    def __repr__(self) -> str:
        n_resolving = sum(li.item.resolves for li in self)
        files = sorted({Path(li.file).name for li in self})
        where = f" from {', '.join(files[:3])}{', ...' if len(files) > 3 else ''}" if files else ""
        kinds = f" ({len(self) - n_resolving} observations, {n_resolving} resolving)" if n_resolving else ""
        return f"<Evidence: {len(self)} item{'' if len(self) == 1 else 's'}{kinds}{where}>"

    def _repr_html_(self) -> str:
        from forecast.inputs.display import evidence_html

        return evidence_html(self)


def _indented_dumper():
    import yaml

    class IndentedDumper(yaml.SafeDumper):
        """The safe dumper, with list items indented under their key as in the shipped files."""

        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False)

    return IndentedDumper


def _csv_cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")  # cannot happen: items refuse NaN/inf
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)
