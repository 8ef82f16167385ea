"""Admiralty (NATO) grading of evidence and how a grade weights an item in the likelihood.

An item graded ``XN`` (source reliability X in A-F, information credibility N in 1-6) gets weight

    w = reliability[X] * credibility[N]

and enters the likelihood as a Normal observation of the indicator with standard deviation
``observation_sd / sqrt(w)`` for a **level** and ``change_sd / sqrt(w)`` for a **3-month change**
(``direction`` + ``strength``).

Why two SDs. A level report is compared with an indicator whose level is uncertain by about one
unit (level prior SD 0.7-1 plus years of random walk), so an A1 level SD of 0.5 already makes a
level report count for most of the posterior. A change report is compared with the random walk's
3-month change, whose prior SD is only ``sqrt(3) * volatility``: about 0.20-0.31 with the
library's volatility medians 0.11-0.18 per month. With the level SD (0.5 for A1, 0.67 for B2) a
reported change was almost ignored: measured, one B2 ``moderate`` report moved its 3-month change
by +0.06 of the +0.5 reported. ``change_sd`` (0.1 for A1) is calibrated to the random walk's
scale instead: it is about half the prior SD of a 3-month change, so with the volatility at its
prior median a Normal-Normal update believes 80% of an A1 report (prior variance / (prior variance
+ sd^2) = 0.04 / (0.04 + 0.01)), 69% of a B2, 50% of a C3 and 1% of an F6 one; the volatility
itself rises when a report asks for a larger move, which the README's table of refits shows. It
is also about the rounding of the strength scale (a ``moderate`` report, 0.5, stands for moves
between about 0.375 and 0.75: a uniform spread of SD 0.11), so an A1 report is taken as exact up to
the coarseness of its category. Because a Normal likelihood with variance ``s**2 / w`` is the Normal
likelihood with variance ``s**2`` raised to the power ``w`` (up to a constant), ``w`` is exactly the
power to which the item's likelihood is tempered: an A1 item counts fully, a C3 item a quarter, an
F6 item almost nothing. The default tables are monotone (better grade, larger weight) and a spec may
replace them; a replacement must stay monotone and inside (0, 1].

Default weights:

=========  ======  =====  ====  ====  =====  =====
            A / 1  B / 2  C / 3 D / 4 E / 5  F / 6
=========  ======  =====  ====  ====  =====  =====
weight      1.0    0.75   0.5   0.25  0.1    0.05
=========  ======  =====  ====  ====  =====  =====

A1 -> 1.0, B2 -> 0.56, C3 -> 0.25, D4 -> 0.06, F6 -> 0.0025.

F ("reliability cannot be judged") and 6 ("truth cannot be judged") rank lowest: an item we cannot
judge at all should barely move the forecast.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from forecast.inputs.fields import Number

GRADE_PATTERN = re.compile(r"^[A-F][1-6]$")

RELIABILITY_MEANING = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY_MEANING = {
    "1": "confirmed by other sources",
    "2": "probably true",
    "3": "possibly true",
    "4": "doubtful",
    "5": "improbable",
    "6": "truth cannot be judged",
}

_DEFAULT = [1.0, 0.75, 0.5, 0.25, 0.1, 0.05]


class Grading(BaseModel):
    """Spec-level setting: how Admiralty grades turn into likelihood weights."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    reliability: dict[str, Number] = Field(
        default_factory=lambda: dict(zip("ABCDEF", _DEFAULT)),
        description="Weight of each source-reliability letter A-F, in (0, 1], non-increasing.",
    )
    credibility: dict[str, Number] = Field(
        default_factory=lambda: dict(zip("123456", _DEFAULT)),
        description="Weight of each information-credibility digit 1-6, in (0, 1], non-increasing.",
    )
    observation_sd: Number = Field(
        0.5,
        gt=0,
        le=10,
        description="SD of an A1 observation of an indicator's level, on the indicator's standardized scale.",
    )
    change_sd: Number = Field(
        0.1,
        gt=0,
        le=10,
        description="SD of an A1 observation of an indicator's 3-month change (direction + strength), standardized scale.",
    )

    @model_validator(mode="after")
    def _monotone(self) -> "Grading":
        for name, table, keys in (
            ("reliability", self.reliability, "ABCDEF"),
            ("credibility", self.credibility, "123456"),
        ):
            if set(table) != set(keys):
                raise ValueError(f"{name} must give a weight for each of {', '.join(keys)}")
            values = [table[k] for k in keys]
            if any(not 0 < v <= 1 for v in values):
                raise ValueError(f"{name} weights must lie in (0, 1]")
            if any(a < b for a, b in zip(values, values[1:])):
                raise ValueError(f"{name} weights must not increase from {keys[0]} to {keys[-1]}")
        return self

    def weight(self, grade: str) -> float:
        """Likelihood weight (tempering power) of an Admiralty grade such as ``"B2"``."""
        if not GRADE_PATTERN.match(grade):
            raise ValueError(f"not an Admiralty grade: {grade!r} (expected A-F then 1-6, e.g. B2)")
        return self.reliability[grade[0]] * self.credibility[grade[1]]

    def sd(self, grade: str, change: bool = False) -> float:
        """Observation SD of an item with this grade: of a level, or (``change=True``) of a 3-month change."""
        return (self.change_sd if change else self.observation_sd) / self.weight(grade) ** 0.5
