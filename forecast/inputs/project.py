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

from forecast.core.errors import InputError, Problem, ProblemList, nearest
from forecast.inputs.evidence import LocatedItem, check_duplicates, evidence_files, read_evidence_file
from forecast.inputs.evidence_set import Evidence
from forecast.inputs.priors import ElicitationError, Prior
from forecast.inputs.spec import IndicatorLibrary, QuestionSpec, normalize_text
from forecast.inputs.yamlio import load_yaml

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
        return cls(Path(root).resolve() if root else find_root())

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def evidence_dir(self) -> Path:
        return self.root / "evidence"

    def question_ids(self) -> list[str]:
        return sorted(p.stem for p in self.models_dir.glob("*.yaml") if p.name != LIBRARY_FILE)

    # -- loading with problem collection -----------------------------------------------------------
    def _library(self) -> tuple[IndicatorLibrary | None, list[Problem]]:
        path = self.models_dir / LIBRARY_FILE
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
        path = (self.models_dir / lib.source).resolve()
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            return None

    def _check_priors(self, path: Path, parsed, lib: IndicatorLibrary, priors: list[tuple[tuple, Prior]]) -> list[Problem]:
        """Quotes found in the source text; intervals that can be elicited."""
        problems: list[Problem] = []
        text = self._source_text(lib)
        if text is None:
            return [Problem(str(path), f"source text {lib.source} not found next to models/", None, "source")]
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

    def _evidence(self, lib: IndicatorLibrary | None, question_ids: list[str]) -> tuple[list[LocatedItem], list[Problem]]:
        items: list[LocatedItem] = []
        problems: list[Problem] = []
        files = evidence_files(self.evidence_dir) + evidence_files(self.evidence_dir / DRAFTS_DIR)
        for path in files:
            got, more = read_evidence_file(path)
            items += got
            problems += more
        problems += check_duplicates(items)
        problems += draft_problems(items, self.root)
        today = dt.date.today()
        for li in items:
            it = li.item
            if lib is not None and it.indicator and it.indicator not in lib.ids:
                problems.append(Problem(li.file, f"unknown indicator '{it.indicator}' in item '{it.id}'", li.line, "indicator", nearest(it.indicator, lib.ids)))
            if it.question and it.question not in question_ids:
                problems.append(Problem(li.file, f"unknown question '{it.question}' in item '{it.id}'", li.line, "question", nearest(it.question, question_ids)))
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
        for qid in qids:
            problems.extend(self._spec(qid, lib)[1])
        problems.extend(self._evidence(lib, qids)[1])
        return problems.items

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
        items, more = self._evidence(lib, qids)
        problems.extend(more)
        problems.raise_if_any()
        assert lib is not None and spec is not None
        return QuestionInputs(spec=spec, library=lib, evidence=items, project=self, warnings=[p for p in problems.items if p.severity == "warning"])


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
        return self.spec.id

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
        problems += draft_problems(added, self.project.root if self.project else None)
        if problems:
            raise InputError(problems)
        return type(self)(spec=self.spec, library=self.library, evidence=Evidence([*self.evidence, *added]), project=self.project, warnings=self.warnings)

    def __repr__(self) -> str:
        return f"<Question {self.spec.id}: {len(self.spec.indicators)} indicators, {len(self.evidence)} evidence items>"


def validate(root: str | Path | None = None) -> list[Problem]:
    """Validate every file of the project; returns all problems (errors and warnings)."""
    return Project.find(root).validate()
