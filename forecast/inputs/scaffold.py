"""``forecast new <question-id>``: start a question with a commented spec and an empty evidence file.

Writes ``models/<id>.yaml`` (every field with a comment saying what it means) and
``evidence/<id>.yaml`` (``items: []``). Both pass ``forecast validate`` as written, so a new
question can be loaded, fitted and edited step by step. What validate checks shapes the
placeholders:

* every prior must quote its source text (the indicator library's ``source``), so each placeholder
  prior quotes the first line of that text; its reasoning starts with ``TODO`` and it is marked
  ``assumption: true``, and validate *warns* about it until the reasoning is rewritten;
* a prior given as an interval must be elicitable, so the placeholder intervals are ones the
  shipped questions use (their elicitations are cached);
* the question, event and resolution criteria start with ``TODO`` (a warning too);
* the risk window starts today and the horizons are the ends of the next two years.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from pathlib import Path

from forecast.core.atomic import atomic_write
from forecast.core.errors import InputError, Problem, nearest
from forecast.inputs.project import LIBRARY_FILE, PLACEHOLDER, Project

# kebab-case: lowercase words of letters and digits joined by single hyphens (fits spec.SLUG)
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ID = 63
# placeholder intervals the shipped questions already use: elicitable, and cached after one run
BASELINE_INTERVAL = (0.01, 0.12)
SIZE_INTERVAL = (0.2, 1.1)


def _yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (a JSON string is one) for any text, markup and colons included."""
    return json.dumps(text, ensure_ascii=False)


def _placeholder_quote(project: Project, library) -> str:
    """The first line of the library's source text (up to ~120 characters, cut at a word)."""
    text = project._source_text(library) or ""
    first = next((line.strip() for line in text.splitlines() if len(line.strip()) >= 3), "")
    if len(first) > 120:
        first = first[:120].rsplit(" ", 1)[0]
    return first or f"{PLACEHOLDER}: a passage of {library.source}"


def check_question_id(question_id: str, models_dir: Path) -> None:
    """Raise :class:`InputError` unless ``question_id`` can name a new question file."""
    if not isinstance(question_id, str) or not KEBAB.match(question_id) or len(question_id) > MAX_ID:
        raise InputError(
            [
                Problem(
                    str(models_dir),
                    f"question id {question_id!r} is not kebab-case: lowercase letters and digits in words "
                    f"joined by single hyphens, at most {MAX_ID} characters (e.g. 'border-closure')",
                    None,
                    "id",
                )
            ]
        )
    if f"{question_id}.yaml" == LIBRARY_FILE:
        raise InputError([Problem(str(models_dir), f"'{question_id}' names the indicator library file; choose another id", None, "id")])


def _line(code: str, comment: str = "", column: int = 36) -> str:
    """``code`` with ``# comment`` aligned at ``column``."""
    return f"{code:<{column}}  # {comment}" if comment else code


def spec_text(question_id: str, library, quote: str, indicators: list[str], today: dt.date) -> str:
    """The commented question spec ``forecast new`` writes."""
    quote = _yaml_string(quote)
    reasoning = _yaml_string(f"{PLACEHOLDER}: why the interval has this size (and replace the quote with the passage it rests on)")
    horizons = ", ".join(h.isoformat() for h in (dt.date(today.year + 1, 12, 31), dt.date(today.year + 2, 12, 31)))
    lines = [
        f"# {question_id}: written by `forecast new` on {today.isoformat()}.",
        f"# Values starting with {PLACEHOLDER} are placeholders: `forecast validate` passes but warns until",
        "# they are rewritten. Full format: `forecast schema question`; indicators: models/indicators.yaml.",
        _line(f"id: {question_id}", "must equal the file name"),
        f"question: {_yaml_string(PLACEHOLDER + ': the question in words (Will ... happen, and by when?)')}",
        _line(f"event: {_yaml_string(PLACEHOLDER + ': the event')}", "the headline reads P(<event> by <date>)"),
        _line("resolution_criteria: >-", "what counts as the event, and what does not"),
        f"  {PLACEHOLDER}: which sources must confirm what, and which near-misses do not count.",
        _line(f"risk_window_start: {today.isoformat()}", f"first day the event could happen (not before {library.reference_date})"),
        _line("time_step: month", "the model's time step (month is the only one)"),
        _line(f"horizons: [{horizons}]", "dates to report P(event by date) for"),
        _line("headline_lead_months: 12", "headline: first horizon at least this many months after as-of"),
        "",
        "baseline:",
        _line("  per: year", "P(event) per year (or month) with every indicator at 0"),
        "  probability:",
        _line("    dist: beta", "a probability: always beta"),
        _line(f"    interval: [{BASELINE_INTERVAL[0]:g}, {BASELINE_INTERVAL[1]:g}]", f"{PLACEHOLDER}: your interval for that probability..."),
        _line("    mass: 0.9", "...and how sure you are it holds it (maximum-entropy elicitation)"),
        "    source:",
        f"      # {PLACEHOLDER}: the passage of {library.source} this prior encodes (verbatim; validate checks it)",
        f"      quote: {quote}",
        f"      reasoning: {reasoning}",
        _line("      assumption: true", "true: the size goes beyond what the source states"),
        "",
        "# The indicators the question uses, each with its signed effect on the hazard: `direction: toward`,",
        "# a rise raises the hazard; `against`, it lowers it. `size` is the prior on |log hazard ratio| per",
        "# +1 of the indicator (0.69 doubles or halves the hazard). Library indicators:",
        f"# {', '.join(library.ids)}.",
    ]
    if not indicators:
        lines += [
            _line("indicators: {}", "none yet: the baseline alone. To add one, replace {} with e.g."),
            f"#   {library.ids[0]}:",
            "#     direction: toward",
            f"#     size: {{dist: gamma, interval: [{SIZE_INTERVAL[0]:g}, {SIZE_INTERVAL[1]:g}], mass: 0.9, source: {{quote: ..., reasoning: ...}}}}",
        ]
    else:
        lines.append("indicators:")
        for ind in indicators:
            lines += [
                f"  {ind}:",
                _line("    direction: toward", f"{PLACEHOLDER}: toward or against"),
                "    size:",
                _line("      dist: gamma", "positive: gamma, halfnormal, lognormal or exponential"),
                _line(f"      interval: [{SIZE_INTERVAL[0]:g}, {SIZE_INTERVAL[1]:g}]", f"{PLACEHOLDER}: here a +1 rise changes the hazard 1.2-3 fold"),
                "      mass: 0.9",
                "      source:",
                f"        # {PLACEHOLDER}: the passage this effect rests on",
                f"        quote: {quote}",
                f"        reasoning: {reasoning}",
                "        assumption: true",
            ]
    lines += [
        "",
        "# Optional settings, shown with their defaults (uncomment to change):",
        _line("# grading:", "Admiralty grade -> likelihood weight (README: How a grade weighs an item)"),
        "#   observation_sd: 0.5",
        "# sampler:",
        "#   draws: 1500",
        "#   tune: 1000",
        "#   chains: 4",
        "#   target_accept: 0.95",
        "#   future_paths: 200",
        _line("# thresholds:", "a fit missing any of these is flagged"),
        "#   r_hat: 1.01",
        "#   ess: 400",
        "#   divergences: 0",
        "#   headline_mcse: 0.005",
        "",
    ]
    return "\n".join(lines)


def evidence_text(question_id: str, library) -> str:
    """The empty, commented evidence file ``forecast new`` writes."""
    return "\n".join(
        [
            f"# Evidence for {question_id}: dated, graded observations. Format: `forecast schema evidence`.",
            "# Item ids are unique across every file in evidence/; an item observes an indicator of",
            f"# models/indicators.yaml ({', '.join(library.ids)}) or resolves a question. Replace [] with items:",
            "#  - id: short-unique-id",
            "#    event_date: 2025-01-15           # when it happened",
            "#    published: 2025-01-16            # when it became known (--as-of filters on this)",
            f"#    indicator: {library.ids[0]}",
            "#    direction: up                    # a change over the preceding 3 months (weak/moderate/strong) ...",
            "#    strength: moderate",
            "#    # value: 1.0                     # ... or a level on the indicator's scale",
            "#    source: Who reported it",
            "#    grade: B2                        # Admiralty: reliability A-F, credibility 1-6",
            "#    quote: \"What was reported\"",
            "items: []",
            "",
        ]
    )


def new(question_id: str, root: str | Path | None = None, indicators: list[str] | None = None, force: bool = False, today: dt.date | None = None) -> dict[str, Path]:
    """Write ``models/<id>.yaml`` and ``evidence/<id>.yaml`` for a new question.

    Parameters
    ----------
    question_id : str
        Kebab-case id (``border-closure``); names both files.
    root : path, optional
        Project folder (default: found from the current folder).
    indicators : list of str, optional
        Library indicators the question uses; each gets a placeholder effect.
    force : bool
        Overwrite existing files.
    today : date, optional
        Start of the risk window and the date in the header (default: today).

    Returns
    -------
    dict
        ``{"spec": path, "evidence": path}``.

    Raises
    ------
    InputError
        An id that is not kebab-case, an indicator not in the library, or a library that does not load.
    FileExistsError
        Either file exists and ``force`` is False (nothing is written).
    """
    project = Project.find(root)
    check_question_id(question_id, project.models_dir)
    library, problems = project._library()
    errors = [p for p in problems if p.severity == "error"]
    if library is None or errors:
        raise InputError(errors or problems)
    indicators = list(dict.fromkeys(indicators or []))
    unknown = [
        Problem(str(project.models_dir / f"{question_id}.yaml"), f"unknown indicator '{ind}' (not in models/{LIBRARY_FILE})", None, "indicators", nearest(ind, library.ids))
        for ind in indicators
        if ind not in library.ids
    ]
    if unknown:
        raise InputError(unknown)
    spec_path = project.models_dir / f"{question_id}.yaml"
    evidence_path = project.evidence_dir / f"{question_id}.yaml"
    existing = [str(p) for p in (spec_path, evidence_path) if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; nothing written (overwrite with --force, or force=True from Python)")
    today = today or dt.date.today()
    spec = spec_text(question_id, library, _placeholder_quote(project, library), indicators, today)
    evidence = evidence_text(question_id, library)
    # both files or neither: when the second cannot be written (a full disk), the first is put back
    previous_spec = spec_path.read_bytes() if spec_path.is_file() else None
    atomic_write(spec_path, lambda p: p.write_text(spec, encoding="utf-8"))
    try:
        atomic_write(evidence_path, lambda p: p.write_text(evidence, encoding="utf-8"))
    except BaseException:
        if previous_spec is None:
            spec_path.unlink(missing_ok=True)
        else:
            with contextlib.suppress(OSError):
                atomic_write(spec_path, lambda p: p.write_bytes(previous_spec))
        raise
    return {"spec": spec_path, "evidence": evidence_path}
