"""Drafting evidence from a report (``forecast intake``).

An analyst gives a report (plain text or HTML), the question it is read for, the date it was
published and who published it; :func:`intake` returns one **draft** evidence item per sentence
that bears on one of the question's indicators. A draft is marked ``draft: true`` and has no grade:
``forecast validate``, ``forecast update`` and every fit refuse it until the analyst has checked
it, set ``grade:`` and removed ``draft: true``.

How a report becomes drafts
---------------------------
1. **Text.** A plain-text report is used as it is. HTML (a ``.html``/``.htm`` file, or text that
   starts with a tag) is reduced to its visible text with the standard library's
   :class:`html.parser.HTMLParser`: the bodies of ``script``, ``style``, ``noscript``,
   ``template`` and ``title`` are dropped, entities are decoded, runs of white space inside a text
   become one space and block elements (paragraphs, headings, list items, table cells, ``br``)
   are separated by a blank line. :attr:`Drafts.text` keeps the result: every quote is a
   substring of it.
2. **Passages.** The text is cut into blocks at blank lines, at line breaks after a line that
   ends a sentence (``.``, ``!``, ``?``, ``…``, possibly followed by a closing quote or bracket)
   and at line breaks after a heading (a line without end punctuation, at most 120 characters
   and shorter than 60% of the report's median line). Each block is cut into sentences by
   ``sentencex`` (a rule-based segmenter that knows abbreviations such as "Lt. Gen." and "U.S.");
   a line break inside a sentence (hard-wrapped text) is kept, so a quote is always the report's
   own characters. A sentence longer than 1,000 characters is cut at a word boundary, and the
   notes say so.
3. **Cues.** Each indicator of the question lists ``cues`` in ``models/indicators.yaml``
   (:class:`forecast.inputs.spec.Cues`): ``terms`` that suggest the indicator, ``up``/``down``
   words that suggest a direction and ``veto`` words that rule it out. A sentence bears on an
   indicator when a term matches and no veto does. Its **score** for the indicator is the number
   of distinct words or phrases of the sentence that the terms matched (two cues matching the
   same words count once, a word repeated counts once). The suggested indicator is the one with
   the highest score (ties: more direction cues, then the order of the question's indicators);
   the others are listed in the notes. The direction is ``up`` when more ``up`` than ``down``
   cues match, ``down`` in the opposite case, and left for the analyst otherwise.
4. **Confidence**, in [0, 1], rounded to two decimals, is the product of three factors:

   * *strength* ``1 - 0.5 ** n`` for ``n`` distinct words matched by the indicator's terms
     (one word 0.5, two 0.75, three 0.875): more evidence of the topic, more confidence;
   * *share* ``n / (n + n_others)``, the indicator's share of the term matches of every indicator
     that matched the sentence: 1 when no other indicator matched;
   * *clarity* 1.0 when the direction cues point one way only, 0.8 when none matched or they
     disagree.

   It ranks drafts for review; it is not a calibrated probability that the suggestion is right
   (the intake tests measure precision and recall against hand labels).
5. **Event date.** Dates are found with ``dateparser.search.search_dates`` (English, offline),
   relative dates resolved against the published date (``RELATIVE_BASE``) and preferring the past
   (``PREFER_DATES_FROM: past``): with publication on 2025-09-12, "last June" is June 2025 and
   "two weeks ago" is 2025-08-29. A found expression counts only when it names a month (with a
   capital), a weekday, a year 1900-2099, "yesterday"/"today", "... ago" or "last/this/past
   week/month/year" (so "may" the verb and "5 p.m." are not dates). A month without a year
   followed closely by a year ("August and September 2020") takes that year. Phrases such as
   "last year" are also parsed on their own (``search_dates`` can cut "at the beginning of last
   year" wrongly). Within a sentence an absolute date (one with a year) wins over a relative one,
   then a more precise one (day, week, month, year), then the first.
   A date after "since", "until", "till", "before" or "by" is a reference point, not the event's
   date, and a date after publication is a plan or a forecast: neither is used. With no date in
   the sentence, the sentence before it is tried when it is in the same block and bears on the
   same indicator ("near it"); with none there, the event date is the published date. The notes
   say which of these happened and how precise the date is: a month alone is dated the 1st, a
   year alone the 1st of July (January after "early", "beginning of", "start of"; December after
   "late", "end of"), never after publication.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from forecast.core.atomic import atomic_write
from forecast.core.errors import InputError, Problem, nearest
from forecast.inputs.evidence import EvidenceItem, LocatedItem
from forecast.inputs.evidence_set import Evidence
from forecast.inputs.spec import Cues, IndicatorLibrary, QuestionSpec
from forecast.inputs.yamlio import MAX_FILE_BYTES, read_text_bounded

MAX_QUOTE = 1000  # characters: a longer sentence is cut at a word boundary
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
LANGUAGE = "en"

# --------------------------------------------------------------------------------------------------
# HTML to text

_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "title"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skip_depth:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The visible text of an HTML document, one block element per paragraph.

    Parameters
    ----------
    html : str
        The document (untrusted: it is parsed, never rendered or executed).

    Returns
    -------
    str
        Text with entities decoded, the bodies of script, style, noscript, template and title
        dropped, white space inside a text collapsed to single spaces and block elements separated
        by a blank line.
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]*\n[ \t\n]*", lambda m: "\n\n" if m.group().count("\n") > 1 else "\n", text)
    return text.strip()


def looks_like_html(text: str) -> bool:
    """True when ``text`` starts (after white space and comments) with an HTML tag or doctype."""
    head = re.sub(r"^\s*(?:<!--.*?-->\s*)*", "", text[:4096], flags=re.S)
    return bool(re.match(r"<(?:!doctype\s+html|html|head|body|article|main|div|p|h[1-6]|section)\b", head, re.I))


# --------------------------------------------------------------------------------------------------
# passages

_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")


def _blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of the blocks of ``text``: paragraphs and headings (see the module docstring)."""
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append((offset, offset + len(line)))
        offset += len(line) + 1
    lengths = [len(text[a:b].strip()) for a, b in lines if text[a:b].strip()]
    median = statistics.median(lengths) if lengths else 0
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    prev_end = 0
    for a, b in lines:
        line = text[a:b].strip()
        if not line:
            if start is not None:
                blocks.append((start, prev_end))
                start = None
            continue
        if start is None:
            start = a
        prev_end = b
        heading = len(line) <= 120 and len(line) < 0.6 * median
        if _SENTENCE_END.search(line) or heading:
            blocks.append((start, b))
            start = None
    if start is not None:
        blocks.append((start, prev_end))
    return blocks


def split_passages(text: str) -> list[tuple[int, int, int]]:
    """Sentences of ``text`` as ``(start, end, block)``: ``text[start:end]`` is the sentence, stripped.

    Blocks are found as the module docstring says; ``sentencex`` cuts each block into sentences.
    Passages with no letter (rules, numbers alone) are left out.
    """
    import sentencex

    out = []
    for number, (a, b) in enumerate(_blocks(text)):
        block = text[a:b]
        for bound in sentencex.get_sentence_boundaries(LANGUAGE, block):
            s, e = bound["start_index"], bound["end_index"]
            piece = block[s:e]
            lead = len(piece) - len(piece.lstrip())
            start, end = a + s + lead, a + s + len(piece.rstrip())
            if end > start and re.search(r"[^\W\d_]", text[start:end]):
                out.append((start, end, number))
    return out


# --------------------------------------------------------------------------------------------------
# cues


def compile_cue(cue: str) -> re.Pattern:
    """The regular expression of one cue (syntax in :class:`forecast.inputs.spec.Cues`).

    Words match whole words, without regard to case; ``*`` at the end of a word matches any
    ending; a hyphen matches a hyphen or white space; ``'`` matches a straight or curly apostrophe;
    ``...`` matches up to three other words.
    """
    parts: list[str] = []
    gap = False
    for word in cue.split():
        if word == "...":
            gap = True
            continue
        star = word.endswith("*")
        core = re.escape(word.rstrip("*")).replace(r"\-", r"[\s-]+").replace("'", "['\u2019]")
        token = core + (r"[\w'\u2019-]*" if star else "")
        if parts:
            parts.append(r"(?:[\s-]+\S+){0,3}?[\s-]+" if gap else r"[\s-]+")
        parts.append(token)
        gap = False
    return re.compile(r"(?<!\w)" + "".join(parts) + r"(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class CompiledCues:
    """An indicator's cues with their patterns: ``(cue as written, pattern)`` per list."""

    indicator: str
    terms: tuple[tuple[str, re.Pattern], ...]
    up: tuple[tuple[str, re.Pattern], ...]
    down: tuple[tuple[str, re.Pattern], ...]
    veto: tuple[tuple[str, re.Pattern], ...]

    @classmethod
    def from_cues(cls, indicator: str, cues: Cues) -> "CompiledCues":
        """Compile an indicator's cue terms (positive, negative, up, down) into regular expressions once."""
        def comp(words):
            return tuple((w, compile_cue(w)) for w in words)

        return cls(indicator, comp(cues.terms), comp(cues.up), comp(cues.down), comp(cues.veto))


@dataclass(frozen=True)
class IndicatorMatch:
    """How one sentence matched one indicator's cues.

    Attributes
    ----------
    indicator : str
    terms, up, down : tuple of str
        The cues (as written in the library) that matched.
    words : tuple of str
        The distinct words or phrases of the sentence the terms matched (lower case); the score.
    """

    indicator: str
    terms: tuple[str, ...]
    up: tuple[str, ...]
    down: tuple[str, ...]
    words: tuple[str, ...]

    @property
    def score(self) -> int:
        """Number of cue terms matched (the ranking of suggested indicators)."""
        return len(self.words)

    @property
    def direction(self) -> str | None:
        """``"up"`` or ``"down"`` when more direction cues of one kind matched, else None (left to the analyst)."""
        if len(self.up) > len(self.down):
            return "up"
        if len(self.down) > len(self.up):
            return "down"
        return None

    @property
    def cue_list(self) -> list[str]:
        """The matched cues for the draft's ``matched`` field: terms, then ``up: ...``, ``down: ...``."""
        return [*self.terms, *(f"up: {c}" for c in self.up), *(f"down: {c}" for c in self.down)]


def _hits(cues, text: str) -> tuple[list[str], list[tuple[int, int]]]:
    names, spans = [], []
    for name, pattern in cues:
        found = [m.span() for m in pattern.finditer(text)]
        if found:
            names.append(name)
            spans += found
    return names, spans


def _distinct_words(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple(sorted({re.sub(r"\s+", " ", text[a:b].lower().replace("\u2019", "'")) for a, b in merged}))


def match_sentence(text: str, cues: list[CompiledCues]) -> tuple[list[IndicatorMatch], dict[str, list[str]]]:
    """Match one sentence against the cues of several indicators.

    Returns
    -------
    (matches, vetoed)
        ``matches``: every indicator whose terms matched and whose veto cues did not, best first
        (higher score, then more direction cues, then the order of ``cues``); ``vetoed``: indicator
        -> the veto cues that ruled it out.
    """
    matches, vetoed = [], {}
    for order, c in enumerate(cues):
        terms, spans = _hits(c.terms, text)
        if not terms:
            continue
        veto, _ = _hits(c.veto, text)
        if veto:
            vetoed[c.indicator] = veto
            continue
        up, _ = _hits(c.up, text)
        down, _ = _hits(c.down, text)
        matches.append((order, IndicatorMatch(c.indicator, tuple(terms), tuple(up), tuple(down), _distinct_words(text, spans))))
    matches.sort(key=lambda om: (-om[1].score, -(len(om[1].up) + len(om[1].down)), om[0]))
    return [m for _, m in matches], vetoed


def confidence(matches: list[IndicatorMatch]) -> float:
    """Confidence of the first (suggested) match: strength x share x clarity (module docstring, step 4)."""
    best = matches[0]
    n = best.score
    strength = 1 - 0.5**n
    share = n / sum(m.score for m in matches)
    clarity = 1.0 if best.direction is not None and not (best.up and best.down) else 0.8
    return round(strength * share * clarity, 2)


# --------------------------------------------------------------------------------------------------
# dates

_MONTH = r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b"
_WEEKDAY = r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b"
_YEAR = r"\b(?:19|20)\d\d\b"
_RELATIVE_PHRASE = r"(?i:\b(?:last|this|past|previous)\s+(?:week|weekend|month|year)\b)"
_RELATIVE = r"(?i:\b(?:yesterday|today|ago)\b)|" + _RELATIVE_PHRASE
_DATE_WORD = re.compile("|".join((_MONTH, _WEEKDAY, _YEAR, _RELATIVE)))
_REFERENCE_POINT = re.compile(r"\b(?:since|until|till|before|by)\s*$", re.I)
_EARLY = re.compile(r"\b(?:early|beginning\s+of|start\s+of)\b[^.]{0,12}$", re.I)
_MID = re.compile(r"\b(?:mid|middle\s+of)\b[^.]{0,12}$", re.I)
_LATE = re.compile(r"\b(?:late|end\s+of)\b[^.]{0,12}$", re.I)


@dataclass(frozen=True)
class FoundDate:
    """A date expression found in a sentence and what it resolves to."""

    text: str  # the expression as written
    start: int  # its offset in the sentence
    date: dt.date
    precision: str  # "day", "week", "month" or "year"
    absolute: bool  # it names a year
    reference_point: bool  # after since/until/till/before/by


class DateFinder:
    """Finds event dates in sentences, relative dates resolved against the published date.

    Parameters
    ----------
    published : date
        The report's publication date: the base of relative dates, and the latest date an event
        reported in it can have.
    """

    def __init__(self, published: dt.date):
        from dateparser.date import DateDataParser

        self.published = published
        self.settings = {
            "RELATIVE_BASE": dt.datetime.combine(published, dt.time()),
            "PREFER_DATES_FROM": "past",
            "PREFER_DAY_OF_MONTH": "first",
            "RETURN_AS_TIMEZONE_AWARE": False,
        }
        self._periods = DateDataParser(languages=[LANGUAGE], settings=self.settings)

    def _precision(self, expression: str) -> str:
        data = self._periods.get_date_data(expression)
        if data.date_obj is not None and data.period in ("day", "week", "month", "year"):
            return data.period
        if re.search(_MONTH, expression):
            return "day" if re.search(r"\b\d{1,2}(?:st|nd|rd|th)?\b", expression) else "month"
        if re.search(_YEAR, expression):
            return "year"
        return "day"

    def _found(self, sentence: str, expression: str, at: int, when: dt.datetime) -> FoundDate:
        text = _trim_expression(expression)
        return FoundDate(
            text=text,
            start=at,
            date=when.date(),
            precision=self._precision(text),
            absolute=bool(re.search(_YEAR, text)),
            reference_point=bool(_REFERENCE_POINT.search(sentence[:at])) or text.lower().startswith(("since ", "until ", "till ", "before ", "by ")),
        )

    def find(self, sentence: str) -> list[FoundDate]:
        """Every plausible date expression of ``sentence``, in order (module docstring, step 5)."""
        from dateparser.search import search_dates

        out: list[FoundDate] = []
        cursor = 0
        for expression, when in search_dates(sentence, languages=[LANGUAGE], settings=self.settings) or []:
            at = sentence.find(expression, cursor)
            if at < 0:
                continue
            cursor = at + len(expression)
            if _DATE_WORD.search(expression):
                out.append(self._found(sentence, expression, at, when))
        # search_dates can cut "at the beginning of last year" into "year, a": parse such phrases alone
        for m in re.finditer(_RELATIVE_PHRASE, sentence):
            if any(d.start <= m.start() < d.start + len(d.text) for d in out):
                continue
            data = self._periods.get_date_data(m.group())
            if data.date_obj is not None:
                out.append(self._found(sentence, m.group(), m.start(), data.date_obj))
        return self._borrow_years(sentence, sorted(out, key=lambda d: d.start))

    @staticmethod
    def _borrow_years(sentence: str, dates: list[FoundDate]) -> list[FoundDate]:
        """A month with no year takes the year written just after it ("August and September 2020")."""
        out = list(dates)
        for i in range(len(out) - 2, -1, -1):  # right to left: "August" borrows from "September 2020"
            d, nxt = out[i], out[i + 1]
            if d.absolute or d.precision != "month" or not nxt.absolute or nxt.start - (d.start + len(d.text)) > 30:
                continue
            text = sentence[d.start : nxt.start + len(nxt.text)]
            out[i] = FoundDate(text, d.start, d.date.replace(year=nxt.date.year), "month", True, d.reference_point)
        return out

    def _settle(self, sentence: str, d: FoundDate) -> tuple[dt.date, str]:
        """The date to use for a found expression, and how precise it is (for the notes)."""
        if d.precision == "year":
            before = sentence[: d.start] + " "
            if _MID.search(before) or re.match(r"(?i)(?:mid|middle of)\b", d.text):
                month, how = 7, 'the 1st of July ("mid")'
            elif _EARLY.search(before) or re.match(r"(?i)(?:early|beginning of|start of)\b", d.text):
                month, how = 1, 'the 1st of January ("early")'
            elif _LATE.search(before) or re.match(r"(?i)(?:late|end of)\b", d.text):
                month, how = 12, 'the 1st of December ("late")'
            else:
                month, how = 7, "the 1st of July (mid-year)"
            date = min(dt.date(d.date.year, month, 1), self.published)
            return date, f"year only: set to {how}" + (", capped at the published date" if date == self.published else "")
        if d.precision == "month":
            return d.date.replace(day=1), "month only: day set to the 1st"
        if d.precision == "week":
            return d.date, "to the week"
        return d.date, "to the day"

    def choose(self, sentence: str) -> tuple[dt.date, str] | None:
        """The event date of a sentence and a note on how it was found, or None when it names none.

        Dates after publication and reference points ("since 2022") are never the event date; the
        note names them when nothing else was found.
        """
        dates = self.find(sentence)
        usable = [d for d in dates if not d.reference_point and d.date <= self.published]
        # an absolute date wins, then the more precise one, then the first
        ranked = sorted(usable, key=lambda d: (not d.absolute, _PRECISION_RANK[d.precision], d.start))
        if ranked:
            d = ranked[0]
            date, how = self._settle(sentence, d)
            return date, f"event date from {d.text!r} ({how})"
        future = [d for d in dates if d.date > self.published]
        if future:
            d = future[0]
            return self.published, f"the quote names {d.text!r} ({d.date.isoformat()}), after publication (a plan or a forecast?): event_date is the published date"
        points = [d for d in dates if d.reference_point]
        if points:
            return self.published, f"{points[0].text!r} is a reference point, not the event's date: event_date is the published date"
        return None


_PRECISION_RANK = {"day": 0, "week": 1, "month": 2, "year": 3}
_KEEP_WORDS = re.compile(r"(?i)^(?:ago|yesterday|today|week|weekend|month|year|\d+(?:st|nd|rd|th)?)$")


def _trim_expression(expression: str) -> str:
    """A found expression without the stray words search_dates keeps around it ("In August, the")."""
    words = expression.strip().split()
    while len(words) > 1:
        last = words[-1].strip(",.;:")
        if _KEEP_WORDS.match(last) or re.fullmatch(_MONTH + "|" + _WEEKDAY + "|" + _YEAR, last):
            break
        words.pop()
    return " ".join(words).rstrip(",.;:")


# --------------------------------------------------------------------------------------------------
# drafts


@dataclass
class Passage:
    """One sentence of the report and what intake made of it.

    Attributes
    ----------
    number : int
        1-based position among the report's sentences.
    start, end : int
        ``text[start:end]`` of :attr:`Drafts.text` is the sentence.
    block : int
        Index of its paragraph or heading.
    matches : list of IndicatorMatch
        Indicators whose cues matched, best first (empty: no draft).
    vetoed : dict
        Indicator -> the veto cues that ruled it out.
    """

    number: int
    start: int
    end: int
    block: int
    text: str
    matches: list[IndicatorMatch] = field(default_factory=list)
    vetoed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def indicator(self) -> str | None:
        """The suggested indicator, or None when the sentence bears on none."""
        return self.matches[0].indicator if self.matches else None


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "report"


def _cut(text: str, limit: int = MAX_QUOTE) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return cut[:space].rstrip() if space > limit // 2 else cut


class Drafts(Evidence):
    """Draft evidence items drafted from one report (an :class:`~forecast.inputs.evidence_set.Evidence`).

    Attributes
    ----------
    text : str
        The report's text (HTML reduced to text): every quote is a substring of it.
    passages : list of Passage
        Every sentence, with the cues it matched (useful when tuning cues).
    question, source, report : str
        The question id, the publisher and the report's name.
    published : date
    id_prefix : str
        ``<published>-<report name>``: the drafts' ids start with it (and ``forecast intake``
        names its default file after it).
    warnings : list of str
        E.g. indicators of the question that have no cues.
    """

    def __init__(self, items=(), description=None, *, text="", passages=(), question="", published=None, source="", report="", id_prefix="drafts", warnings=()):
        super().__init__(items, description)
        self.id_prefix = id_prefix
        self.text = text
        self.passages = list(passages)
        self.question = question
        self.published = published
        self.source = source
        self.report = report
        self.warnings = list(warnings)

    def to_yaml(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the drafts as a YAML evidence file, atomically.

        Parameters
        ----------
        path : str or Path
            The file, e.g. ``evidence/drafts/2025-09-12-wire.yaml`` (``forecast validate`` reads
            ``evidence/`` and ``evidence/drafts/``).
        overwrite : bool
            Replace an existing file. Off by default: the file may hold drafts already graded.

        Returns
        -------
        Path

        Raises
        ------
        FileExistsError
            When ``path`` exists and ``overwrite`` is False.
        """
        import yaml

        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists: it may hold drafts already graded (overwrite=True / --force replaces it)")
        document: dict = {"description": self.description} if self.description else {}
        document["items"] = [li.item.model_dump(mode="python", exclude_defaults=True) for li in self]
        body = yaml.dump(document, Dumper=_drafts_dumper(), sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
        return atomic_write(path, lambda tmp: tmp.write_text(body, encoding="utf-8"))

    def __repr__(self) -> str:
        return f"<Drafts: {len(self)} draft item{'' if len(self) == 1 else 's'} from {len(self.passages)} sentences of {self.report or 'a report'} for {self.question}>"

    def _repr_html_(self) -> str:
        from forecast.core.html import Cell, page, table

        rows = [
            [
                it.id,
                it.event_date,
                it.indicator,
                it.direction or "",
                Cell(f"{it.confidence:.2f}", sort=it.confidence),
                ", ".join(it.matched or []),
                Cell(it.quote, title=it.notes, css="quote"),
            ]
            for it in self.items
        ]
        return page(table(("id", "event date", "indicator", "direction", "confidence", "matched", "quote"), rows, caption=repr(self)))


def _drafts_dumper():
    """The safe dumper, list items indented, no anchors for repeated dates, multi-line quotes as ``|`` blocks."""
    import yaml

    class DraftsDumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False)

        def ignore_aliases(self, data):
            return True

    def text(dumper, value: str):
        style = "|" if "\n" in value else None  # a hard-wrapped quote stays line for line
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    DraftsDumper.add_representer(str, text)
    return DraftsDumper


def review_rows(items) -> list[dict[str, str]]:
    """Plain-text rows for ``forecast intake --review``: one per item of an evidence file."""
    rows = []
    for li in items:
        it = li.item
        rows.append(
            {
                "line": str(li.line or ""),
                "id": it.id,
                "event date": it.event_date.isoformat(),
                "indicator": it.indicator or (f"resolves {it.question}" if it.resolves else ""),
                "direction": it.direction or ("" if it.value is None else f"level {it.value:+g}"),
                "status": "draft" if it.draft else f"confirmed {it.grade}",
                "confidence": "" if it.confidence is None else f"{it.confidence:.2f}",
                "matched": ", ".join(it.matched or []),
                "quote": it.quote,
                "notes": it.notes or "",
            }
        )
    return rows


# --------------------------------------------------------------------------------------------------
# entry point


def _read_report(report: str | Path) -> tuple[str, str, bool]:
    """(text, name, is_html) of a report given as a path or as its text."""
    as_path: Path | None = None
    if isinstance(report, Path):
        as_path = report
    elif isinstance(report, str) and len(report) < 1024:
        # a path: an existing file, or one word that looks like a file name (a report's text has spaces)
        candidate = Path(report.strip()).expanduser()
        looks_like_path = not re.search(r"\s", report.strip()) and bool(re.search(r"/|\.[A-Za-z0-9]{1,5}$", report))
        if "\n" not in report and (candidate.is_file() or looks_like_path):
            as_path = candidate
    if as_path is None:
        if not isinstance(report, str) or not report.strip():
            raise InputError([Problem("<report>", "the report is empty", None, "report")])
        if len(report.encode("utf-8")) > MAX_FILE_BYTES:
            raise InputError([Problem("<report>", f"the report is above the {MAX_FILE_BYTES}-byte limit", None, "report")])
        return report, "report", looks_like_html(report)
    if not as_path.is_file():
        folder = as_path.parent if as_path.parent.is_dir() else None
        siblings = [p.name for p in folder.iterdir() if p.is_file()] if folder else []
        hint = nearest(as_path.name, siblings)
        raise InputError([Problem(str(as_path), "no such report file", None, "report", str(as_path.parent / hint) if hint else None)])
    text, problems = read_text_bounded(as_path)
    if text is None:
        raise InputError(problems)
    return text, as_path.name, as_path.suffix.lower() in HTML_SUFFIXES or looks_like_html(text)


def _question(question, root) -> tuple[QuestionSpec, IndicatorLibrary]:
    if isinstance(question, str):
        from forecast.inputs.project import Project

        return Project.find(root).load_spec(question)
    if hasattr(question, "spec") and hasattr(question, "library"):
        return question.spec, question.library
    raise TypeError(f"question must be a question id or a loaded question, not {type(question).__name__}")


def _published(value) -> dt.date:
    from forecast.core.timegrid import to_date  # YYYY-MM-DD only, as every date of every format

    try:
        return to_date(value)
    except ValueError as exc:
        raise InputError([Problem("<arguments>", f"published: {exc}", None, "published")]) from None


def intake(
    report: str | Path,
    *,
    question,
    published,
    source: str,
    url: str | None = None,
    root: str | Path | None = None,
) -> Drafts:
    """Draft evidence items from a report: one per sentence that bears on an indicator of ``question``.

    Parameters
    ----------
    report : str or Path
        A report file (plain text, or HTML when it ends in ``.html``/``.htm`` or starts with a tag),
        or the report's text itself.
    question : str or Question
        The question id (its spec is read from ``models/``) or a loaded question.
    published : date or str
        When the report was published (``YYYY-MM-DD``): the base of relative dates ("last June"),
        each draft's ``published`` and the latest event date.
    source : str
        Who published it; each draft's ``source``.
    url : str, optional
        The report's address; each draft's ``url``.
    root : str or Path, optional
        Project folder (default: found from the current folder); used when ``question`` is an id.

    Returns
    -------
    Drafts
        The draft items (``draft: true``, no grade), in report order; ``.to_yaml(path)`` writes
        them. Ids are ``<published>-<report name>-s<sentence number>`` (the date once when the
        report's name holds it already).

    Raises
    ------
    InputError
        A missing, empty, oversized or non-UTF-8 report file (with the nearest file name), an
        unknown question (with the nearest id) or an invalid spec, a published date that is not
        ``YYYY-MM-DD``, an empty source.
    """
    published_on = _published(published)
    if not isinstance(source, str) or not source.strip():
        raise InputError([Problem("<arguments>", "source: name who published the report", None, "source")])
    raw, name, is_html = _read_report(report)
    spec, library = _question(question, root)
    text = html_to_text(raw) if is_html else raw

    cues, warnings = [], []
    for ind_id in spec.indicators:
        ind = library.get(ind_id)
        if ind.cues is None:
            warnings.append(f"indicator '{ind_id}' has no cues in models/indicators.yaml: no sentence can be matched to it")
        else:
            cues.append(CompiledCues.from_cues(ind_id, ind.cues))

    finder = DateFinder(published_on)
    slug = _slug(Path(name).stem if name != "report" else source)
    prefix = slug if published_on.isoformat() in slug else f"{published_on.isoformat()}-{slug}"
    passages: list[Passage] = []
    located: list[LocatedItem] = []
    previous: Passage | None = None
    for number, (start, end, block) in enumerate(split_passages(text), start=1):
        sentence = text[start:end]
        matches, vetoed = match_sentence(sentence, cues)
        passage = Passage(number, start, end, block, sentence, matches, vetoed)
        passages.append(passage)
        if matches:
            located.append(LocatedItem(item=_draft(passage, previous, finder, prefix, name, published_on, source, url), file="<intake>", line=number))
        previous = passage

    description = (
        f"Drafts from {name} ({source}, published {published_on.isoformat()}) for question {spec.id}, written by forecast intake. "
        "For each item: check the quote, indicator, direction and event date, set `grade:` (Admiralty), "
        "and remove `draft: true`; delete items that do not bear on the question."
    )
    return Drafts(located, description, text=text, passages=passages, question=spec.id, published=published_on, source=source, report=name, id_prefix=prefix, warnings=warnings)


def _draft(passage: Passage, previous: Passage | None, finder: DateFinder, prefix: str, name: str, published: dt.date, source: str, url: str | None) -> EvidenceItem:
    best = passage.matches[0]
    quote = _cut(passage.text)
    notes = [f"sentence {passage.number} of {name}"]
    if quote != passage.text:
        notes.append(f"quote cut at {len(quote)} of {len(passage.text)} characters")
    chosen = finder.choose(passage.text)
    if chosen is None and previous is not None and previous.block == passage.block and previous.indicator == passage.indicator:
        near = finder.choose(previous.text)
        if near is not None and not near[1].startswith("the quote names"):
            chosen = (near[0], near[1].replace("event date from", "event date from the sentence before:", 1))
    if chosen is None:
        chosen = (published, "no date in or near the quote: event_date is the published date")
    event_date, date_note = chosen
    notes.append(date_note)
    if best.direction is None:
        notes.append("direction: " + ("up and down cues both matched" if best.up else "no direction cue matched") + ", choose one (or a `value`)")
    others = passage.matches[1:]
    if others:
        notes.append("also matched: " + "; ".join(f"{m.indicator} ({', '.join(m.terms)})" for m in others))
    return EvidenceItem.model_validate(
        {
            "id": f"{prefix}-s{passage.number:03d}",
            "event_date": event_date,
            "published": published,
            "indicator": best.indicator,
            "direction": best.direction,
            "source": source,
            "draft": True,
            "quote": quote,
            "url": url,
            "notes": "; ".join(notes),
            "matched": best.cue_list,
            "confidence": confidence(passage.matches),
        }
    )
