"""Evidence: dated, graded observations (YAML or CSV), one item per entry or row.

An item either **observes an indicator** at the month it happened, or **resolves a question** (the
event happened on ``event_date``). An indicator observation is one of

* a **level**: ``value`` on the indicator's standardized scale (0 = the level the source text
  describes, +1 = clearly higher, +2 = extreme); the likelihood term is on :math:`x_{k,t}`;
* a **change**: ``direction`` (``up``/``down``) and ``strength`` (``weak``/``moderate``/``strong``
  = 0.25/0.5/1.0 units) of the move over the preceding ``CHANGE_WINDOW_MONTHS`` (3) months; the
  likelihood term is on :math:`x_{k,t} - x_{k,t-3}`. "Debt written off" is ``up`` on economic
  dependence; "the election passed without protests" is ``down`` on unrest risk.

Two dates matter: ``event_date`` (when it happened) and ``published`` (when it became known). A fit
"as of" a date uses only items published on or before it.

A **draft** (``draft: true``, written by ``forecast intake``) is an item a person has not yet
confirmed: it may lack a ``grade`` and an observation (``value``/``direction``), and it carries the
cue words that suggested it (``matched``) and the drafting ``confidence``. Drafts are read and shown
like any item, but ``forecast validate``, ``forecast update`` and every fit refuse them until the
analyst sets ``grade:`` and removes ``draft: true`` (see :mod:`forecast.inputs.project`).

Files are untrusted input: YAML is read with the safe loader, files above a size limit are refused,
every string is length-limited and rendered escaped by the HTML views.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import itertools
import math
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from forecast.core import limits
from forecast.core.errors import Problem, nearest
from forecast.core.timegrid import parse_date
from forecast.inputs.fields import Date, Number
from forecast.inputs.grading import GRADE_PATTERN
from forecast.inputs.yamlio import MAX_FILE_BYTES, load_yaml, read_text_bounded

STRENGTH_VALUE = {"weak": 0.25, "moderate": 0.5, "strong": 1.0}
CHANGE_WINDOW_MONTHS = 3
MAX_TEXT = 4000


class EvidenceItem(BaseModel):
    """One dated, graded observation."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True, str_max_length=MAX_TEXT)

    id: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$", description="Unique across all evidence files.")
    event_date: Date = Field(..., description="When the observed thing happened (YYYY-MM-DD).")
    published: Date = Field(..., description="When it became known (first public or reported date, YYYY-MM-DD).")
    indicator: str | None = Field(None, description="Indicator id this item observes.")
    question: str | None = Field(None, description="Question id this item bears on (required when `resolves`).")
    value: Number | None = Field(None, ge=-5, le=5, description="Observed level on the indicator's standardized scale (-5..5).")
    direction: Literal["up", "down"] | None = Field(None, description="Observed change over the preceding 3 months.")
    strength: Literal["weak", "moderate", "strong"] | None = Field(None, description="Size of the change: 0.25, 0.5 or 1.0 units.")
    resolves: bool = Field(False, description="True when this item reports that the question's event happened.")
    source: str = Field(..., min_length=1, description="Who reported it.")
    draft: bool = Field(False, description="True for an unconfirmed item from `forecast intake`: no fit uses it until graded and confirmed.")
    grade: str | None = Field(
        None, validate_default=True, description="Admiralty grade: reliability A-F then credibility 1-6, e.g. B2 (absent only on a draft)."
    )
    quote: str = Field(..., min_length=1, description="Quote or summary of what was reported.")
    url: str | None = Field(None, pattern=r"^https?://\S+$")
    assumption: bool = Field(False, description="True when the item is the analyst's addition beyond the cited source.")
    notes: str | None = None
    matched: list[str] | None = Field(None, description="Draft only: the indicator cues that matched the quote (`forecast intake`).")
    confidence: Number | None = Field(None, ge=0, le=1, description="Draft only: how strongly the cues point to the indicator (`forecast intake`).")

    @model_validator(mode="before")
    @classmethod
    def _upper_grade(cls, data):
        if isinstance(data, dict) and isinstance(data.get("grade"), str):
            data = {**data, "grade": data["grade"].strip().upper()}
        return data

    @field_validator("grade")
    @classmethod
    def _admiralty(cls, grade: str | None, info: ValidationInfo) -> str | None:
        if grade is None:
            if info.data.get("draft"):  # `draft` is declared before `grade`, so it is validated already
                return None
            raise PydanticCustomError("missing", "Field required")  # reported as "missing required field 'grade'"
        if not GRADE_PATTERN.match(grade):
            raise ValueError(f"grade {grade!r} is not an Admiralty grade: reliability A-F then credibility 1-6 (e.g. B2)")
        return grade

    @model_validator(mode="after")
    def _consistent(self) -> "EvidenceItem":
        broken = item_rules(self.__dict__)  # the fields as validated (model_dump would copy them)
        if broken:
            raise ValueError(broken[0][1])
        return self

    @property
    def is_change(self) -> bool:
        """True for a report of a change (``direction`` set), False for a level observation."""
        return self.direction is not None

    @property
    def observed_value(self) -> float | None:
        """The observed level, or the observed change (direction/strength translated)."""
        if self.value is not None:
            return float(self.value)
        if self.direction is None:
            return None
        size = STRENGTH_VALUE[self.strength or "moderate"]
        return size if self.direction == "up" else -size


def item_rules(data: dict, unknown: set[str] = frozenset()) -> list[tuple[str | None, str]]:
    """The rules an item must follow across its fields, as ``(field, message)`` for each one broken.

    Used by :class:`EvidenceItem` once every field is valid, and on an item whose other fields are
    invalid so that ``forecast validate`` reports every problem of the item at once; a rule is then
    checked only when none of its fields is in ``unknown`` (the fields that failed validation).
    ``field`` is the field to change, or None when the rule ties several together.
    """
    out: list[tuple[str | None, str]] = []
    unknown = frozenset(unknown)

    def known(*names):
        return not unknown or unknown.isdisjoint(names)

    if known("published", "event_date"):
        try:
            published, happened = parse_date(data.get("published")), parse_date(data.get("event_date"))
        except ValueError:
            published = happened = None
        if published is not None and published < happened:
            out.append((None, f"published {published} is before the event_date {happened}: an item cannot be known before it happened"))
    if not known("resolves"):
        return out
    if data.get("resolves") is True:
        if known("question") and not data.get("question"):
            out.append((None, "a resolving item must name the `question` it resolves"))
        if known("indicator", "value", "direction") and (data.get("indicator") or data.get("value") is not None or data.get("direction")):
            out.append((None, "a resolving item reports the event itself: drop indicator/value/direction"))
    else:
        if known("indicator") and not data.get("indicator"):
            out.append((None, "give the `indicator` this item observes (or `resolves: true` with a `question`)"))
        undecided_draft = data.get("draft") is True and data.get("value") is None and data.get("direction") is None
        if known("value", "direction", "draft") and not undecided_draft and (data.get("value") is None) == (data.get("direction") is None):
            # a draft may leave the observation open: the analyst chooses it when confirming the draft
            out.append((None, "give exactly one of `value` or `direction` (with `strength`)"))
        if known("direction", "strength") and data.get("direction") is None and data.get("strength") is not None:
            out.append((None, "`strength` goes with `direction`, not with `value`"))
    return out


class EvidenceFile(BaseModel):
    """A YAML evidence file: a list of items under ``items``."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    # may be empty: `forecast new` starts a question with an empty evidence file
    items: list[EvidenceItem] = Field(..., description="The evidence items (may be empty).")


class LocatedItem(BaseModel):
    """An item plus the file and line it came from (for error messages and reports)."""

    item: EvidenceItem
    file: str
    line: int | None = None
    field_lines: dict[str, int] | None = None  # each field's own line (YAML; a CSV row is one line)

    def raw(self) -> "RawItem":
        """The item as the checks across files read it (with its fields' lines)."""
        return RawItem(self.item.model_dump(), self.file, self.line, self.field_lines)


# --------------------------------------------------------------------------------------------------
# problems from pydantic errors

# A file of 100,000 broken items would print 100,000 problems; past this many, one line says how many more.
MAX_PROBLEMS_PER_FILE = 50


# pydantic's range errors: the words for the value's side of the bound, and the bound's key in ``ctx``
BOUNDS = {"less_than_equal": ("{x} is above {b}, the largest value allowed", "le"), "less_than": ("{x} is too large: it must be below {b}", "lt"),
          "greater_than_equal": ("{x} is below {b}, the smallest value allowed", "ge"),
          "greater_than": ("{x} is too small: it must be above {b}", "gt")}


def _problems_from_validation(
    exc: ValidationError, file: Path, line_of, model_fields: list[str], loc_prefix: tuple = ()
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(loc_prefix) + tuple(err["loc"])
        field_name = ".".join(str(x) for x in loc) or None
        message = err["msg"]
        suggestion = None
        if err["type"] == "extra_forbidden":
            bad = str(err["loc"][-1])
            suggestion = nearest(bad, model_fields)
            message = f"unknown field '{bad}'"
        elif err["type"] == "missing":
            message = f"missing required field '{err['loc'][-1]}'"
        elif err["type"] in ("literal_error", "enum") and isinstance(err.get("input"), str):
            # a word outside a fixed set (direction, strength, sources, kind...): the value given,
            # the words allowed and the nearest of them
            expected = str((err.get("ctx") or {}).get("expected", ""))
            options = re.findall(r"'([^']*)'", expected)
            message = f"{err['input']!r} is not one of {expected}" if expected else message
            suggestion = nearest(err["input"], options) if options else None
        elif err["type"] in BOUNDS and "input" in err:
            # a number outside its field's range: the value given and the bound it crosses
            template, key = BOUNDS[err["type"]]
            bound = (err.get("ctx") or {}).get(key)
            message = template.format(x=repr(err["input"]), b=f"{bound:g}" if isinstance(bound, (int, float)) else bound)
        elif err["type"] in ("finite_number",):
            message = "value must be a finite number (NaN and infinity are not allowed)"
        elif err["type"].startswith("date"):
            message = f"not a valid date (YYYY-MM-DD): {err['input']!r} - {err['msg']}"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        problems.append(Problem(str(file), message, line_of(loc), field_name, suggestion))
    return problems


def cap_problems(problems: list[Problem], file: str | Path, limit: int = MAX_PROBLEMS_PER_FILE) -> list[Problem]:
    """The first ``limit`` problems of a file, then one problem saying how many were left out."""
    if len(problems) <= limit:
        return problems
    return problems[:limit] + [Problem(str(file), f"... and {len(problems) - limit} more problems in this file (fix these first)")]


_FIELD_ADAPTERS: dict = {}


def _valid_fields(data: dict, bad: set[str]) -> dict:
    """The fields of ``data`` that validate on their own (as their field types read them), by name."""
    from typing import Annotated

    from pydantic import TypeAdapter

    out = {}
    for name, info in EvidenceItem.model_fields.items():
        if name in bad or name not in data:
            continue
        if name not in _FIELD_ADAPTERS:
            _FIELD_ADAPTERS[name] = TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)
        try:
            out[name] = _FIELD_ADAPTERS[name].validate_python(data[name])
        except (ValidationError, ValueError, TypeError):
            bad.add(name)
    return out


def validate_item(data, file: str | Path, line_of, loc_prefix: tuple = ()) -> tuple[EvidenceItem | None, list[Problem]]:
    """Validate one raw item (a mapping from a file or a row); report *every* problem it has.

    Field errors come from pydantic; when some fields are invalid, the rules across fields
    (:func:`item_rules`) are still checked on the valid ones, so a bad date does not hide a
    resolving item that also gives a value.

    Parameters
    ----------
    data : any
        The item as read (a dict; anything else is one problem).
    file : str or Path
        Named in the problems.
    line_of : callable
        ``line_of(loc) -> int | None``: the line of a location such as ``("items", 3, "grade")``.
    loc_prefix : tuple
        Prepended to pydantic's locations (``("items", 3)`` for the 4th item of a YAML file).
    """
    fields = list(EvidenceItem.model_fields)
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"the {type(data).__name__} {str(data)[:40]!r}"
        return None, [Problem(str(file), f"an evidence item is a mapping of fields (id, event_date, ...), not {what}", line_of(loc_prefix), ".".join(map(str, loc_prefix)) or None)]
    try:
        return EvidenceItem.model_validate(data), []
    except ValidationError as exc:
        problems = _problems_from_validation(exc, file, line_of, fields, loc_prefix)
        bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        if any(not err["loc"] for err in exc.errors()):  # a rule across fields already broke: nothing hidden
            return None, problems
        partial = _valid_fields(data, bad)
        prefix = ".".join(map(str, loc_prefix))
        for _, message in item_rules(partial, bad):
            problems.append(Problem(str(file), message, line_of(loc_prefix), prefix or None))
        return None, problems


# --------------------------------------------------------------------------------------------------
# readers


@dataclass
class RawItem:
    """An item as read from a file, valid or not, with where it is (for checks across files)."""

    data: object
    file: str
    line: int | None
    field_lines: dict | None = None  # field name -> its own line (YAML); a CSV row is one line

    def line_of(self, field: str) -> int | None:
        """The line of ``field`` in the item (the item's line when not known)."""
        return (self.field_lines or {}).get(field) or self.line


def read_yaml_evidence(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[list[LocatedItem], list[Problem]]:
    """Read one YAML evidence file; returns (items, problems). Items are returned only if all are valid."""
    items, _, problems = _read_yaml(Path(path), max_bytes)
    return items, problems


def _read_yaml(path: Path, max_bytes: int) -> tuple[list[LocatedItem], list[RawItem], list[Problem]]:
    parsed, problems = load_yaml(path, max_bytes)
    if parsed is None:
        return [], [], problems
    data = parsed.data
    if isinstance(data, list):  # a bare list of items is accepted too
        data = {"items": data}
        line_of = lambda loc: parsed.line_of(loc[1:] if loc and loc[0] == "items" else loc)  # noqa: E731
    else:
        line_of = parsed.line_of
    if not isinstance(data, dict):
        return [], [], problems + [Problem(str(path), "expected a mapping with `items:` (a list of evidence items)", 1)]
    file_fields = list(EvidenceFile.model_fields)
    for key in data:
        if key not in file_fields:
            hint = nearest(str(key), file_fields)
            problems.append(Problem(str(path), f"unknown field '{key}'", line_of((key,)), str(key), hint))
    if "items" not in data:
        problems.append(Problem(str(path), "missing required field 'items' (the list of evidence items)", 1, "items"))
    raw_items = data.get("items")
    if raw_items is None and "items" in data:
        raw_items = []  # `items:` with nothing under it: an empty file, as `forecast new` starts one
    if "items" in data and not isinstance(raw_items, list):
        problems.append(Problem(str(path), "`items` must be a list of evidence items (each starting with '- ')", line_of(("items",)), "items"))
        raw_items = []
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(Problem(str(path), "`description` must be text", line_of(("description",)), "description"))
    items: list[LocatedItem] = []
    raws: list[RawItem] = []
    item_problems: list[Problem] = []
    for i, raw in enumerate(raw_items or []):
        line = line_of(("items", i))
        fields = {k: line_of(("items", i, k)) for k in raw} if isinstance(raw, dict) else None
        raws.append(RawItem(raw, str(path), line, fields))
        item, more = validate_item(raw, path, line_of, ("items", i))
        item_problems += more
        if item is not None:
            items.append(LocatedItem(item=item, file=str(path), line=line, field_lines=fields))
    problems += cap_problems(item_problems, path)
    if any(p.severity == "error" for p in problems):
        return [], raws, problems
    return items, raws, problems


CSV_LIST_FIELDS: tuple[str, ...] = ()
TRUE_TEXT = ("true", "yes", "1")
REQUIRED_COLUMNS = tuple(name for name, f in EvidenceItem.model_fields.items() if f.is_required())
DELIMITERS = (",", ";", "\t")
DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")
UNIQUE_COLUMNS = frozenset({"id", "quote", "notes", "url"})  # CSV columns whose cells seldom repeat


def _row_data(data: dict, decimal_comma: bool) -> tuple[dict, str | None]:
    """A row's cells as the model reads them (flags and ``value`` from text), and the message for a ``value`` that is not a number."""
    data = dict(data)
    for flag in ("resolves", "assumption"):
        if isinstance(data.get(flag), str):
            data[flag] = data[flag].strip().lower() in TRUE_TEXT
    value_problem = None
    if isinstance(data.get("value"), str):
        text = data["value"].strip()
        if decimal_comma and DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
        try:
            data["value"] = float(text)
        except ValueError:  # left as text: pydantic reports the field, with the message below
            if DECIMAL_COMMA.match(text):
                value_problem = f"value {text!r} has a decimal comma: write {text.replace(',', '.')}"
            else:
                value_problem = f"value {text[:40]!r} is not a number: write a level between -5 and 5 on the standardized scale, e.g. 0.5"
    return data, value_problem


def validate_row(data: dict, file: str | Path, line: int | None, decimal_comma: bool = False) -> tuple[EvidenceItem | None, list[Problem]]:
    """Validate one table row (a CSV row or a DataFrame row) as an evidence item.

    Cells given as text follow the CSV rules: ``resolves``/``assumption`` are true for
    ``true``/``yes``/``1`` (any case), ``value`` is parsed as a number (with ``decimal_comma``,
    ``0,5`` as 0.5, as European spreadsheets write it). Every problem names ``file``, ``line`` and
    the field. Returns ``(item, [])`` or ``(None, problems)``.
    """
    data, value_problem = _row_data(data, decimal_comma)
    item, problems = validate_item(data, file, lambda loc: line)
    if value_problem:
        problems = [Problem(p.file, value_problem, p.line, p.field) if p.field == "value" else p for p in problems]
    return item, problems


def _valid_row(data: dict, decimal_comma: bool) -> EvidenceItem | None:
    """The item of a valid row, or None (then :func:`validate_row` says what is wrong with it).

    The fast path of :func:`read_csv_evidence`: the same cell rules and the same pydantic model as
    :func:`validate_row`, without collecting problems; a row it refuses is validated again by
    :func:`validate_row`, so a bad row is reported exactly as it always was.
    """
    data, value_problem = _row_data(data, decimal_comma)
    if value_problem is not None:
        return None
    try:
        return EvidenceItem.model_validate(data)
    except ValidationError:
        return None


def _delimiter(header: str) -> str:
    """The separator of a CSV file, chosen from its header: the one that splits it into known field names.

    Excel writes ``,`` or, with a European locale, ``;``; a tab-separated export is read too.
    """
    fields = set(EvidenceItem.model_fields)

    def score(d):
        cells = [c.strip().strip('"').strip() for c in header.split(d)]
        return (sum(c in fields for c in cells), len(cells))

    return max(DELIMITERS, key=score)


class _Unreadable(Exception):
    """The file cannot be read as text within its limit (its problem comes from :func:`read_text_bounded`)."""


class _CountedReader(io.RawIOBase):
    """A binary file that refuses to be read past ``limit`` bytes (it grew since it was measured)."""

    def __init__(self, raw, limit: int):
        self._raw, self._limit, self.count = raw, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer) or 0
        self.count += n
        if self.count > self._limit:
            raise _Unreadable
        return n


def _text_lines(path: Path, max_bytes: int):
    """The lines of a UTF-8 text file (line ends kept, a leading byte-order mark dropped), read as a stream.

    Refuses, by raising :class:`_Unreadable`, whatever :func:`read_text_bounded` refuses: more
    than ``max_bytes``, bytes that are not UTF-8, NUL bytes, nothing but white space (the last
    two noticed where they occur, so a stream read up to a problem is discarded).
    """
    blank = True
    try:
        with open(path, "rb", buffering=0) as raw:
            text = io.TextIOWrapper(io.BufferedReader(_CountedReader(raw, max_bytes), 1 << 16), encoding="utf-8-sig", newline="")
            for line in text:
                if "\x00" in line:
                    raise _Unreadable
                if blank and not line.isspace():
                    blank = False
                yield line
    except (OSError, UnicodeDecodeError) as exc:
        raise _Unreadable from exc
    if blank:
        raise _Unreadable


def read_csv_evidence(
    path: Path, max_bytes: int = limits.CSV_EVIDENCE_BYTES, max_rows: int = limits.CSV_EVIDENCE_ROWS
) -> tuple[list[LocatedItem], list[Problem]]:
    """Read one CSV evidence file (header row = field names; one item per row).

    Files as spreadsheets save them are read: a UTF-8 byte-order mark (Excel), ``;`` or tab as the
    separator (the separator is the one that splits the header into field names), spaces after the
    separators, and with ``;`` a decimal comma in ``value``. Missing required columns are named.

    The file is read as a stream, one row at a time, so an export of 100,000 rows takes the
    memory of its items and not of its text as well. A file of more than ``max_bytes`` bytes
    (:data:`forecast.core.limits.CSV_EVIDENCE_BYTES`, 64 MiB) or ``max_rows`` rows
    (:data:`forecast.core.limits.CSV_EVIDENCE_ROWS`) is refused.
    """
    items, _, problems = _read_csv(Path(path), max_bytes, max_rows)
    return items, problems


def _file_problems(path: Path, max_bytes: int) -> list[Problem]:
    """The problem of a file that cannot be read as text (missing, too large, not UTF-8, empty, ...)."""
    _, problems = read_text_bounded(path, max_bytes)
    if problems:
        return problems
    return [Problem(str(path), "the file changed while it was read: read it again")]


def _read_csv(path: Path, max_bytes: int, max_rows: int = limits.CSV_EVIDENCE_ROWS) -> tuple[list[LocatedItem], list[RawItem], list[Problem]]:
    try:
        info = path.stat()
    except OSError:
        return [], [], _file_problems(path, max_bytes)
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:  # a folder, a pipe, a device, too large
        return [], [], _file_problems(path, max_bytes)
    lines = _text_lines(path, max_bytes)
    with _gc_paused():
        try:
            return _read_csv_lines(path, lines, max_rows)
        except _Unreadable:
            return [], [], _file_problems(path, max_bytes)
        finally:
            lines.close()


@contextlib.contextmanager
def _gc_paused():
    """Pause the cycle collector while a file's items are built (and start it again after, if it ran).

    The items form no reference cycles, but 100,000 of them are a million new objects, and the
    collector would walk the ones made so far again and again: a third of the reading time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_csv_lines(path: Path, lines, max_rows: int) -> tuple[list[LocatedItem], list[RawItem], list[Problem]]:
    """Validate the rows of a CSV file given as a stream of lines (:func:`_text_lines`), one row at a time."""
    problems: list[Problem] = []
    first = next(lines, "")
    delimiter = _delimiter(first.splitlines()[0] if first.splitlines() else "")
    reader = csv.reader(itertools.chain((first,), lines), delimiter=delimiter, skipinitialspace=True)
    fields = list(EvidenceItem.model_fields)
    try:
        header = [(c or "").strip() for c in next(reader, [])]
    except csv.Error as exc:
        for _ in lines:  # a problem of the file as text comes first
            pass
        return [], [], [Problem(str(path), f"not a readable CSV file: {exc}", 1)]
    for col in header:
        if col == "":
            problems.append(Problem(str(path), "a column of the header row has no name", 1))
        elif col not in fields:
            problems.append(Problem(str(path), f"unknown column '{col}'", 1, col, nearest(col, fields)))
    dupes = sorted({c for c in header if c and header.count(c) > 1})
    for col in dupes:
        problems.append(Problem(str(path), f"column '{col}' appears more than once in the header row", 1, col))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing and not problems:
        sep = {",": "commas", ";": "semicolons", "\t": "tabs"}[delimiter]
        problems.append(
            Problem(
                str(path),
                f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)} "
                f"(the header row, separated by {sep}, names the fields: {', '.join(REQUIRED_COLUMNS)}, ...)",
                1,
                missing[0],
            )
        )
    if problems:
        for _ in lines:  # a problem of the file as text (not UTF-8, NUL bytes) comes first
            pass
        return [], [], problems
    file = str(path)
    decimal_comma = delimiter == ";"
    width = len(header)
    items: list[LocatedItem] = []
    raws: list[RawItem] = []
    row_problems: list[Problem] = []
    n_rows = 0
    shared: dict[str, str] = {}  # one string for each text repeated down a column (dates, indicator, source, grade)
    try:
        for row in reader:
            if not row:  # a blank line
                continue
            n_rows += 1
            line = reader.line_num
            if n_rows > max_rows:
                for _ in lines:
                    pass
                return [], [], [Problem(file, f"more than {max_rows:,} rows, the limit of a CSV evidence file: split it into several files", line)]
            if len(row) > width:  # more cells than header columns
                row_problems.append(Problem(file, f"row has {len(row)} cells, header has {width}", line))
                continue
            data = {k: (v if k in UNIQUE_COLUMNS else shared.setdefault(v, v)) for k, v in zip(header, row) if v and not v.isspace()}
            raws.append(RawItem(data, file, line))
            item = _valid_row(data, decimal_comma)
            if item is None:
                item, more = validate_row(data, path, line, decimal_comma=decimal_comma)
                row_problems += more
            if item is not None:
                items.append(LocatedItem(item=item, file=file, line=line))
    except csv.Error as exc:
        row_problems.append(Problem(file, f"not a readable CSV row: {exc}", reader.line_num + 1))
        for _ in lines:
            pass
    problems += cap_problems(row_problems, path)
    if n_rows == 0 and not problems:
        problems.append(Problem(file, "no evidence rows under the header", 1))
    if any(p.severity == "error" for p in problems):
        return [], raws, problems
    return items, raws, problems


EVIDENCE_SUFFIXES = (".yaml", ".yml", ".csv")


def read_evidence_file(path: Path, max_bytes: int | None = None) -> tuple[list[LocatedItem], list[Problem]]:
    """Read one YAML or CSV evidence file; returns (items, problems), items only when the file is valid.

    ``max_bytes`` is the size limit; None: the format's own (:data:`MAX_FILE_BYTES` for YAML,
    :data:`forecast.core.limits.CSV_EVIDENCE_BYTES` for CSV).
    """
    items, _, problems = read_evidence(path, max_bytes)
    return items, problems


def read_evidence(path: Path, max_bytes: int | None = None) -> tuple[list[LocatedItem], list[RawItem], list[Problem]]:
    """Like :func:`read_evidence_file`, plus every item as read (valid or not) for checks across files."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _read_yaml(path, MAX_FILE_BYTES if max_bytes is None else max_bytes)
    if suffix == ".csv":
        return _read_csv(path, limits.CSV_EVIDENCE_BYTES if max_bytes is None else max_bytes)
    return [], [], [Problem(str(path), f"unsupported evidence file type '{suffix}' (use .yaml, .yml or .csv)")]


def evidence_files(directory: Path) -> list[Path]:
    """The evidence files of a folder: its ``.yaml``, ``.yml`` and ``.csv`` files, by name."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in EVIDENCE_SUFFIXES and p.is_file())


def check_duplicates(items: list[LocatedItem]) -> list[Problem]:
    """A problem for every item id seen before (naming both files and lines)."""
    seen: dict[str, LocatedItem] = {}
    problems = []
    for li in items:
        if li.item.id in seen:
            first = seen[li.item.id]
            problems.append(
                Problem(li.file, f"duplicate evidence id '{li.item.id}' (first defined in {first.file}:{first.line})", li.line, "id")
            )
        else:
            seen[li.item.id] = li
    return problems


def is_finite(x: float | None) -> bool:
    """True for None or a finite float (NaN and infinities are refused in evidence)."""
    return x is None or math.isfinite(x)
