"""forecast: Bayesian forecasting of "will <event> happen, and by when?" from question specs and graded evidence.

The common case::

    import forecast
    q = forecast.load("belarus-entry")
    result = q.fit(as_of="2024-09-30", seed=1)
    result.summary()
"""

from .errors import InputError, Problem
from .project import Project, Question, load, validate

__all__ = ["InputError", "Problem", "Project", "Question", "FitResult", "load", "validate", "update", "history", "replay"]
__version__ = "0.1.0"


_LAZY = {
    "FitResult": ("result", "FitResult"),
    "update": ("runner", "update"),  # forecast update: ledger, no-op when unchanged, alerts
    "history": ("runner", "history"),  # forecast history: the ledger as a DataFrame
    "replay": ("replay", "replay"),  # forecast replay
}


def __getattr__(name):  # heavy modules (PyMC, ArviZ, pandas) load only when used
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'forecast' has no attribute {name!r}")
