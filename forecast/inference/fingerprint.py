"""Fingerprints of what produced a run: spec, evidence in scope, code, sampler settings, packages."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("forecast", "pymc", "pytensor", "arviz", "arviz-base", "arviz-stats", "numpy", "scipy", "pandas", "xarray", "preliz", "pydantic")


def digest(obj) -> str:
    """Short SHA-256 of the canonical JSON form of an object.

    Parameters
    ----------
    obj
        Anything ``json.dumps`` takes (other objects through ``str``).

    Returns
    -------
    str
        16 hex digits.
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def code_fingerprint() -> str:
    """Hash of the package's own source files (changes whenever the code does).

    Returns
    -------
    str
        16 hex digits.
    """
    root = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a fit depends on.

    Returns
    -------
    dict of str to str
        ``python`` and each installed package of :data:`PACKAGES`.
    """
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def item_digests(question, as_of) -> dict[str, str]:
    """Digest of every evidence item in scope for a question at a date.

    Parameters
    ----------
    question : Question
    as_of : datetime.date
        Items published by then are in scope.

    Returns
    -------
    dict of str to str
        Item id to the digest of its fields (drafting fields left out).
    """
    from forecast.model.design import items_for_question

    return {
        # draft, matched and confidence record how `forecast intake` drafted an item, not what it observes
        li.item.id: digest(li.item.model_dump(mode="json", exclude={"draft", "matched", "confidence"}))
        for li in items_for_question(question.spec, question.evidence)
        if li.item.published <= as_of
    }


def spec_digest(question) -> str:
    """The spec fingerprint: the question spec and its indicator library."""
    # cues only guide `forecast intake`: editing them does not change a fit
    return digest({"spec": question.spec.to_dict(), "library": question.library.model_dump(mode="json", exclude={"indicators": {"__all__": {"cues"}}})})


def fingerprints(question, as_of, config, seed: int) -> tuple[dict, str]:
    """The fingerprints of a fit; cheap: nothing is sampled.

    Parameters
    ----------
    question : Question
    as_of : datetime.date
    config : SampleConfig
        Anything with ``to_dict()`` (the sampler settings).
    seed : int

    Returns
    -------
    (dict, str)
        ``spec`` (spec + indicator library), ``evidence`` (items in scope), ``code`` and ``sampler``
        (settings + seed); and the combined fingerprint, which adds the as-of date.
    """
    fps = {
        "spec": spec_digest(question),
        "evidence": digest(sorted(item_digests(question, as_of).items())),
        "code": code_fingerprint(),
        "sampler": digest({**config.to_dict(), "seed": seed}),
    }
    return fps, digest({**fps, "as_of": as_of.isoformat()})
