"""The source registry (``evidence/sources.yaml``): who reports evidence, and how reliable they are by default.

Each registered source has an ``id`` (a slug), a ``name``, a ``kind`` (official, media, ...), a
default Admiralty **reliability letter** (A-F, :mod:`forecast.inputs.grading`) and notes::

    sources:
      - id: article
        name: Article
        kind: analysis
        reliability: B
        notes: The source text of the indicator library.

**How an item names its source.** An evidence item's ``source`` field names a registered source by
its ``id`` or its ``name`` (letter case and runs of spaces aside), optionally followed by a
qualifier in parentheses: ``Article (the August-September 2020 uprisings; widely reported at the
time)`` is the source ``article``. When the registry exists, ``forecast validate`` and every load
report an item whose source is not registered, with its file, line and field and the nearest
registered name (:func:`forecast.core.errors.nearest`): as a **warning** in the default
fixed-weight mode, where the source is a label and the item's grade alone weighs it (so an item
drafted by ``forecast intake`` from a new outlet still loads), and as an **error** for an item of a
question with ``sources: learned``, which cannot give it a weight. Without a registry file,
``source`` stays free text and no question may learn source weights.

**An item's grade wins.** An item may carry a reliability letter other than its source's default
(a usually reliable outlet relaying a rumour, graded C3): the item's own grade sets its observation
SD, as always. The source's letter sets the *prior* of the source's learned weight when a question
asks for it (``sources: learned`` in the spec, :mod:`forecast.model.hazard`): the learned weight
scales every item of the source by the same factor, relative to the item's own grade.

The file is read like every input: safe YAML within the size and depth bounds of
:mod:`forecast.inputs.yamlio`, every problem with its file, line and field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from forecast.core.errors import Problem, nearest
from forecast.inputs.yamlio import load_yaml

SOURCES_FILE = "sources.yaml"  # in evidence/; not an evidence file
SOURCE_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"
RELIABILITY_LETTERS = "ABCDEF"
SourceKind = Literal["official", "media", "intelligence", "analysis", "person", "ngo", "social-media", "other"]
_QUALIFIER = re.compile(r"\s*\(.*\)\s*$", re.DOTALL)


def source_key(text: str) -> str:
    """The form in which source names are compared: lower case, runs of whitespace as one space."""
    return re.sub(r"\s+", " ", str(text)).strip().lower()


class Source(BaseModel):
    """One registered source of evidence."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, str_max_length=2000)

    id: str = Field(..., pattern=SOURCE_ID, description="Short id (lower case, digits, hyphens); items may name the source by it.")
    name: str = Field(..., min_length=1, max_length=200, description="The name items use in their `source` field (a qualifier in parentheses may follow).")
    kind: SourceKind = Field(..., description="What kind of source: official, media, intelligence, analysis, person, ngo, social-media or other.")
    reliability: str = Field(..., description="Default Admiralty reliability letter A-F; the prior of the learned weight is centred on its grading weight.")
    notes: str | None = Field(None, description="Why this letter; what the source is.")

    @field_validator("reliability", mode="before")
    @classmethod
    def _letter(cls, letter):
        if isinstance(letter, str):
            letter = letter.strip().upper()
        if not isinstance(letter, str) or len(letter) != 1 or letter not in RELIABILITY_LETTERS:
            raise ValueError(f"reliability {letter!r} is not an Admiralty reliability letter: one of A-F (A completely reliable ... F cannot be judged)")
        return letter


class SourceRegistry(BaseModel):
    """``evidence/sources.yaml``: the registered sources."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    sources: list[Source] = Field(..., description="The registered sources (ids and names distinct).")
    _index: dict | None = PrivateAttr(default=None)  # source_key of every id and name -> Source, built on first resolve
    _resolved: dict = PrivateAttr(default_factory=dict)  # item text -> Source or None

    @model_validator(mode="after")
    def _distinct(self) -> "SourceRegistry":
        for what, keys in (("id", [s.id for s in self.sources]), ("name", [source_key(s.name) for s in self.sources])):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"duplicate source {what}(s): {', '.join(dupes)}")
        return self

    @property
    def ids(self) -> list[str]:
        """The registered source ids, in file order."""
        return [s.id for s in self.sources]

    def get(self, source_id: str) -> Source:
        """The source ``source_id``.

        Raises
        ------
        KeyError
            When no source has that id.
        """
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)

    def resolve(self, text: str | None) -> Source | None:
        """The registered source an item's ``source`` text names, or None.

        Parameters
        ----------
        text : str
            An item's ``source`` field: a source's id or name, optionally followed by a qualifier
            in parentheses.

        Returns
        -------
        Source or None
        """
        if not isinstance(text, str):
            return None
        # a feed of 100,000 items names a handful of sources: each text is resolved once
        if text not in self._resolved:
            if self._index is None:
                index = {}
                for s in self.sources:
                    index[source_key(s.id)] = s
                    index[source_key(s.name)] = s
                self._index = index
            key = source_key(text)
            self._resolved[text] = self._index[key] if key in self._index else self._index.get(source_key(_QUALIFIER.sub("", text)))
        return self._resolved[text]

    def suggestion(self, text: str) -> str | None:
        """The registered name (or id) nearest to an unregistered ``source`` text, for "did you mean"."""
        names = {source_key(s.name): s.name for s in self.sources} | {s.id: s.id for s in self.sources}
        bare = source_key(_QUALIFIER.sub("", text)) or source_key(text)
        hit = nearest(bare, list(names))
        return names[hit] if hit else None


def read_sources(path: Path) -> tuple[SourceRegistry | None, list[Problem]]:
    """Read and validate a source registry file.

    Parameters
    ----------
    path : Path
        ``evidence/sources.yaml`` of a project.

    Returns
    -------
    (SourceRegistry or None, list of Problem)
        The registry (None when the file is absent or invalid) and every problem, each naming the
        file, line and field (an unknown field with the nearest valid one).
    """
    from forecast.inputs.evidence import _problems_from_validation, cap_problems

    path = Path(path)
    if not path.exists():
        return None, []
    parsed, problems = load_yaml(path)
    if parsed is None:
        return None, problems
    if not isinstance(parsed.data, dict):
        return None, problems + [Problem(str(path), "expected a mapping with `sources:` (a list of sources: id, name, kind, reliability, notes)", 1)]
    from pydantic import ValidationError

    try:
        return SourceRegistry.model_validate(parsed.data), problems
    except ValidationError as exc:
        fields = sorted(set(SourceRegistry.model_fields) | set(Source.model_fields))
        return None, problems + cap_problems(_problems_from_validation(exc, path, parsed.line_of, fields), path)


def check_item_sources(registry: SourceRegistry, raws, severity: str = "warning") -> list[Problem]:
    """One problem per evidence item whose ``source`` names no registered source.

    Parameters
    ----------
    registry : SourceRegistry
    raws : iterable of forecast.inputs.evidence.RawItem
        Every item as read (valid or not), with its file and line.
    severity : str
        ``"warning"`` (the fixed-weight mode, where the source is a label) or ``"error"`` (an item
        of a question that learns source weights: it cannot be given one).

    Returns
    -------
    list of Problem
        "unknown source 'X' in item 'Y' (not in evidence/sources.yaml)", field ``source``, with the
        nearest registered name as the suggestion; one per file and source text, at its first line,
        counting the file's other items that name it ("and 4,999 more items of this file").
    """
    # one problem per (file, source text): a feed of 5,000 rows naming one unregistered source is
    # one thing to fix, named at its first line with the count of the others
    found: dict[tuple[str, str], list] = {}
    for raw in raws:
        data = raw.data if isinstance(raw.data, dict) else {}
        text = data.get("source")
        if not isinstance(text, str) or not text.strip() or data.get("draft") is True:
            continue  # a missing source is the item's own problem; a draft is confirmed later
        if registry.resolve(text) is None:
            found.setdefault((str(raw.file), text.strip()), []).append((raw, data.get("id")))
    problems = []
    why = "; a question with `sources: learned` needs every item's source" if severity == "error" else ""
    for (file, text), hits in found.items():
        raw, item_id = hits[0]
        named = f" in item '{item_id}'" if isinstance(item_id, str) else ""
        if len(hits) > 1:
            lines = [r.line_of("source") for r, _ in hits]
            last = max((n for n in lines if n), default=None)
            named += f" and {len(hits) - 1:,} more item{'s' if len(hits) > 2 else ''} of this file" + (f" (up to line {last})" if last else "")
        problems.append(
            Problem(raw.file, f"unknown source {text[:80]!r}{named} (not in evidence/{SOURCES_FILE}; register it there{why})", raw.line_of("source"), "source",
                    registry.suggestion(text), severity=severity)
        )
    return problems
