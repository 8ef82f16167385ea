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

import csv
import datetime as dt
import io
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from forecast.core.errors import Problem, nearest
from forecast.inputs.grading import GRADE_PATTERN
from forecast.inputs.yamlio import MAX_FILE_BYTES, load_yaml, read_text_bounded

STRENGTH_VALUE = {"weak": 0.25, "moderate": 0.5, "strong": 1.0}
CHANGE_WINDOW_MONTHS = 3
MAX_TEXT = 4000


class EvidenceItem(BaseModel):
    """One dated, graded observation."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True, str_max_length=MAX_TEXT)

    id: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$", description="Unique across all evidence files.")
    event_date: dt.date = Field(..., description="When the observed thing happened.")
    published: dt.date = Field(..., description="When it became known (first public or reported date).")
    indicator: str | None = Field(None, description="Indicator id this item observes.")
    question: str | None = Field(None, description="Question id this item bears on (required when `resolves`).")
    value: float | None = Field(None, ge=-5, le=5, description="Observed level on the indicator's standardized scale.")
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
    confidence: float | None = Field(None, ge=0, le=1, description="Draft only: how strongly the cues point to the indicator (`forecast intake`).")

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
        if self.published < self.event_date:
            raise ValueError(
                f"published {self.published} is before the event_date {self.event_date}: "
                "an item cannot be known before it happened"
            )
        if self.resolves:
            if not self.question:
                raise ValueError("a resolving item must name the `question` it resolves")
            if self.indicator or self.value is not None or self.direction:
                raise ValueError("a resolving item reports the event itself: drop indicator/value/direction")
        else:
            if not self.indicator:
                raise ValueError("give the `indicator` this item observes (or `resolves: true` with a `question`)")
            if self.draft and self.value is None and self.direction is None:
                pass  # the analyst chooses the observation when confirming the draft
            elif (self.value is None) == (self.direction is None):
                raise ValueError("give exactly one of `value` or `direction` (with `strength`)")
            if self.direction is None and self.strength is not None:
                raise ValueError("`strength` goes with `direction`, not with `value`")
        return self

    @property
    def is_change(self) -> bool:
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


# --------------------------------------------------------------------------------------------------
# problems from pydantic errors


def _problems_from_validation(
    exc: ValidationError, file: Path, line_of, model_fields: list[str], loc_prefix: tuple = ()
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(loc_prefix) + tuple(err["loc"])
        field_name = ".".join(str(x) for x in err["loc"]) or None
        message = err["msg"]
        suggestion = None
        if err["type"] == "extra_forbidden":
            bad = str(err["loc"][-1])
            suggestion = nearest(bad, model_fields)
            message = f"unknown field '{bad}'"
        elif err["type"] == "missing":
            message = f"missing required field '{err['loc'][-1]}'"
        elif err["type"] in ("finite_number",):
            message = "value must be a finite number (NaN and infinity are not allowed)"
        elif err["type"].startswith("date"):
            message = f"not a valid date (YYYY-MM-DD): {err['input']!r} - {err['msg']}"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        problems.append(Problem(str(file), message, line_of(loc), field_name, suggestion))
    return problems


# --------------------------------------------------------------------------------------------------
# readers


def read_yaml_evidence(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[list[LocatedItem], list[Problem]]:
    """Read one YAML evidence file; returns (items, problems). Items are returned only if valid."""
    parsed, problems = load_yaml(path, max_bytes)
    if parsed is None:
        return [], problems
    data = parsed.data
    if isinstance(data, list):  # a bare list of items is accepted too
        data = {"items": data}
        prefix: tuple = ()
        line_of = lambda loc: parsed.line_of(loc[1:] if loc and loc[0] == "items" else loc)  # noqa: E731
    else:
        line_of = parsed.line_of
        prefix = ()
    if not isinstance(data, dict):
        return [], problems + [Problem(str(path), "expected a mapping with `items:` (a list of evidence items)", 1)]
    items: list[LocatedItem] = []
    raw_items = data.get("items")
    try:
        EvidenceFile.model_validate(data)
    except ValidationError as exc:
        fields = list(EvidenceItem.model_fields) + list(EvidenceFile.model_fields)
        problems += _problems_from_validation(exc, path, line_of, fields, prefix)
        return [], problems
    for i, raw in enumerate(raw_items):
        item = EvidenceItem.model_validate(raw)
        items.append(LocatedItem(item=item, file=str(path), line=line_of(("items", i))))
    return items, problems


CSV_LIST_FIELDS: tuple[str, ...] = ()
TRUE_TEXT = ("true", "yes", "1")


def validate_row(data: dict, file: str | Path, line: int | None) -> tuple[EvidenceItem | None, list[Problem]]:
    """Validate one table row (a CSV row or a DataFrame row) as an evidence item.

    Cells given as text follow the CSV rules: ``resolves``/``assumption`` are true for
    ``true``/``yes``/``1`` (any case), ``value`` is parsed as a number. Every problem names
    ``file``, ``line`` and the field. Returns ``(item, [])`` or ``(None, problems)``.
    """
    data = dict(data)
    for flag in ("resolves", "assumption"):
        if isinstance(data.get(flag), str):
            data[flag] = data[flag].strip().lower() in TRUE_TEXT
    if isinstance(data.get("value"), str):
        try:
            data["value"] = float(data["value"])
        except ValueError:
            pass  # pydantic reports it
    try:
        return EvidenceItem.model_validate(data), []
    except ValidationError as exc:
        return None, _problems_from_validation(exc, file, lambda loc: line, list(EvidenceItem.model_fields))


def read_csv_evidence(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[list[LocatedItem], list[Problem]]:
    """Read one CSV evidence file (header row = field names; one item per row)."""
    text, problems = read_text_bounded(path, max_bytes)
    if text is None:
        return [], problems
    reader = csv.DictReader(io.StringIO(text))
    fields = list(EvidenceItem.model_fields)
    header = reader.fieldnames or []
    for col in header:
        if col not in fields:
            problems.append(Problem(str(path), f"unknown column '{col}'", 1, col, nearest(col, fields)))
    if problems:
        return [], problems
    items: list[LocatedItem] = []
    n_rows = 0
    for row in reader:
        n_rows += 1
        line = reader.line_num
        if None in row:  # more cells than header columns
            problems.append(Problem(str(path), f"row has {len(header) + len(row[None])} cells, header has {len(header)}", line))
            continue
        data = {k: v for k, v in row.items() if v is not None and v.strip() != ""}
        item, more = validate_row(data, path, line)
        problems += more
        if item is not None:
            items.append(LocatedItem(item=item, file=str(path), line=line))
    if n_rows == 0:
        problems.append(Problem(str(path), "no evidence rows under the header", 1))
    if any(p.severity == "error" for p in problems):
        return [], problems
    return items, problems


def read_evidence_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[list[LocatedItem], list[Problem]]:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return read_yaml_evidence(path, max_bytes)
    if suffix == ".csv":
        return read_csv_evidence(path, max_bytes)
    return [], [Problem(str(path), f"unsupported evidence file type '{suffix}' (use .yaml, .yml or .csv)")]


def evidence_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".csv") and p.is_file())


def check_duplicates(items: list[LocatedItem]) -> list[Problem]:
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
    return x is None or math.isfinite(x)
