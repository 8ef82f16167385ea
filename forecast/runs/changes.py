"""The change report of a run: what changed since the previous run of its series, and the text that says so.

The previous run is chosen by :meth:`forecast.runs.ledger.Ledger.previous_in_series` (its as-of is
not later than this run's, and it was not an ad-hoc backdated run). Evidence items are compared by
their digests: *added* (in scope now, not then), *edited* (in scope both times, with other fields),
*removed* (in scope then, gone from the files now) and *not yet published* (in scope then, still in
the files, but published after this run's as-of date: an item the as-of window leaves out is not
removed). The forecast is compared on the rolling headline, P(event within L months of the as-of
date), whose meaning does not change with the date (``compared``, :func:`forecast.runs.update.comparison`).
"""

from __future__ import annotations

import datetime as dt

ITEM_KINDS = ("added", "removed", "not_yet_published", "edited")


def _spec_changes(old: dict | None, new: dict) -> list[str]:
    if old is None:
        return []
    changes = []
    for key in sorted(set(old) | set(new)):
        if key == "library":
            continue
        if old.get(key) != new.get(key):
            if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
                sub = sorted(k for k in set(old[key]) | set(new[key]) if old[key].get(k) != new[key].get(k))
                changes += [f"{key}.{k}" for k in sub]
            else:
                changes.append(key)
    if old.get("library") != new.get("library"):
        lib_old = {i["id"]: i for i in old.get("library", {}).get("indicators", [])}
        lib_new = {i["id"]: i for i in new.get("library", {}).get("indicators", [])}
        changes += [f"library.{k}" for k in sorted(set(lib_old) | set(lib_new)) if lib_old.get(k) != lib_new.get(k)]
    return changes


def change_report(previous: dict | None, items_now: dict[str, str], spec_now: dict, fps: dict, as_of: dt.date,
                  later=()) -> dict:
    """What changed since ``previous`` (a ledger row): evidence, spec, code, sampler, as-of.

    Parameters
    ----------
    previous : dict, optional
        The previous run of the series; None for the first run.
    items_now : dict of str to str
        Item id -> digest of every item in scope now.
    spec_now : dict
        The spec with its indicator library (``library``).
    fps : dict
        This run's fingerprints (``code``, ``sampler``).
    as_of : datetime.date
    later : iterable of str
        Ids of the question's items in the files that are published after ``as_of``.

    Returns
    -------
    dict
        ``first_run``, ``previous_run``, ``added``, ``removed``, ``not_yet_published``,
        ``edited`` (sorted item ids), ``spec`` (edited fields), ``code``, ``sampler`` (bools) and
        ``as_of`` ([old, new] or None).
    """
    if previous is None:
        return {"first_run": True, "added": sorted(items_now), "removed": [], "not_yet_published": [], "edited": [], "spec": [],
                "code": False, "sampler": False, "as_of": None}
    before = previous.get("evidence_items") or {}
    gone = set(before) - set(items_now)
    later = set(later)
    return {
        "first_run": False,
        "previous_run": previous["id"],
        "added": sorted(set(items_now) - set(before)),
        "removed": sorted(gone - later),
        "not_yet_published": sorted(gone & later),
        "edited": sorted(k for k in set(items_now) & set(before) if items_now[k] != before[k]),
        "spec": _spec_changes(previous.get("spec_snapshot"), spec_now),
        "code": previous.get("code_fingerprint") != fps["code"],
        "sampler": previous.get("sampler_fingerprint") != fps["sampler"],
        "as_of": None if previous.get("as_of") == as_of.isoformat() else [previous.get("as_of"), as_of.isoformat()],
    }


def describe_comparison(compared: dict | None) -> str:
    """What the forecast comparison says, in words ('' without one).

    Parameters
    ----------
    compared : dict, optional
        ``changes["compared"]`` (:func:`forecast.runs.update.comparison`).

    Returns
    -------
    str
        E.g. ``P(event within 12 months of the as-of date) moved +0.3 points (5.1% -> 5.4%,
        Monte Carlo SE of the move 0.10 points)``; a comparison that could not be made gives its
        reason.
    """
    if not compared:
        return ""
    if compared.get("quantity") is None:
        return f"forecast not compared ({compared.get('reason')})"
    text = (f"{compared['quantity']} moved {100 * compared['move']:+.1f} points ({100 * compared['old']:.1f}% -> "
            f"{100 * compared['new']:.1f}%, Monte Carlo SE of the move {100 * compared['move_mcse']:.2f} points)")
    if compared["old_term"] != compared["new_term"]:
        text += f", ICD 203 term {compared['old_term']} -> {compared['new_term']}"
    return text


def describe_changes(changes: dict) -> str:
    """A short paragraph: what changed since the previous run and what moved the forecast."""
    parts = []
    for key in ITEM_KINDS:
        if changes.get(key):
            parts.append(f"{key.replace('_', ' ')} {', '.join(changes[key])}")
    if changes.get("spec"):
        parts.append(f"spec edited ({', '.join(changes['spec'])})")
    if changes.get("as_of"):
        parts.append(f"as-of {changes['as_of'][0]} -> {changes['as_of'][1]}")
    if changes.get("code"):
        parts.append("code changed")
    if changes.get("sampler"):
        parts.append("sampler settings or seed changed")
    compared = changes.get("compared") or {}
    since = f"since run {changes.get('previous_run')}" + (f" (as of {compared['previous_as_of']})" if compared.get("previous_as_of") else "")
    text = f"{since}: " + ("; ".join(parts) if parts else "no input changed (forced re-run)")
    said = describe_comparison(compared)
    if said:
        text += f"; {said}"
    top = [a for a in changes.get("attribution", []) if abs(a["estimated_move"]) >= 0.0005][:3]
    if top:
        text += "; largest estimated effects: " + ", ".join(f"{a['id']} ({100 * a['estimated_move']:+.1f})" for a in top)
    return text
