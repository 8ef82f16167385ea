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

from .errors import InputError, Problem, ProblemList, nearest
from .evidence import LocatedItem, check_duplicates, evidence_files, read_evidence_file
from .priors import ElicitationError, Prior
from .spec import IndicatorLibrary, QuestionSpec, normalize_text
from .yamlio import load_yaml

LIBRARY_FILE = "indicators.yaml"


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
    from .evidence import _problems_from_validation

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
        if spec.id != question_id:
            problems.append(Problem(str(path), f"id '{spec.id}' differs from the file name '{question_id}'", parsed.line_of(("id",)), "id"))
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
        files = evidence_files(self.evidence_dir)
        for path in files:
            got, more = read_evidence_file(path)
            items += got
            problems += more
        problems += check_duplicates(items)
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

    def load(self, question_id: str) -> "Question":
        """Load and validate one question with the library and all evidence; raises InputError."""
        qids = self.question_ids()
        if question_id not in qids:
            raise InputError([Problem(str(self.models_dir), f"no question '{question_id}' (have: {', '.join(qids) or 'none'})", None, "question", nearest(question_id, qids))])
        problems = ProblemList()
        lib, more = self._library()
        problems.extend(more)
        spec, more = self._spec(question_id, lib)
        problems.extend(more)
        items, more = self._evidence(lib, qids)
        problems.extend(more)
        problems.raise_if_any()
        assert lib is not None and spec is not None
        return Question(spec=spec, library=lib, evidence=items, project=self, warnings=[p for p in problems.items if p.severity == "warning"])


@dataclass
class Question:
    """A question ready to fit: spec + indicator library + evidence items."""

    spec: QuestionSpec
    library: IndicatorLibrary
    evidence: list[LocatedItem]
    project: Project | None = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.spec.id

    def design(self, as_of=None):
        from .design import make_design
        from .timegrid import to_date

        as_of = to_date(as_of) if as_of is not None else dt.date.today()
        return make_design(self.spec, self.library, self.evidence, as_of)

    def fit(
        self,
        as_of=None,
        seed: int = 1,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
        cores: int | None = None,
        future_paths: int | None = None,
        progressbar: bool = False,
    ):
        """Fit the question as of a date (default today) and return a :class:`~forecast.result.FitResult`."""
        from .diagnostics import check_sampling
        from .fingerprint import fingerprints, package_versions
        from .fit import fit_design
        from .settings import SampleConfig
        from .result import FitResult, headline_horizon

        design = self.design(as_of)
        config = SampleConfig.from_settings(self.spec.sampler, draws=draws, tune=tune, chains=chains, cores=cores, future_paths=future_paths)
        idata, seconds = fit_design(design, self.spec.horizons, config, seed, progressbar=progressbar)
        future = [h for h in self.spec.horizons if h > design.as_of]
        headline = headline_horizon(self.spec, future, design.as_of)
        diag = check_sampling(idata, future.index(headline) if headline else None, self.spec.thresholds)
        fps, combined = fingerprints(self, design.as_of, config, seed)
        versions = package_versions()
        idata.attrs.update({"question": self.spec.id, "as_of": design.as_of.isoformat(), "seed": seed, "fingerprint": combined, **{f"fingerprint_{k}": v for k, v in fps.items()}})
        return FitResult(
            spec=self.spec,
            design=design,
            idata=idata,
            horizons=future,
            headline=headline,
            diagnostics=diag,
            seed=seed,
            n_paths=config.future_paths,
            fingerprints={**fps, "combined": combined},
            versions=versions,
            sampling_seconds=seconds,
        )

    def __repr__(self) -> str:
        return f"<Question {self.spec.id}: {len(self.spec.indicators)} indicators, {len(self.evidence)} evidence items>"


def load(question_id: str, root: str | Path | None = None) -> Question:
    """Load a question from ``models/`` with evidence from ``evidence/`` (project found from the cwd)."""
    return Project.find(root).load(question_id)


def validate(root: str | Path | None = None) -> list[Problem]:
    """Validate every file of the project; returns all problems (errors and warnings)."""
    return Project.find(root).validate()
