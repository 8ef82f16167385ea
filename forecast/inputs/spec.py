"""File formats of questions and indicators (pydantic v2; ``forecast schema`` prints their JSON Schema).

* ``models/indicators.yaml`` - the **indicator library**: latent quantities read from the source
  text, shared by every question that uses them (one latent path per indicator, informed by every
  evidence item about it). Each has a prior on its level at the library's reference date and on its
  monthly volatility.
* ``models/<question-id>.yaml`` - a **question spec**: the event, resolution criteria, the risk
  window, forecast horizons, the baseline hazard and, for each indicator it uses, the *signed*
  effect of the indicator on the monthly hazard.

Indicator scale (all indicators): standardized. 0 is the indicator's ordinary level in the source
text's telling; +1 is a shift an analyst would call clear and substantial; +2 is extreme (for unrest
risk: the August-September 2020 protests).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from forecast.core import limits
from forecast.core.timegrid import month_coordinate
from forecast.inputs.fields import Date, Integer, Number
from forecast.inputs.grading import GRADE_PATTERN, Grading
from forecast.inputs.priors import Prior

SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"


CUE_WORD = re.compile(r"^(?:\.\.\.|[\w][\w'.-]*\*?)$")


def _cue_syntax(cue: str) -> str:
    words = cue.split()
    bad = [w for w in words if not CUE_WORD.match(w)]
    if not words or bad or words[0] == "..." or words[-1] == "..." or len(cue) > 80:
        raise ValueError(
            f"cue {cue!r} is not a word or phrase: use letters, digits, ' - and . (at most 80 characters), "
            "`*` only at the end of a word, `...` only between two words"
        )
    return cue


Cue = Annotated[str, AfterValidator(_cue_syntax)]


class Cues(BaseModel):
    """Words that tie a sentence of a report to an indicator (read by ``forecast intake``).

    Each cue is a word or phrase, matched without regard to case on whole words: ``debt`` matches
    "debt" and "Debt" but not "indebted". A ``*`` at the end of a word matches any ending
    (``protest*``: protest, protests, protesters); a hyphen matches a hyphen or a space
    (``write-off``: "write-off", "write off"); ``...`` inside a phrase stands for up to three other
    words (``no ... protest*``: "no mass street protests").

    A sentence bears on the indicator when at least one of ``terms`` matches and none of ``veto``
    does; ``up`` and ``down`` then suggest the direction of the change it reports.
    """

    model_config = ConfigDict(extra="forbid")

    terms: list[Cue] = Field(..., min_length=1, description="Words that suggest the indicator (at least one must match).")
    up: list[Cue] = Field(default_factory=list, description="Words that suggest the indicator went up.")
    down: list[Cue] = Field(default_factory=list, description="Words that suggest the indicator went down.")
    veto: list[Cue] = Field(default_factory=list, description="Words that rule the indicator out for a sentence (another sense of a term).")

    @model_validator(mode="after")
    def _one_direction(self) -> "Cues":
        both = sorted({c.lower() for c in self.up} & {c.lower() for c in self.down})
        if both:
            raise ValueError(f"cue(s) in both `up` and `down`: {', '.join(both)}")
        return self


class IndicatorDef(BaseModel):
    """A latent indicator: a monthly Gaussian random walk on a standardized scale."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=SLUG)
    name: str = Field(..., min_length=1)
    description: str = Field(..., min_length=1, description="What the indicator measures.")
    scale: str = Field(..., min_length=1, description="What 0, +1 and +2 mean for this indicator.")
    level: Prior = Field(..., description="Level at the library's reference date (standardized scale).")
    volatility: Prior = Field(..., description="SD of the month-to-month change of the level.")
    cues: Cues | None = Field(None, description="Words that tie a report's sentence to this indicator (`forecast intake`).")

    @field_validator("level")
    @classmethod
    def _level_is_normal(cls, prior: Prior) -> Prior:
        if prior.dist != "normal":
            raise ValueError("an indicator level prior must be `normal` (the scale is unbounded)")
        return prior

    @field_validator("volatility")
    @classmethod
    def _volatility_positive(cls, prior: Prior) -> Prior:
        if prior.dist in ("normal", "beta"):
            raise ValueError("a volatility prior needs a positive family: halfnormal, lognormal, gamma or exponential")
        return prior


class SourcePicture(BaseModel):
    """When the source text's picture holds: every indicator is observed at 0 (its defined level) then.

    Every indicator scale defines 0 as "the source's picture"; this block says *when* that picture
    holds, so that the model can observe it (:func:`forecast.model.design.make_design` adds one
    level observation ``source-picture:<indicator>`` per indicator of a question, at ``describes``,
    in scope from ``published`` on). Its SD is ``sd / sqrt(weight(grade))``, graded like the source.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    describes: Date = Field(..., description="Date whose state of affairs the source describes (its 'currently'; YYYY-MM-DD).")
    published: Date = Field(..., description="When the source became public: fits as of an earlier date do not see the picture (YYYY-MM-DD).")
    published_assumed: bool = Field(False, description="True when the publication date is an assumption (an undated source).")
    grade: str = Field(..., description="Admiralty grade of the source, as for an evidence item (e.g. B2).")
    sd: Number = Field(
        0.25, gt=0, le=2, description="SD of the picture's level observation for an A1 source (standardized scale), divided by sqrt(weight(grade))."
    )
    note: str | None = Field(None, description="Why these dates, this grade and this SD.")

    @field_validator("grade")
    @classmethod
    def _admiralty(cls, grade: str) -> str:
        if not GRADE_PATTERN.match(grade):
            raise ValueError(f"grade {grade!r} is not an Admiralty grade: reliability A-F then credibility 1-6 (e.g. B2)")
        return grade

    @model_validator(mode="after")
    def _dates(self) -> "SourcePicture":
        if self.published < self.describes:
            raise ValueError(f"published {self.published} is before the date it describes {self.describes}")
        return self


class IndicatorLibrary(BaseModel):
    """``models/indicators.yaml``: every indicator any question may use."""

    model_config = ConfigDict(extra="forbid")

    reference_date: Date = Field(
        ..., description="Date at which the level priors hold; every latent path starts here."
    )
    source: str = Field(
        ..., min_length=1, description="Path of the source text the quotes come from, relative to models/ (inside the project)."
    )
    source_title: str = Field(..., min_length=1)
    picture: SourcePicture | None = Field(
        None, description="When the source's picture (0 on every scale) holds and how surely; absent: scales are anchored by the level priors only."
    )
    indicators: list[IndicatorDef] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _picture_after_reference(self) -> "IndicatorLibrary":
        if self.picture is not None and self.picture.describes < self.reference_date:
            raise ValueError(f"picture.describes {self.picture.describes} is before the reference date {self.reference_date}")
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> "IndicatorLibrary":
        ids = [i.id for i in self.indicators]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate indicator id(s): {', '.join(dupes)}")
        return self

    def get(self, indicator_id: str) -> IndicatorDef:
        """The indicator ``indicator_id``.

        Raises
        ------
        KeyError
            When the library has no such indicator.
        """
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)

    @property
    def ids(self) -> list[str]:
        """The indicator ids, in library order."""
        return [i.id for i in self.indicators]


class Effect(BaseModel):
    """Signed effect of an indicator on the log of the monthly hazard.

    ``size`` is the prior on |log hazard ratio| for a +1 move of the indicator: a size of 0.69
    doubles (``toward``) or halves (``against``) the monthly hazard of the event.
    """

    model_config = ConfigDict(extra="forbid")

    direction: Literal["toward", "against"] = Field(
        ..., description="`toward`: a higher indicator raises the hazard; `against`: it lowers it."
    )
    size: Prior = Field(..., description="Prior on |log hazard ratio| per +1 of the indicator.")

    @field_validator("size")
    @classmethod
    def _size_positive(cls, prior: Prior) -> Prior:
        if prior.dist in ("normal", "beta"):
            raise ValueError("an effect size is positive: use halfnormal, lognormal, gamma or exponential")
        return prior

    @property
    def sign(self) -> int:
        """+1 when a higher indicator pushes toward the event, -1 when away from it."""
        return 1 if self.direction == "toward" else -1


class Baseline(BaseModel):
    """Baseline hazard: probability of the event per ``per`` period when every indicator is at 0."""

    model_config = ConfigDict(extra="forbid")

    per: Literal["year", "month"] = "year"
    probability: Prior

    @field_validator("probability")
    @classmethod
    def _beta(cls, prior: Prior) -> Prior:
        if prior.dist != "beta":
            raise ValueError("the baseline probability prior must be `beta`")
        return prior

    @property
    def months_per_period(self) -> int:
        """Months in the period the baseline rate is quoted per (12 per year, 1 per month)."""
        return 12 if self.per == "year" else 1


class SamplerSettings(BaseModel):
    """NUTS settings.

    The defaults (4 chains x 1500 draws after 1000 tuning steps, target acceptance 0.95) give a
    headline MCSE near 0.0015 (the threshold is 0.005), no divergences on the shipped models, and
    r_hat below 1.01 for all ~400 random-walk innovations, in 15-25 s on 2 cores. The bounds are
    those of :mod:`forecast.core.limits`.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    draws: Integer = Field(1500, ge=limits.DRAWS[0], le=limits.DRAWS[1])
    tune: Integer = Field(1000, ge=limits.TUNE[0], le=limits.TUNE[1])
    chains: Integer = Field(4, ge=limits.CHAINS[0], le=limits.CHAINS[1])
    target_accept: Number = Field(0.95, gt=0.5, lt=1)
    future_paths: Integer = Field(
        200,
        ge=limits.FUTURE_PATHS[0],
        le=limits.FUTURE_PATHS[1],
        description="Simulated future indicator paths per posterior draw (averaged per draw).",
    )

    @model_validator(mode="after")
    def _total_draws(self) -> "SamplerSettings":
        if self.chains * self.draws > limits.MAX_TOTAL_DRAWS:
            raise ValueError(
                f"chains x draws = {self.chains} x {self.draws} = {self.chains * self.draws} is above "
                f"{limits.MAX_TOTAL_DRAWS} (the memory of the latent paths); lower draws or chains"
            )
        return self


class Thresholds(BaseModel):
    """Sampling diagnostics a fit must meet to be called clean."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    r_hat: Number = Field(1.01, gt=1, le=2)
    ess: Number = Field(400, gt=0, le=1_000_000, description="Minimum bulk and tail ESS of every parameter.")
    divergences: Integer = Field(0, ge=0, le=1_000_000)
    headline_mcse: Number = Field(0.005, gt=0, le=0.5)
    ebfmi: Number = Field(0.3, gt=0, le=10, description="Minimum E-BFMI of every chain.")
    max_treedepth_share: Number = Field(
        0.01, ge=0, le=1, description="Largest share of draws whose NUTS trajectory may hit the maximum tree depth."
    )


class Scenario(BaseModel):
    """A what-if: indicators held at set levels from the as-of date on (see :mod:`forecast.analysis.scenarios`).

    Each indicator in ``set`` is fixed at its level on the standardized scale from the as-of month
    on and stops moving; every other indicator keeps its posterior level and keeps moving as a
    random walk. ``forecast validate`` checks that each indicator is one of the question's.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=SLUG)
    name: str = Field(..., min_length=1, description="Short label for tables and legends.")
    description: str = Field(..., min_length=1, description="One sentence: what happens in this scenario.")
    set: dict[str, Number] = Field(
        ..., min_length=1, description="Indicator id -> level held from the as-of date on (standardized scale, -5..5)."
    )
    assumption: bool = Field(False, description="True when the scenario goes beyond what the source text states.")

    @field_validator("set")
    @classmethod
    def _finite_levels(cls, levels: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in levels.items() if not -5.0 <= v <= 5.0]  # also refuses NaN
        if bad:
            raise ValueError(f"levels must lie in [-5, 5] on the standardized scale: {', '.join(bad)}")
        return levels


class QuestionSpec(BaseModel):
    """``models/<id>.yaml``: one forecasting question."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=SLUG)
    question: str = Field(..., min_length=1, description="The question in words.")
    event: str = Field(..., min_length=1, description="Short event phrase used in the headline 'P(<event> by <date>)'.")
    resolution_criteria: str = Field(..., min_length=1, description="What counts as the event happening.")
    risk_window_start: Date = Field(..., description="First day on which the event could happen.")
    time_step: Literal["month"] = "month"
    horizons: list[Date] = Field(
        ...,
        min_length=1,
        max_length=limits.MAX_HORIZONS,
        description=f"Dates to report P(event by date) for (at most {limits.HORIZON_YEARS} years after the risk window start).",
    )
    headline_lead_months: Integer = Field(
        12,
        ge=limits.LEAD_MONTHS[0],
        le=limits.LEAD_MONTHS[1],
        description="Headline = first horizon at least this many months after as-of (else the last).",
    )
    baseline: Baseline
    indicators: dict[str, Effect] = Field(default_factory=dict, description="Indicator id -> its effect.")
    grading: Grading = Field(default_factory=Grading)
    sources: Literal["fixed", "learned"] | None = Field(
        None,
        description=(
            "How much each source's items count. Absent or `fixed`: each item by its Admiralty grade (the default). "
            "`learned`: each registered source (evidence/sources.yaml) has a latent weight, its prior centred on the source's "
            "reliability letter; items of a source share it, so a source whose reports disagree with the rest of the evidence "
            "loses weight (forecast.model.hazard)."
        ),
    )
    sampler: SamplerSettings = Field(default_factory=SamplerSettings, validate_default=True)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    scenarios: list[Scenario] = Field(default_factory=list, description="What-if scenarios (forecast.analysis.scenarios).")

    @field_validator("scenarios")
    @classmethod
    def _unique_scenarios(cls, scenarios: list[Scenario]) -> list[Scenario]:
        ids = [s.id for s in scenarios]
        dupes = sorted({i for i in ids if ids.count(i) > 1} | ({"baseline"} & set(ids)))
        if dupes:
            raise ValueError(f"scenario ids must be distinct and not 'baseline' (the forecast as fitted): {', '.join(dupes)}")
        return scenarios

    @field_validator("horizons")
    @classmethod
    def _sorted_unique(cls, horizons: list[dt.date], info: ValidationInfo) -> list[dt.date]:
        if len(set(horizons)) != len(horizons):
            raise ValueError("horizons must be distinct")
        horizons = sorted(horizons)
        start = info.data.get("risk_window_start")  # absent when it failed validation itself
        if start is None:
            return horizons
        early = [h.isoformat() for h in horizons if h <= start]
        if early:
            raise ValueError(f"horizons on or before the risk window start: {', '.join(early)}")
        latest = _years_after(start, limits.HORIZON_YEARS)
        late = [h.isoformat() for h in horizons if h > latest]
        if late:
            raise ValueError(
                f"horizons more than {limits.HORIZON_YEARS} years after the risk window start {start} "
                f"(the latest allowed is {latest}): {', '.join(late)}"
            )
        return horizons

    @field_validator("sampler")
    @classmethod
    def _paths_fit_in_memory(cls, sampler: SamplerSettings, info: ValidationInfo) -> SamplerSettings:
        start, horizons = info.data.get("risk_window_start"), info.data.get("horizons")
        if start is None or not horizons:
            return sampler
        months = math.ceil(month_coordinate(start, horizons[-1]))
        if sampler.future_paths * months > limits.MAX_PATH_MONTHS:
            raise ValueError(
                f"future_paths x months to the last horizon = {sampler.future_paths} x {months} is above "
                f"{limits.MAX_PATH_MONTHS} (the memory of the simulated future paths); lower future_paths or bring "
                "the last horizon closer"
            )
        return sampler

    @property
    def learned_sources(self) -> bool:
        """True when the question learns each source's weight (``sources: learned``)."""
        return self.sources == "learned"

    def future_horizons(self, as_of: dt.date) -> list[dt.date]:
        """The horizons after ``as_of`` (those a fit as of that date reports)."""
        return [h for h in self.horizons if h > as_of]

    def to_dict(self) -> dict:
        """The spec as a JSON-ready dict (None fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_dict(cls, data: dict) -> "QuestionSpec":
        """A spec from its dict form (validated)."""
        return cls.model_validate(data)


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def iter_priors(spec: QuestionSpec, library: IndicatorLibrary):
    """Yield (field path, Prior) for every prior a question rests on (its own and its indicators')."""
    yield ("baseline", "probability"), spec.baseline.probability
    for ind_id, effect in spec.indicators.items():
        yield ("indicators", ind_id, "size"), effect.size
        if ind_id in library.ids:
            ind = library.get(ind_id)
            yield ("library", ind_id, "level"), ind.level
            yield ("library", ind_id, "volatility"), ind.volatility


def normalize_text(text: str) -> str:
    """Whitespace-, case- and quote-insensitive form used to find a quote in the source."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2013", "-").replace("\u2014", "-")
    return re.sub(r"\s+", " ", text).strip().lower()
