"""Progress for long work (sampling, replay, checks) in a notebook or a terminal.

The CLI draws its own rich progress bars on stderr. From Python, long calls default to showing
progress when they run inside IPython / Jupyter (where nobody reads stderr logs later) and to
staying quiet in scripts, cron jobs and tests; pass ``progressbar=True`` / ``progress=True`` to force
it, ``False`` to silence it.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager


def interactive() -> bool:
    """True inside an IPython shell or a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    return bool(ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None)


@contextmanager
def bar(description: str, enabled: bool = True):
    """Progress of ``description``; yields ``tick(done, total, text)`` (a no-op when disabled).

    One short line per step: a notebook keeps it as a log of what ran (a live bar would need
    widgets), a terminal shows it as it comes.
    """
    if not enabled:
        yield lambda done, total, text="": None
        return
    import time

    t0 = time.perf_counter()

    def tick(done, total, text=""):
        print(f"{description}: {done}/{total} {text} ({time.perf_counter() - t0:.0f}s)".replace("  ", " "), flush=True)

    yield tick


@contextmanager
def stage(progress, name: str):
    """One step of ``progress(stage, done, total)``: ``(name, 0, 1)`` on entry, ``(name, 1, 1)`` on leaving.

    Parameters
    ----------
    progress : callable or None
        The caller's callback; None reports nothing.
    name : str
        The stage, as the progress display names it.
    """
    if progress is not None:
        progress(name, 0, 1)
    yield
    if progress is not None:
        progress(name, 1, 1)
