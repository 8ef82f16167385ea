"""Finding, loading and validating a project's files (``models/`` and ``evidence/``).

``load("belarus-entry")`` returns a :class:`Question`: its spec, the indicator library and every
evidence item, all validated. ``validate()`` checks every file and returns *all* problems at once.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from forecast.core.errors import InputError, Problem, ProblemList, by_place, nearest
from forecast.core.timegrid import check_not_future, to_date
from forecast.inputs.evidence import EVIDENCE_SUFFIXES, LocatedItem, RawItem, read_evidence
from forecast.inputs.evidence_set import Evidence
from forecast.inputs.priors import ElicitationError, Prior
from forecast.inputs.sources import SOURCES_FILE, SourceRegistry, check_item_sources, read_sources
from forecast.inputs.spec import IndicatorLibrary, QuestionSpec, normalize_text
from forecast.inputs.yamlio import load_yaml, read_text_bounded

LIBRARY_FILE = "indicators.yaml"
# `forecast intake` writes its drafts here; validate reads evidence/ and this folder
DRAFTS_DIR = "drafts"
# `forecast new` starts every text and prior reasoning with this mark; validate warns until replaced
PLACEHOLDER = "TODO"


def find_root(start: Path | None = None) -> Path:
    """The project folder: ``$FORECAST_HOME``, else the nearest parent of ``start`` holding ``models/``."""
    env = os.environ.get("FORECAST_HOME")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "models" / LIBRARY_FILE).is_file():
            return folder
    raise InputError([Problem(str(here), f"no models/{LIBRARY_FILE} here or in any parent folder (set FORECAST_HOME)")])


def _validate_model(model: type[BaseModel], parsed, path: Path) -> tuple[BaseModel | None, list[Problem]]:
    from forecast.inputs.evidence import _problems_from_validation

    if not isinstance(parsed.data, dict):
        return None, [Problem(str(path), f"expected a mapping of {model.__name__} fields", 1)]
    try:
        return model.model_validate(parsed.data), []
    except ValidationError as exc:
        return None, _problems_from_validation(exc, path, parsed.line_of, list(model.model_fields))


def _field_names(model: type[BaseModel]) -> list[str]:
    """Every field name in a model and the models nested in it (for typo suggestions)."""
    names: set[str] = set()

    def walk(m):
        for name, f in m.model_fields.items():
            names.add(name)
            ann = f.annotation
            for cand in (ann, *getattr(ann, "__args__", ())):
                if isinstance(cand, type) and issubclass(cand, BaseModel) and cand is not m:
                    walk(cand)

    walk(model)
    return sorted(names)


def draft_problems(items: list[LocatedItem], root: Path | None = None) -> list[Problem]:
    """One error per file that holds draft items (``draft: true``): drafts never enter a fit.

    Parameters
    ----------
    items : list of LocatedItem
        Evidence items with the file and line they came from.
    root : Path, optional
        Project folder; file names in the message are shown relative to it.

    Returns
    -------
    list of Problem
        For each file with drafts: "grade and confirm N draft items in FILE: set `grade:` and
        remove `draft: true` (lines ...)", on the line of its first draft, field ``draft``.
    """
    by_file: dict[str, list[LocatedItem]] = {}
    for li in items:
        if li.item.draft:
            by_file.setdefault(li.file, []).append(li)
    problems = []
    for file, drafts in by_file.items():
        shown = file
        if root is not None:
            try:
                shown = Path(file).resolve().relative_to(Path(root).resolve()).as_posix()
            except ValueError:
                pass
        lines = [str(li.line) for li in drafts if li.line]
        where = f" ({'line' if len(lines) == 1 else 'lines'} {', '.join(lines)})" if lines else ""
        noun = "draft item" if len(drafts) == 1 else "draft items"
        problems.append(
            Problem(file, f"grade and confirm {len(drafts)} {noun} in {shown}: set `grade:` and remove `draft: true`{where}", drafts[0].line, "draft")
        )
    return problems


@dataclass
class Project:
    """A project folder with ``models/`` and ``evidence/``."""

    root: Path

    @classmethod
    def find(cls, root: str | Path | None = None) -> "Project":
        """The project at ``root``, or the one containing the working directory (a folder with ``models/``)."""
        return cls(Path(root).resolve() if root else find_root())

    @property
    def models_dir(self) -> Path:
        """The folder of question specs and the indicator library."""
        return self.root / "models"

    @property
    def evidence_dir(self) -> Path:
        """The folder of evidence files."""
        return self.root / "evidence"

    def question_ids(self) -> list[str]:
        """Ids of the project's questions (the spec files in ``models/``), sorted."""
        return sorted(p.stem for p in self.models_dir.glob("*.yaml") if p.name != LIBRARY_FILE)

    def outside(self, path: Path) -> Problem | None:
        """A problem when ``path`` (after following symbolic links) is not inside the project folder.

        Files are read the way the user means them: a spec, an evidence file or the source text
        that leads out of the project (``../../etc/passwd``, a link to another folder) is refused,
        so that no file outside the project is read, fitted on, or quoted back in an error.
        """
        root = Path(self.root).resolve()
        try:
            target = Path(path).resolve()
        except (OSError, RuntimeError) as exc:  # a link loop
            return Problem(str(path), f"cannot follow this path: {exc}")
        if target != root and root not in target.parents:
            via = " (through a symbolic link)" if Path(path).is_symlink() or any(p.is_symlink() for p in Path(path).parents) else ""
            return Problem(str(path), f"leads outside the project folder {root}{via}; copy the file into the project instead")
        return None

    # -- loading with problem collection -----------------------------------------------------------
    def _library(self) -> tuple[IndicatorLibrary | None, list[Problem]]:
        path = self.models_dir / LIBRARY_FILE
        away = self.outside(path)
        if away is not None:
            return None, [away]
        parsed, problems = load_yaml(path)
        if parsed is None:
            return None, problems
        lib, more = _validate_model(IndicatorLibrary, parsed, path)
        problems += more
        if lib is not None:
            problems += self._check_priors(
                path, parsed, lib, [(("indicators", i, role), getattr(ind, role)) for i, ind in enumerate(lib.indicators) for role in ("level", "volatility")]
            )
        return lib, problems

    def _source_text(self, lib: IndicatorLibrary) -> str | None:
        """The source text, or None when it cannot be read (see :meth:`_source`)."""
        return self._source(lib)[0]

    def _source(self, lib: IndicatorLibrary) -> tuple[str | None, str | None]:
        """The source text, or None and why it cannot be read (outside the project, missing, ...)."""
        path = self.models_dir / lib.source
        away = self.outside(path)
        if away is not None:
            return None, f"source text {lib.source} {away.message}"
        text, problems = read_text_bounded(path)
        if text is None:
            reason = problems[0].message if problems else "unreadable"
            return None, f"source text {lib.source} (relative to models/) cannot be read: {reason}"
        return text, None

    def _check_priors(self, path: Path, parsed, lib: IndicatorLibrary, priors: list[tuple[tuple, Prior]]) -> list[Problem]:
        """Quotes found in the source text; intervals that can be elicited."""
        problems: list[Problem] = []
        text, why = self._source(lib)
        if text is None:
            return [Problem(str(path), why, parsed.line_of(("source",)) if path.name == LIBRARY_FILE else None, "source")]
        norm = normalize_text(text)
        sentences = [s.strip() for s in text.replace("\n", " ").split(". ") if s.strip()]
        for loc, prior in priors:
            if prior.source.reasoning.lstrip().startswith(PLACEHOLDER):
                problems.append(
                    Problem(
                        str(path),
                        "placeholder prior (from `forecast new`): replace the quote, the interval and the reasoning with your own",
                        parsed.line_of(loc + ("source", "reasoning")),
                        ".".join(str(x) for x in loc) + ".source.reasoning",
                        severity="warning",
                    )
                )
            if normalize_text(prior.source.quote) not in norm:
                hint = nearest(prior.source.quote, sentences)
                problems.append(
                    Problem(
                        str(path),
                        f"quote not found in the source text {lib.source}: {prior.source.quote[:80]!r}",
                        parsed.line_of(loc + ("source", "quote")),
                        ".".join(str(x) for x in loc) + ".source.quote",
                        hint[:120] if hint else None,
                    )
                )
            if prior.interval is not None:
                try:
                    prior.resolved_params()
                except ElicitationError as exc:
                    problems.append(Problem(str(path), str(exc), parsed.line_of(loc + ("interval",)), ".".join(str(x) for x in loc) + ".interval"))
        return problems

    def _spec(self, question_id: str, lib: IndicatorLibrary | None) -> tuple[QuestionSpec | None, list[Problem]]:
        path = self.models_dir / f"{question_id}.yaml"
        away = self.outside(path)
        if away is not None:
            return None, [away]
        parsed, problems = load_yaml(path)
        if parsed is None:
            return None, problems
        spec, more = _validate_model(QuestionSpec, parsed, path)
        problems += more
        if spec is None:
            return None, problems
        for name in ("question", "event", "resolution_criteria"):
            if getattr(spec, name).lstrip().startswith(PLACEHOLDER):
                problems.append(Problem(str(path), f"placeholder {name} (from `forecast new`): write it", parsed.line_of((name,)), name, severity="warning"))
        if spec.id != question_id:
            problems.append(Problem(str(path), f"id '{spec.id}' differs from the file name '{question_id}'", parsed.line_of(("id",)), "id"))
        for i, scenario in enumerate(spec.scenarios):  # a scenario can only hold the question's own indicators
            for ind_id in scenario.set:
                if ind_id not in spec.indicators:
                    problems.append(
                        Problem(str(path), f"scenario '{scenario.id}' sets '{ind_id}', which is not one of this question's indicators", parsed.line_of(("scenarios", i, "set", ind_id)), f"scenarios.{i}.set.{ind_id}", nearest(ind_id, list(spec.indicators)))
                    )
        if lib is not None:
            for ind_id in spec.indicators:
                if ind_id not in lib.ids:
                    problems.append(
                        Problem(str(path), f"unknown indicator '{ind_id}' (not in models/{LIBRARY_FILE})", parsed.line_of(("indicators", ind_id)), f"indicators.{ind_id}", nearest(ind_id, lib.ids))
                    )
            if spec.risk_window_start < lib.reference_date:
                problems.append(Problem(str(path), f"risk_window_start is before the library reference date {lib.reference_date}", parsed.line_of(("risk_window_start",)), "risk_window_start"))
            priors = [(("baseline", "probability"), spec.baseline.probability)] + [(("indicators", k, "size"), e.size) for k, e in spec.indicators.items()]
            problems += self._check_priors(path, parsed, lib, priors)
        return spec, problems

    def evidence_paths(self) -> tuple[list[Path], list[Problem]]:
        """The evidence files to read, and what ``forecast validate`` should say about the folder.

        Read: the ``.yaml``, ``.yml`` and ``.csv`` files directly in ``evidence/`` and in
        ``evidence/drafts/`` (where ``forecast intake`` writes). Reported: a missing ``evidence/``
        folder (a warning: every question rests on its priors alone), files with another extension
        and other sub-folders (warnings: they are not read), and files that lead outside the project
        or are not regular files (errors). Hidden files (``.name``) are skipped silently.
        """
        folder = self.evidence_dir
        if not folder.exists():
            return [], [Problem(str(folder), "no evidence/ folder: every question is fitted on its priors alone (create it, or run `forecast new`)", severity="warning")]
        if not folder.is_dir():
            return [], [Problem(str(folder), "evidence is a file, where the evidence/ folder is expected")]
        files, problems = self._scan(folder, read_folders=(DRAFTS_DIR,))
        drafts = folder / DRAFTS_DIR
        if drafts.is_dir() and self.outside(drafts) is None:
            more_files, more = self._scan(drafts, read_folders=())
            files += more_files
            problems += more
        return files, problems

    def _scan(self, folder: Path, read_folders: tuple[str, ...]) -> tuple[list[Path], list[Problem]]:
        """The evidence files directly in ``folder`` and the problems of everything else there."""
        away = self.outside(folder)
        if away is not None:
            return [], [away]
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            from forecast.core.errors import os_error_message

            return [], [Problem(str(folder), os_error_message(exc, folder, "read"))]
        files, problems = [], []
        where = folder.relative_to(self.root).as_posix() + "/" if folder.is_relative_to(self.root) else f"{folder}/"
        for entry in entries:
            if entry.name.startswith(".") or (folder == self.evidence_dir and entry.name == SOURCES_FILE):
                continue  # the source registry is read by _sources, not as evidence
            away = self.outside(entry)
            if away is not None:
                problems.append(away)
                continue
            if entry.is_symlink() and not entry.exists():
                problems.append(Problem(str(entry), "a symbolic link to nothing (its target does not exist)"))
            elif entry.is_dir():
                if entry.name not in read_folders:
                    problems.append(Problem(str(entry), f"a folder inside {where} is not read: evidence files go directly in evidence/", severity="warning"))
            elif not entry.is_file():
                problems.append(Problem(str(entry), "not a regular file (a pipe or a device): not read"))
            elif entry.suffix.lower() not in EVIDENCE_SUFFIXES:
                hint = " (save a spreadsheet as CSV)" if entry.suffix.lower() in (".xlsx", ".xls", ".ods", ".numbers") else ""
                problems.append(Problem(str(entry), f"not read: only .yaml, .yml and .csv files in {where} are evidence{hint}", severity="warning"))
            else:
                files.append(entry)
        return files, problems

    @property
    def sources_path(self) -> Path:
        """The project's source registry file, ``evidence/sources.yaml`` (it may not exist)."""
        return self.evidence_dir / SOURCES_FILE

    def _sources(self) -> tuple[SourceRegistry | None, list[Problem]]:
        """The source registry (``evidence/sources.yaml``), None when the project has none (or it is invalid)."""
        path = self.sources_path
        if not path.exists() and not path.is_symlink():
            return None, []
        away = self.outside(path)
        if away is not None:
            return None, [away]
        return read_sources(path)

    def _evidence(self, lib: IndicatorLibrary | None, question_ids: list[str], registry: SourceRegistry | None = None) -> tuple[list[LocatedItem], list[Problem]]:
        items: list[LocatedItem] = []
        raws: list[RawItem] = []
        files, problems = self.evidence_paths()
        for path in files:
            got, raw, more = read_evidence(path)
            items += got
            raws += raw
            problems += more
        # checks across files run on every item as read, valid or not, so that one problem of an
        # item (an impossible date) does not hide another (an unknown indicator)
        problems += _duplicate_ids(raws)
        if registry is not None:
            problems += check_item_sources(registry, raws)
        for raw in raws:
            data = raw.data if isinstance(raw.data, dict) else {}
            item_id = data.get("id")
            named = f" in item '{item_id}'" if isinstance(item_id, str) else ""
            indicator, question = data.get("indicator"), data.get("question")
            if lib is not None and isinstance(indicator, str) and indicator.strip() and indicator.strip() not in lib.ids:
                problems.append(Problem(raw.file, f"unknown indicator '{indicator}'{named}", raw.line_of("indicator"), "indicator", nearest(indicator.strip(), lib.ids)))
            if isinstance(question, str) and question.strip() and question.strip() not in question_ids:
                problems.append(Problem(raw.file, f"unknown question '{question}'{named}", raw.line_of("question"), "question", nearest(question.strip(), question_ids)))
        problems += draft_problems(items, self.root)
        today = dt.date.today()
        for li in items:
            it = li.item
            if it.published > today:
                problems.append(Problem(li.file, f"item '{it.id}' is published in the future ({it.published}); kept, but excluded from every fit until then", li.line, "published", severity="warning"))
            if lib is not None and it.event_date < lib.reference_date:
                problems.append(Problem(li.file, f"item '{it.id}' happened before the library reference date {lib.reference_date}; it will be excluded", li.line, "event_date", severity="warning"))
        return items, problems

    # -- public ---------------------------------------------------------------------------------
    def validate(self) -> list[Problem]:
        """Every problem in every file of models/ and evidence/ (errors and warnings)."""
        problems = ProblemList()
        lib, more = self._library()
        problems.extend(more)
        qids = self.question_ids()
        registry, more = self._sources()
        problems.extend(more)
        learned = []
        for qid in qids:
            spec, more = self._spec(qid, lib)
            problems.extend(more)
            problems.extend(self._learned_needs_registry(spec, registry))
            if spec is not None and spec.learned_sources:
                learned.append(spec)
        items, more = self._evidence(lib, qids, registry)
        problems.extend(more)
        if registry is not None and learned:
            # an item of a question that learns source weights: its unknown source is an error,
            # said once (not also as the warning every item gets, nor once per such question)
            errors: dict[tuple, Problem] = {}
            for spec in learned:
                for p in check_item_sources(registry, [li.raw() for li in _bearing_on(spec, items)], "error"):
                    errors.setdefault((p.file, p.line, p.field), p)
            kept = [p for p in problems.items if not (p.severity == "warning" and (p.file, p.line, p.field) in errors)]
            return by_place(kept + list(errors.values()))
        return by_place(problems.items)

    def _learned_needs_registry(self, spec: QuestionSpec | None, registry: SourceRegistry | None) -> list[Problem]:
        """A problem when a spec asks for learned source weights and the project has no (valid) registry."""
        if spec is None or spec.sources != "learned" or registry is not None:
            return []
        if self.sources_path.exists() or self.sources_path.is_symlink():
            return []  # the registry's own problems are reported
        path = self.models_dir / f"{spec.id}.yaml"
        parsed, _ = load_yaml(path)
        line = parsed.line_of(("sources",)) if parsed is not None else None
        return [Problem(str(path), f"`sources: learned` needs a source registry: create evidence/{SOURCES_FILE} (id, name, kind, reliability of each source)", line, "sources")]

    def _known_question(self, question_id: str) -> list[str]:
        qids = self.question_ids()
        if question_id not in qids:
            raise InputError([Problem(str(self.models_dir), f"no question '{question_id}' (have: {', '.join(qids) or 'none'})", None, "question", nearest(question_id, qids))])
        return qids

    def load_spec(self, question_id: str) -> tuple[QuestionSpec, IndicatorLibrary]:
        """The validated spec of one question and the indicator library, without its evidence.

        Parameters
        ----------
        question_id : str
            A question in ``models/``.

        Returns
        -------
        (QuestionSpec, IndicatorLibrary)

        Raises
        ------
        InputError
            An unknown question (with the nearest id), or any error in the spec or the library.
        """
        self._known_question(question_id)
        problems = ProblemList()
        lib, more = self._library()
        problems.extend(more)
        spec, more = self._spec(question_id, lib)
        problems.extend(more)
        problems.raise_if_any()
        assert lib is not None and spec is not None
        return spec, lib

    def load(self, question_id: str) -> "QuestionInputs":
        """Load and validate one question with the library and all evidence; raises InputError."""
        qids = self._known_question(question_id)
        problems = ProblemList()
        lib, more = self._library()
        problems.extend(more)
        spec, more = self._spec(question_id, lib)
        problems.extend(more)
        registry, more = self._sources()
        problems.extend(more)
        problems.extend(self._learned_needs_registry(spec, registry))
        items, more = self._evidence(lib, qids, registry)
        problems.extend(more)
        if spec is not None and spec.learned_sources and registry is not None:
            problems.extend(check_item_sources(registry, [li.raw() for li in _bearing_on(spec, items)], "error"))
        problems.raise_if_any()
        assert lib is not None and spec is not None
        return QuestionInputs(spec=spec, library=lib, evidence=items, project=self, warnings=[p for p in problems.items if p.severity == "warning"],
                              sources=registry)


def _bearing_on(spec: QuestionSpec, items: list[LocatedItem]) -> list[LocatedItem]:
    """The items a question's model uses: on one of its indicators (naming no other question), or resolving it."""
    return [li for li in items if (li.item.resolves and li.item.question == spec.id)
            or (not li.item.resolves and li.item.indicator in spec.indicators and li.item.question in (None, spec.id))]


def _duplicate_ids(raws: list[RawItem]) -> list[Problem]:
    """Duplicate evidence ids across every item read (valid or not), each after its first definition."""
    seen: dict[str, RawItem] = {}
    problems = []
    for raw in raws:
        item_id = raw.data.get("id") if isinstance(raw.data, dict) else None
        if not isinstance(item_id, str):
            continue
        item_id = item_id.strip()
        if item_id in seen:
            first = seen[item_id]
            problems.append(Problem(raw.file, f"duplicate evidence id '{item_id}' (first defined in {first.file}:{first.line})", raw.line, "id"))
        else:
            seen[item_id] = raw
    return problems


@dataclass
class QuestionInputs:
    """One question's validated inputs: spec + indicator library + evidence items.

    :class:`forecast.inference.question.Question` adds fitting to it; this layer reads files only.
    """

    spec: QuestionSpec
    library: IndicatorLibrary
    evidence: list[LocatedItem]
    project: Project | None = None
    warnings: list[Problem] = field(default_factory=list)
    sources: SourceRegistry | None = None  # evidence/sources.yaml, when the project has one

    def __post_init__(self):
        # an Evidence is a list of LocatedItem: code that takes a list keeps working, and a
        # notebook shows `question.evidence` as a table
        if not isinstance(self.evidence, Evidence):
            self.evidence = Evidence(self.evidence)
        drafts = draft_problems(self.evidence, self.project.root if self.project else None)
        if drafts:  # an unconfirmed draft has no grade: it never enters a fit
            raise InputError(drafts)

    @property
    def id(self) -> str:
        """The question's id (from its spec)."""
        return self.spec.id

    def check_as_of(self, as_of=None, today: dt.date | None = None, horizons: bool = True) -> dt.date:
        """The as-of date of a fit, checked before anything is sampled.

        Parameters
        ----------
        as_of : date or ``YYYY-MM-DD`` text, optional
            Default: today.
        today : date, optional
            Today's date (default: the local date); a parameter for tests.
        horizons : bool
            Also require a horizon after ``as_of`` (a fit needs one; the model data at a date,
            :meth:`forecast.inference.question.Question.design`, does not).

        Returns
        -------
        datetime.date

        Raises
        ------
        forecast.core.timegrid.DateFormatError
            ``as_of`` is not written ``YYYY-MM-DD`` or is after today (months that have not passed
            would count as months without the event).
        InputError
            Every horizon of the question lies on or before ``as_of``: nothing is left to forecast.
            The problem names the spec file, the line of ``horizons`` and the fix.
        """
        today = today or dt.date.today()
        as_of = to_date(as_of) if as_of is not None else today
        check_not_future(as_of, today)
        if horizons and not self.spec.future_horizons(as_of):
            last = self.spec.horizons[-1]
            path, line = f"models/{self.spec.id}.yaml", None
            if self.project is not None:
                path = str(self.project.models_dir / f"{self.spec.id}.yaml")
                parsed, _ = load_yaml(Path(path))
                line = parsed.line_of(("horizons",)) if parsed is not None else None
            try:
                suggestion = as_of.replace(year=as_of.year + 1)
            except ValueError:  # 29 February
                suggestion = as_of.replace(year=as_of.year + 1, day=28)
            raise InputError(
                [
                    Problem(
                        path,
                        f"every horizon is on or before the as-of date {as_of} (the last is {last}): nothing to forecast. "
                        f"Add a later horizon to `horizons` (e.g. {suggestion}) or fit as of a date before {last}",
                        line,
                        "horizons",
                    )
                ]
            )
        return as_of

    def with_evidence(self, *items) -> "QuestionInputs":
        """A copy of the question with more evidence: item dicts, ``EvidenceItem``s, an ``Evidence`` or a DataFrame.

        New items are validated like a file's (grade, dates, fields; the indicator must be one of this
        question's or the library's) and their ids must not clash with the items already there.
        The files on disk are not touched; ``Evidence.to_yaml`` writes items to a file.
        """
        import pandas as pd

        from forecast.inputs.evidence import EvidenceItem

        added: list[LocatedItem] = []
        for obj in items:
            if isinstance(obj, pd.DataFrame):
                added += list(Evidence.from_dataframe(obj))
            elif isinstance(obj, Evidence):
                added += list(obj)
            elif isinstance(obj, LocatedItem):
                added.append(obj)
            elif isinstance(obj, EvidenceItem):
                added.append(LocatedItem(item=obj, file="<python>", line=None))
            else:
                added += list(Evidence.from_dataframe(pd.DataFrame([dict(obj)]), name="<python>"))
        problems = []
        known = set(self.evidence.ids)
        for li in added:
            it = li.item
            if it.id in known:
                problems.append(Problem(li.file, f"duplicate evidence id '{it.id}'", li.line, "id"))
            known.add(it.id)
            if it.indicator is not None and it.indicator not in self.library.ids:
                problems.append(Problem(li.file, f"unknown indicator '{it.indicator}'", li.line, "indicator", nearest(it.indicator, list(self.library.ids))))
        if self.sources is not None and self.spec.learned_sources:
            problems += check_item_sources(self.sources, [li.raw() for li in _bearing_on(self.spec, added)], "error")
        problems += draft_problems(added, self.project.root if self.project else None)
        if problems:
            raise InputError(problems)
        return type(self)(spec=self.spec, library=self.library, evidence=Evidence([*self.evidence, *added]), project=self.project, warnings=self.warnings,
                          sources=self.sources)

    def __repr__(self) -> str:
        return f"<Question {self.spec.id}: {len(self.spec.indicators)} indicators, {len(self.evidence)} evidence items>"


def validate(root: str | Path | None = None) -> list[Problem]:
    """Validate every file of the project; returns all problems (errors and warnings)."""
    return Project.find(root).validate()
