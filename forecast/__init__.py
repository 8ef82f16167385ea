"""forecast: Bayesian forecasting of "will <event> happen, and by when?" from question specs and graded evidence.

The common case::

    import forecast
    q = forecast.load("belarus-entry")
    result = q.fit(as_of="2024-09-30", seed=1)
    result.summary()
"""

from .errors import InputError, Problem
from .project import Project, Question, load, validate

__all__ = ["InputError", "Problem", "Project", "Question", "FitResult", "load", "validate"]
__version__ = "0.1.0"


def __getattr__(name):  # heavy modules (PyMC, ArviZ, pandas) load only when used
    if name == "FitResult":
        from .result import FitResult

        return FitResult
    raise AttributeError(f"module 'forecast' has no attribute {name!r}")
