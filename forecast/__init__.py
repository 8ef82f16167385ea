"""forecast: Bayesian forecasting of "will <event> happen, and by when?" from question specs and graded evidence.

The common case::

    import forecast
    q = forecast.load("belarus-entry")
    result = q.fit(as_of="2024-09-30", seed=1)
    result.summary()
"""

from .errors import InputError, Problem
from .project import Project, Question, load, validate
from .result import FitResult

__all__ = ["InputError", "Problem", "Project", "Question", "FitResult", "load", "validate"]
__version__ = "0.1.0"
