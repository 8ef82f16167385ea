"""The change report of a run: what changed since the previous run, and the text that says so."""

from __future__ import annotations

import datetime as dt


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


def change_report(previous: dict | None, items_now: dict[str, str], spec_now: dict, fps: dict, as_of: dt.date) -> dict:
    """What changed since ``previous`` (a ledger row): evidence, spec, code, sampler, as-of."""
    if previous is None:
        return {"first_run": True, "added": sorted(items_now), "removed": [], "edited": [], "spec": [], "code": False, "sampler": False, "as_of": None}
    before = previous.get("evidence_items") or {}
    return {
        "first_run": False,
        "previous_run": previous["id"],
        "added": sorted(set(items_now) - set(before)),
        "removed": sorted(set(before) - set(items_now)),
        "edited": sorted(k for k in set(items_now) & set(before) if items_now[k] != before[k]),
        "spec": _spec_changes(previous.get("spec_snapshot"), spec_now),
        "code": previous.get("code_fingerprint") != fps["code"],
        "sampler": previous.get("sampler_fingerprint") != fps["sampler"],
        "as_of": None if previous.get("as_of") == as_of.isoformat() else [previous.get("as_of"), as_of.isoformat()],
    }


def describe_changes(changes: dict) -> str:
    """A short paragraph: what changed since the previous run and what moved the headline."""
    parts = []
    for key in ("added", "removed", "edited"):
        if changes.get(key):
            parts.append(f"{key} {', '.join(changes[key])}")
    if changes.get("spec"):
        parts.append(f"spec edited ({', '.join(changes['spec'])})")
    if changes.get("as_of"):
        parts.append(f"as-of {changes['as_of'][0]} -> {changes['as_of'][1]}")
    if changes.get("code"):
        parts.append("code changed")
    if changes.get("sampler"):
        parts.append("sampler settings or seed changed")
    text = f"since run {changes.get('previous_run')}: " + ("; ".join(parts) if parts else "no input changed (forced re-run)")
    if changes.get("headline_move") is not None:
        text += f"; headline moved {100 * changes['headline_move']:+.1f} points"
    top = [a for a in changes.get("attribution", []) if abs(a["estimated_move"]) >= 0.0005][:3]
    if top:
        text += "; largest estimated effects: " + ", ".join(f"{a['id']} ({100 * a['estimated_move']:+.1f})" for a in top)
    return text
