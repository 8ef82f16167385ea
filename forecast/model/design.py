r"""From a question spec, the indicator library and the evidence in scope to the model's data.

A :class:`Design` is the *person-period* form of a question's history (one "person", the
question, observed month by month on the grid of :mod:`forecast.core.timegrid`, whose month 0
starts at the indicator library's reference date): for each month its exposure (the fraction at
risk and observed) and its event count, plus the evidence items as rows (indicator, month, value,
observation SD) and the priors. :mod:`forecast.model.hazard` turns it into the piecewise-exponential
model.

``make_design`` is a pure function of its inputs: the as-of date decides which evidence is in scope
(published on or before it) and how much survival is observed (exposure up to it). Nothing dated
after the as-of date reaches the model.

**The source's picture is data.** Every indicator scale defines 0 as the level the source text
describes. When the indicator library says when that picture holds (``picture:`` in
``models/indicators.yaml``: the date it describes, the date the source was published, its grade),
the design adds, for every indicator of the question, one level observation at 0 in the month the
picture describes, with id ``source-picture:<indicator>`` and SD ``picture.sd / sqrt(weight(grade))``
(graded like the source). These generated items are listed with the evidence used
(``Design.generated`` holds them as evidence items, for tables that show an item's grade and
quote). They obey the as-of rule like any item: a fit as of a date before ``picture.published``
does not see them (they are listed as excluded) and its scales are anchored only by the level
priors at the reference date and the items published by then.

**Sources.** With a source registry (``evidence/sources.yaml``, :mod:`forecast.inputs.sources`),
each item in scope is tied to its registered source: ``evidence_source`` (N,) indexes
``source_ids`` (S,), the sources with at least one item in scope in registry order, and
``source_letter_weight`` (S,) is the grading weight of each source's default reliability letter.
The generated picture items belong to no source (index -1): they define each scale's 0 and keep
their fixed weight in every mode. When the spec asks for learned weights (``sources: learned``),
``source_priors`` holds the prior of each source's latent weight :math:`w_s`, a LogNormal whose
median is the letter's weight (:func:`source_weight_prior`); the model then scales each item's
observation SD by :math:`\sqrt{\rho_s / w_s}` (:func:`forecast.model.hazard.observation_sd`). In the
fixed mode ``source_priors`` is empty and the model is exactly the fixed-weight model.

**A change item** observes :math:`x_{k,t} - x_{k,t-3}`. One whose 3-month window starts before the
library's reference date (the first month of the grid) cannot be measured on the grid, and is
excluded with that reason rather than entering as a constant likelihood.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import MISSING, dataclass, field, fields

import numpy as np

from forecast.core import timegrid
from forecast.inputs.evidence import CHANGE_WINDOW_MONTHS, EvidenceItem, LocatedItem
from forecast.inputs.grading import Grading
from forecast.inputs.priors import Prior, Provenance
from forecast.inputs.sources import SourceRegistry
from forecast.inputs.spec import IndicatorLibrary, QuestionSpec


@dataclass(frozen=True)
class ExcludedItem:
    """An evidence item of the question left out at this as-of date, and why."""

    id: str
    reason: str


@dataclass(frozen=True)
class Design:
    """Person-period data of one question at one as-of date, and its priors.

    Shapes: ``K`` indicators, ``T = n_months`` months (month 0 starts at ``grid_start``, the
    indicator library's reference date; month ``T - 1`` holds the as-of date), ``N`` evidence
    items in scope. Month coordinates (``risk_start``, ``u_as_of``) are continuous: month ``t`` plus
    the fraction of it elapsed. Values of evidence are on the indicators' standardized scale.
    """

    question_id: str
    as_of: dt.date
    grid_start: dt.date
    risk_start: float  # month coordinate of the risk window start
    u_as_of: float  # month coordinate of the as-of date
    n_months: int  # months 0..n_months-1; the last one holds the as-of date
    months_per_period: int
    baseline: Prior
    indicator_ids: tuple[str, ...]
    signs: np.ndarray  # (K,) +1 toward, -1 against
    level_priors: tuple[Prior, ...]
    volatility_priors: tuple[Prior, ...]
    effect_priors: tuple[Prior, ...]
    exposure: np.ndarray  # (n_months,) fraction of each month at risk and observed
    counts: np.ndarray  # (n_months,) 1 in the month the event happened, else 0
    evidence_ids: tuple[str, ...]
    evidence_indicator: np.ndarray  # (N,) index into indicator_ids
    evidence_month: np.ndarray  # (N,) grid month
    evidence_base_month: np.ndarray  # (N,) month the change is measured from; -1 for a level
    evidence_value: np.ndarray  # (N,) observation on the standardized scale
    evidence_sd: np.ndarray  # (N,) observation SD after grading
    evidence_weight: np.ndarray  # (N,) grade weight
    resolved_on: dt.date | None = None
    excluded: tuple[ExcludedItem, ...] = field(default_factory=tuple)
    generated: tuple[LocatedItem, ...] = field(default_factory=tuple)  # the source-picture items in scope
    source_ids: tuple[str, ...] = ()  # (S,) registered sources with items in scope (registry order)
    source_letter_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (S,) weight of each source's reliability letter
    source_priors: tuple[Prior, ...] = ()  # (S,) prior of each source's learned weight; empty in the fixed mode
    evidence_source: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (N,) index into source_ids; -1: no source

    @property
    def learned_sources(self) -> bool:
        """True when the model learns each source's weight (the spec's ``sources: learned``)."""
        return len(self.source_priors) > 0

    @property
    def item_source(self) -> np.ndarray:
        """(N,) index of each item's source into ``source_ids``, -1 for an item without one."""
        n = len(self.evidence_ids)
        src = np.asarray(self.evidence_source, dtype=np.int64)
        return src if len(src) == n else np.full(n, -1, dtype=np.int64)

    @property
    def evidence_noise_group(self) -> np.ndarray:
        """(N,) the noise group of each item: items observing the same functional (indicator, month,
        base month) in the same noise group are combined into one observation
        (:mod:`forecast.model.collapse`). All 0 with fixed weights; with learned source weights the
        item's source index + 1 (0: no source), so that every group has one source and its weight
        scales the group's SD exactly."""
        if self.learned_sources:
            return self.item_source + 1
        return np.zeros(len(self.evidence_ids), dtype=np.int64)

    @property
    def generated_ids(self) -> tuple[str, ...]:
        """Ids of the items the design generates itself (the source's picture of each indicator), not read from files."""
        return tuple(li.item.id for li in self.generated)

    @property
    def month_labels(self) -> list[str]:
        """ISO first days of months ``0 .. T - 1`` (the model's ``month`` coordinate)."""
        return timegrid.month_labels(self.grid_start, self.n_months)

    def u(self, date: dt.date) -> float:
        """Continuous month coordinate of ``date`` on this design's grid.

        Parameters
        ----------
        date : datetime.date

        Returns
        -------
        float
            Months since ``grid_start``: month index plus the fraction of that month elapsed.
        """
        return timegrid.month_coordinate(self.grid_start, date)

    def to_dict(self) -> dict:
        """The design as JSON-ready data (see :meth:`from_dict`).

        Returns
        -------
        dict
            One key per field: dates as ISO strings, arrays as lists, priors as their dicts,
            excluded items as ``[id, reason]`` pairs, generated items as their dicts.
        """
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, Prior):
                value = value.to_dict()
            elif f.name.endswith("_priors"):
                value = [p.to_dict() for p in value]
            elif f.name == "excluded":
                value = [[e.id, e.reason] for e in value]
            elif f.name == "generated":
                value = [li.model_dump(mode="json") for li in value]
            elif isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Design":
        """The design :meth:`to_dict` wrote, exactly (floats round-trip through JSON bit for bit).

        Parameters
        ----------
        data : dict
            The output of :meth:`to_dict` (possibly through ``json.dumps``/``json.loads``).

        Returns
        -------
        Design

        Raises
        ------
        KeyError, TypeError, pydantic.ValidationError
            ``data`` is not the output of :meth:`to_dict`.
        """
        ints = ("counts", "evidence_indicator", "evidence_month", "evidence_base_month", "evidence_source")
        kw = {}
        for f in fields(cls):
            if f.name not in data and (f.default is not MISSING or f.default_factory is not MISSING):
                continue  # a design stored before the field existed: its default
            value = data[f.name]
            if f.name in ("as_of", "grid_start") or (f.name == "resolved_on" and value is not None):
                value = dt.date.fromisoformat(value)
            elif f.name == "baseline":
                value = Prior.from_dict(value)
            elif f.name.endswith("_priors"):
                value = tuple(Prior.from_dict(p) for p in value)
            elif f.name == "excluded":
                value = tuple(ExcludedItem(i, r) for i, r in value)
            elif f.name == "generated":
                value = tuple(_generated_item(li) for li in value)
            elif f.name in ("indicator_ids", "evidence_ids", "source_ids"):
                value = tuple(value)
            elif f.name in ints:
                value = np.asarray(value, dtype=np.int64)
            elif f.name in ("signs", "exposure", "evidence_value", "evidence_sd", "evidence_weight", "source_letter_weight"):
                value = np.asarray(value, dtype=float)
            kw[f.name] = value
        return cls(**kw)


def _generated_item(data: dict) -> LocatedItem:
    """A generated item from its dict: validated as any item, then given back its id (whose colon no
    evidence file may use, see :func:`picture_items`)."""
    item = EvidenceItem.model_validate({**data["item"], "id": "generated"}).model_copy(update={"id": data["item"]["id"]})
    return LocatedItem(item=item, file=data["file"], line=data.get("line"))


def items_for_question(spec: QuestionSpec, items: list[LocatedItem]) -> list[LocatedItem]:
    """The evidence items that bear on a question.

    Parameters
    ----------
    spec : QuestionSpec
    items : list of LocatedItem
        Every item of the project.

    Returns
    -------
    list of LocatedItem
        Items on one of the question's indicators that name no other question, and items that
        resolve this question, in the given order.
    """
    wanted = set(spec.indicators)
    out = []
    for li in items:
        it = li.item
        if it.resolves:
            if it.question == spec.id:
                out.append(li)
        elif it.indicator in wanted and (it.question is None or it.question == spec.id):
            out.append(li)
    return out


PICTURE_PREFIX = "source-picture:"
PICTURE_LEVEL = 0.0  # every scale's 0 is the source's picture (models/indicators.yaml)


def picture_items(spec: QuestionSpec, library: IndicatorLibrary) -> list[LocatedItem]:
    """The source's picture as evidence items: each of the question's indicators at 0 on ``picture.describes``.

    Empty when the library states no picture. The ids (``source-picture:<indicator>``) hold a colon,
    which no evidence file may use, so they never clash with an analyst's item.
    """
    pic = library.picture
    if pic is None:
        return []
    out = []
    for ind_id in spec.indicators:
        ind = library.get(ind_id)
        item = EvidenceItem.model_construct(
            id=f"{PICTURE_PREFIX}{ind_id}",
            event_date=pic.describes,
            published=pic.published,
            indicator=ind_id,
            question=None,
            value=PICTURE_LEVEL,
            direction=None,
            strength=None,
            resolves=False,
            source=library.source_title,
            grade=pic.grade,
            quote=f"The scale's defined level: {ind.scale}",
            url=None,
            assumption=pic.published_assumed,
            notes=(
                f"Generated from the indicator library: the source's picture ({library.source}) observed at level "
                f"{PICTURE_LEVEL:g} on {pic.describes}" + (" (publication date assumed)" if pic.published_assumed else "")
            ),
        )
        out.append(LocatedItem(item=item, file=library.source))
    return out


# SD of log w_s under its prior: the 90% prior interval of a source's weight runs from 0.44 to 2.3
# times its letter's weight. Wide enough that a few reports at odds with the rest of the evidence
# can halve a source's weight; narrow enough that one report, whose disagreement says little about
# its source, leaves the weight (and the forecast) near the fixed-weight model.
SOURCE_WEIGHT_SIGMA = 0.5


def source_weight_prior(letter: str, grading: Grading, sigma: float = SOURCE_WEIGHT_SIGMA) -> Prior:
    r"""The prior of a source's learned weight :math:`w_s`, set by its reliability letter.

    Parameters
    ----------
    letter : str
        The source's default Admiralty reliability letter (A-F).
    grading : Grading
        The question's grading tables: :math:`\rho = ` ``grading.reliability[letter]``.
    sigma : float
        SD of :math:`\log w_s` (:data:`SOURCE_WEIGHT_SIGMA`).

    Returns
    -------
    Prior
        ``LogNormal(mu=log(rho), sigma)``: median :math:`\rho`, the weight the letter gives in the
        fixed mode (PreliZ and PyMC build it from the project's prior table,
        :data:`forecast.inputs.priors.FAMILIES`).
    """
    import math

    rho = float(grading.reliability[letter])
    return Prior(
        dist="lognormal",
        params={"mu": math.log(rho), "sigma": float(sigma)},
        source=Provenance(
            quote=f"reliability {letter}",
            reasoning=f"A source graded {letter} weighs {rho:g} in the fixed mode; its learned weight is centred (median) there.",
            assumption=True,
        ),
    )


def make_design(
    spec: QuestionSpec,
    library: IndicatorLibrary,
    items: list[LocatedItem],
    as_of: dt.date,
    grading: Grading | None = None,
    sources: SourceRegistry | None = None,
) -> Design:
    """The person-period data of ``spec`` as of ``as_of``.

    Parameters
    ----------
    spec : QuestionSpec
    library : IndicatorLibrary
        Its reference date starts the month grid; its indicators give the level and volatility priors.
    items : list of LocatedItem
        Evidence of the project; those bearing on the question and published by ``as_of`` enter.
    as_of : datetime.date
    grading : Grading, optional
        Default ``spec.grading``: the observation SD of each grade.
    sources : SourceRegistry, optional
        The project's source registry: ties each item to its source (see the module docstring).
        Required when ``spec.sources`` is ``learned``.

    Returns
    -------
    Design

    Raises
    ------
    ValueError
        The risk window starts before the library's reference date, ``as_of`` is before the
        risk window start, or the spec learns source weights and ``sources`` is None or lacks an
        item's source.
    """
    grading = grading or spec.grading
    if spec.learned_sources and sources is None:
        raise ValueError(f"{spec.id} has `sources: learned`, which needs the source registry (evidence/sources.yaml)")
    start = library.reference_date
    if spec.risk_window_start < start:
        raise ValueError(
            f"risk window start {spec.risk_window_start} is before the indicator library's reference date {start}"
        )
    if as_of < spec.risk_window_start:
        raise ValueError(f"as-of {as_of} is before the risk window start {spec.risk_window_start}")
    u_start = timegrid.month_coordinate(start, spec.risk_window_start)
    u_as_of = timegrid.month_coordinate(start, as_of)
    n_months = int(np.floor(u_as_of)) + 1

    ids = tuple(spec.indicators)
    index = {k: i for i, k in enumerate(ids)}
    excluded: list[ExcludedItem] = []
    ev: list[tuple] = []
    resolved_on: dt.date | None = None
    picture = picture_items(spec, library)
    generated: list[LocatedItem] = []
    picture_ids = {li.item.id for li in picture}
    months: dict[dt.date, int] = {}  # grid month of each event date (many items share a date)
    sds: dict[tuple[str, bool], tuple[float, float]] = {}  # (SD, weight) of each grade and kind
    for li in sorted(items_for_question(spec, items) + picture, key=lambda x: (x.item.event_date, x.item.id)):
        it = li.item
        if it.published > as_of:
            assumed = " (assumed publication date of the source)" if it.id in picture_ids and it.assumption else ""
            excluded.append(ExcludedItem(it.id, f"published {it.published}{assumed}, after as-of {as_of}"))
            continue
        if it.resolves:
            if it.event_date < spec.risk_window_start:
                excluded.append(ExcludedItem(it.id, "resolution dated before the risk window start"))
                continue
            resolved_on = it.event_date if resolved_on is None else min(resolved_on, it.event_date)
            continue
        if it.event_date < start:
            excluded.append(ExcludedItem(it.id, f"happened before the library reference date {start}"))
            continue
        month = months.get(it.event_date)
        if month is None:
            month = months[it.event_date] = timegrid.month_index(start, it.event_date)
        if it.is_change and month - CHANGE_WINDOW_MONTHS < 0:
            first = timegrid.month_start(start, month - CHANGE_WINDOW_MONTHS)
            excluded.append(
                ExcludedItem(
                    it.id,
                    f"a {CHANGE_WINDOW_MONTHS}-month change whose window starts {first}, before the library reference date {start}: "
                    "the grid has no level to measure it from",
                )
            )
            continue
        graded = sds.get((it.grade, it.is_change))
        if graded is None:
            graded = sds[(it.grade, it.is_change)] = (grading.sd(it.grade, change=it.is_change), grading.weight(it.grade))
        sd, weight = graded
        if it.id in picture_ids:
            sd = library.picture.sd / weight**0.5
            generated.append(li)
        src = None
        if sources is not None and it.id not in picture_ids:
            registered = sources.resolve(it.source)
            if registered is None and spec.learned_sources:
                raise ValueError(f"item '{it.id}' names the source {it.source!r}, which is not in the source registry")
            src = registered.id if registered is not None else None
        ev.append(
            (
                it.id,
                index[it.indicator],
                month,
                month - CHANGE_WINDOW_MONTHS if it.is_change else -1,
                it.observed_value,
                sd,
                weight,
                src,
            )
        )

    u_end = u_as_of if resolved_on is None else timegrid.month_coordinate(start, resolved_on)
    exposure = timegrid.exposure(n_months, u_start, u_end)
    counts = np.zeros(n_months, dtype=np.int64)
    if resolved_on is not None:
        counts[timegrid.month_index(start, resolved_on)] = 1

    lib = {i.id: i for i in library.indicators}
    cols = list(zip(*ev)) if ev else [()] * 8
    used = set(cols[7]) - {None}
    source_ids = tuple(s.id for s in sources.sources if s.id in used) if sources is not None else ()
    letters = [sources.get(s).reliability for s in source_ids]
    source_index = {s: i for i, s in enumerate(source_ids)}
    return Design(
        question_id=spec.id,
        as_of=as_of,
        grid_start=start,
        risk_start=u_start,
        u_as_of=u_as_of,
        n_months=n_months,
        months_per_period=spec.baseline.months_per_period,
        baseline=spec.baseline.probability,
        indicator_ids=ids,
        signs=np.array([spec.indicators[k].sign for k in ids], dtype=float),
        level_priors=tuple(lib[k].level for k in ids),
        volatility_priors=tuple(lib[k].volatility for k in ids),
        effect_priors=tuple(spec.indicators[k].size for k in ids),
        exposure=exposure,
        counts=counts,
        evidence_ids=tuple(cols[0]),
        evidence_indicator=np.asarray(cols[1], dtype=np.int64),
        evidence_month=np.asarray(cols[2], dtype=np.int64),
        evidence_base_month=np.asarray(cols[3], dtype=np.int64),
        evidence_value=np.asarray(cols[4], dtype=float),
        evidence_sd=np.asarray(cols[5], dtype=float),
        evidence_weight=np.asarray(cols[6], dtype=float),
        resolved_on=resolved_on,
        excluded=tuple(excluded),
        generated=tuple(generated),
        source_ids=source_ids,
        source_letter_weight=np.asarray([grading.reliability[letter] for letter in letters], dtype=float),
        source_priors=tuple(source_weight_prior(letter, grading) for letter in letters) if spec.learned_sources else (),
        evidence_source=np.asarray([source_index.get(s, -1) for s in cols[7]], dtype=np.int64),
    )
