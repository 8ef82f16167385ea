"""Admiralty (NATO) grading of evidence and how a grade weights an item in the likelihood.

An item graded ``XN`` (source reliability X in A-F, information credibility N in 1-6) gets weight

    w = reliability[X] * credibility[N]

and enters the likelihood as a Normal observation of the indicator with standard deviation
``observation_sd / sqrt(w)``. Because a Normal likelihood with variance ``s**2 / w`` is the Normal
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
        description="SD of an A1 observation of an indicator, on the indicator's standardized scale.",
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

    def sd(self, grade: str) -> float:
        """Observation SD of an item with this grade."""
        return self.observation_sd / self.weight(grade) ** 0.5
