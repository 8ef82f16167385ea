"""Estimative language of Intelligence Community Directive 203 (2015), Analytic Standards.

ICD 203 pairs each probability band with a term; we use the first term of each pair. Bands are
closed on the left: 0.05 is "very unlikely", 0.20 is "unlikely".
"""

from __future__ import annotations

# (upper bound of the band, term, alternative term from the directive)
BANDS: tuple[tuple[float, str, str], ...] = (
    (0.05, "almost no chance", "remote"),
    (0.20, "very unlikely", "highly improbable"),
    (0.45, "unlikely", "improbable"),
    (0.55, "roughly even chance", "roughly even odds"),
    (0.80, "likely", "probable"),
    (0.95, "very likely", "highly probable"),
    (1.0000001, "almost certain", "nearly certain"),
)

BOUNDARIES: tuple[float, ...] = tuple(b[0] for b in BANDS[:-1])


def term(p: float) -> str:
    """ICD 203 term for probability ``p``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability outside [0, 1]: {p}")
    for upper, name, _ in BANDS:
        if p < upper:
            return name
    return BANDS[-1][1]


def band(p: float) -> int:
    """Index of the ICD 203 band holding ``p`` (0 = almost no chance ... 6 = almost certain)."""
    return [b[1] for b in BANDS].index(term(p))
