"""``forecast site``: a static dashboard of every question, built from the ledger and the stored runs.

One index page lists every question of the project with its headline, 90% interval, ICD 203 term,
last run, diagnostics status and a sparkline of its history (inline SVG); one page per question
shows the trajectory, the P(event by date) curve, the drivers, the scenarios, the most influential
evidence and the change log, and links the brief's PDF when one exists for the run.

* **From the ledger and the stored artefacts only.** The numbers are the ledger rows'; the curve,
  drivers, scenarios and influence come from the run's saved posterior (NetCDF) exactly as the brief
  computes them (:func:`forecast.reports.content.collect`), with influence by PSIS alone: nothing is
  sampled or refitted. The prior-sensitivity line is the brief's, when a brief of the run exists.
* **Self-contained static files.** No script, no external font, stylesheet or image: each page
  carries its CSS, figures are PNG files next to it, the sparklines are inline SVG, every link is
  relative. The folder works opened from disk and from any web server.
* **Untrusted text is escaped.** Question texts, evidence quotes, ids and change reports go through
  :mod:`forecast.core.html` (``html.escape``): a ``<script>`` in a quote shows as text.
* **Readable in greyscale and at phone width.** Status is a word (``ok`` / ``FLAGGED``), never a
  colour alone; figures are greyscale-safe (:mod:`.style`); tables stack their cells with the column
  name in front on screens narrower than 40rem, and long words wrap, so nothing scrolls sideways.
* **Written atomically.** The site is built in a temporary folder next to ``out`` and swapped in
  when complete: a failed build leaves the previous site untouched.

The quantity a question is summarised by is chosen in one place, :func:`site_headline`: the
**rolling headline** P(event within L months of the run's as-of date | no event by then), as the
ledger records it (``rolling_*`` columns; L = the spec's ``headline_lead_months``). It means the
same thing on every date, so the index, the sparkline and the change log compare like with like.
A run recorded before the rolling headline existed shows its fixed-date headline instead,
labelled as such ("P(by 2026-06-30)"), and is left out of the sparkline.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from forecast.core.fmt import percent, percent_range
from forecast.core.html import STACK_CSS, Cell, Markup, document, esc, join, link, table, tag
from forecast.reports.trajectory import present

INDEX = "index.html"
PAGE = "index.html"  # each question's page: <out>/<question id>/index.html
FIGURES = ("trajectory", "by_date", "drivers", "scenarios", "influence")
TOP_EVIDENCE = 10

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #000; background: #fff; max-width: 64rem; margin: 0 auto;
       padding: 1rem; line-height: 1.4; overflow-wrap: break-word; }
h1 { font-size: 1.35rem; margin: 0.3rem 0; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 0.4rem; border-bottom: 1px solid #777; }
a { color: #000; }
.sub, .note { color: #333; font-size: 0.85rem; }
.note { font-size: 0.8rem; margin: 0.3rem 0; }
.headline { font-size: 1.1rem; font-weight: bold; margin: 0.8rem 0 0.4rem; }
.numbers { display: flex; flex-wrap: wrap; gap: 0.5rem 2rem; margin: 0.4rem 0 0.8rem; }
.numbers div { font-size: 0.85rem; color: #333; }
.numbers b { display: block; font-size: 1.5rem; color: #000; }
.flagged { font-weight: bold; color: #b00000; }
.flag { border: 2px solid #000; font-weight: bold; padding: 0.4rem 0.6rem; margin: 0.6rem 0; }
.warning { border: 3px solid #b00000; color: #b00000; font-weight: bold; padding: 0.6rem; margin: 0.8rem 0; }
table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.25rem 0.4rem; border-bottom: 1px solid #bbb; }
th { border-bottom: 2px solid #000; }
td.num { text-align: right; white-space: nowrap; }
td.quote { min-width: 12rem; }
img { max-width: 100%; height: auto; display: block; }
figure { margin: 0.6rem 0; }
figcaption { font-size: 0.8rem; color: #333; }
svg.spark { display: block; }
footer { margin-top: 2rem; font-size: 0.75rem; color: #333; border-top: 1px solid #000; padding-top: 0.5rem; }
@media (max-width: 40rem) {
  body { padding: 0.6rem; }
  td.quote { min-width: 0; }
  td, p, h1, figcaption { overflow-wrap: anywhere; }
}
""" + STACK_CSS


@dataclass
class SiteOutput:
    """What ``forecast site`` wrote: the folder, each question's page and how long it took."""

    folder: Path
    index: Path
    pages: dict = field(default_factory=dict)  # question id -> page path
    seconds: float = float("nan")
    questions: list = field(default_factory=list)  # one dict per question: id, run, headline, page, error

    def __repr__(self) -> str:
        return f"<Site {self.folder}: {len(self.questions)} questions, built in {self.seconds:.1f} s>"


# --------------------------------------------------------------------------------------------------
# the one place that chooses a question's summary number


def site_headline(row: dict | None) -> dict | None:
    """The number a question is summarised by on the dashboard, from a ledger run.

    The rolling headline, P(event within L months of the as-of date | no event by then), its 90%
    interval and ICD 203 term exactly as the ledger holds them (``rolling_*`` columns). A run
    recorded before the rolling headline existed falls back to its fixed-date headline, P(event by
    the headline horizon), labelled with its date. Every part of the site (index row, sparkline,
    question page, change log) reads the headline through this function.

    Parameters
    ----------
    row : dict or None
        A ledger row (:meth:`forecast.runs.ledger.Ledger.get`).

    Returns
    -------
    dict or None
        ``kind`` (``"rolling"`` or ``"fixed"``), ``label`` (what the number is), ``window`` (the
        same in words for the index: "12 months, to 2026-09-30" or "by 2026-06-30"), ``horizon``
        (the date the probability runs to), ``months`` (L, None for a fixed date), ``mean``,
        ``lower_90``, ``upper_90``, ``lower_50``/``upper_50`` (None when not recorded), ``term``,
        ``run_id`` and ``as_of``; None when the row has neither headline.
    """
    if row is None:
        return None
    common = {"run_id": row["id"], "as_of": row["as_of"]}
    if present(row.get("rolling_mean")) and present(row.get("rolling_months")):
        months, until = int(row["rolling_months"]), str(row["rolling_until"])
        return {
            **common, "kind": "rolling", "label": f"P(within {months} months)", "window": f"{months} months, to {until}",
            "horizon": until, "months": months, "mean": float(row["rolling_mean"]),
            "lower_90": float(row["rolling_lower_90"]), "upper_90": float(row["rolling_upper_90"]),
            "lower_50": _float(row.get("rolling_lower_50")), "upper_50": _float(row.get("rolling_upper_50")),
            "term": row.get("rolling_term") or "",
        }
    if not present(row.get("headline_mean")):
        return None
    return {
        **common, "kind": "fixed", "label": f"P(by {row['headline_horizon']})", "window": f"by {row['headline_horizon']}",
        "horizon": row["headline_horizon"], "months": None, "mean": float(row["headline_mean"]),
        "lower_90": float(row["headline_lower_90"]), "upper_90": float(row["headline_upper_90"]),
        "lower_50": None, "upper_50": None, "term": row.get("headline_term") or "",
    }


def _float(value) -> float | None:
    return float(value) if present(value) else None


def history_points(runs, head: dict | None):
    """The sparkline's points: the trajectory of the same quantity as ``head`` over the ledger's
    update and replay runs up to the headline's run (:func:`forecast.reports.trajectory.trajectory_frame`):
    the rolling headline (runs with the same L), or for a fixed-date headline that date."""
    from forecast.reports.trajectory import trajectory_frame

    if head is None or runs is None or not len(runs):
        return None
    return trajectory_frame(runs, None if head["kind"] == "rolling" else head["horizon"], until_as_of=head["as_of"])


def sparkline(frame, width: int = 140, height: int = 34) -> Markup:
    """An inline SVG of the headline over time: the 90% band in light grey, the mean as a black line,
    the latest point as a dot. The y axis runs from 0 to the band's top (named in the tooltip)."""
    if frame is None or not len(frame):
        return Markup('<span class="sub">no history</span>')
    import numpy as np

    t = frame["as_of"].map(lambda d: d.toordinal()).to_numpy(dtype=float)
    top = float(max(frame["upper_90"].max(), frame["mean"].max(), 1e-9))
    span = t.max() - t.min()
    pad = 2.0
    xs = pad + (t - t.min()) / span * (width - 2 * pad) if span > 0 else np.full(t.shape, width / 2)

    def ys(v):
        return height - pad - np.asarray(v, dtype=float) / top * (height - 2 * pad)

    band = [*zip(xs, ys(frame["upper_90"])), *reversed(list(zip(xs, ys(frame["lower_90"]))))]
    line = list(zip(xs, ys(frame["mean"])))

    def pts(seq):
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in seq)

    first, last = frame.iloc[0], frame.iloc[-1]
    label = (f"{len(frame)} runs from {first['as_of'].date()} to {last['as_of'].date()}: {percent(first['mean'])} to "
             f"{percent(last['mean'])}; axis 0 to {percent(top)}")
    lx, ly = line[-1]
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>"
        f'<polygon points="{pts(band)}" fill="#d0d0d0" stroke="none"/>'
        f'<polyline points="{pts(line)}" fill="none" stroke="#000" stroke-width="1.5"/>'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.5" fill="#000"/></svg>'
    )


# --------------------------------------------------------------------------------------------------
# building


def build_site(out="site", root=None, ledger_path=None, briefs=None) -> SiteOutput:
    """Write the dashboard of every question into ``out`` (atomically; see the module docstring).

    Parameters
    ----------
    out : path
        The site folder (replaced as a whole when the new one is complete).
    root : path, optional
        Project folder (default: found from the current folder).
    ledger_path : path, optional
        Ledger database (default: ``runs/ledger.sqlite`` or ``$FORECAST_LEDGER``).
    briefs : path, optional
        Folder holding briefs (``forecast brief`` output folders, default ``briefs/`` in the
        project); a brief of a question's latest run is copied into the site and linked.

    Returns
    -------
    SiteOutput
    """
    from forecast.inputs.project import Project
    from forecast.runs.ledger import Ledger, default_path

    t0 = time.perf_counter()
    project = Project.find(root)
    ledger_path = Path(ledger_path) if ledger_path else default_path(project.root)
    if not ledger_path.is_file():
        raise ValueError(f"no ledger at {ledger_path}: run `forecast update` first")
    ledger = Ledger(ledger_path)
    briefs_dir = Path(briefs) if briefs else project.root / "briefs"
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=out.parent))
    try:
        generated = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        entries = [_question(project, ledger, qid, tmp, briefs_dir, generated) for qid in project.question_ids()]
        index = document("Forecasts: every question", *_index_parts(entries, ledger_path, generated), css=CSS)
        (tmp / INDEX).write_text(index, encoding="utf-8")
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SiteOutput(folder=out, index=out / INDEX, pages={e["id"]: out / e["page"] for e in entries if e.get("page")},
                      seconds=time.perf_counter() - t0, questions=entries)


def _swap(new: Path, out: Path) -> None:
    """Put the finished folder ``new`` in place of ``out``: two renames in the same parent folder, the
    old site removed only once the new one is in place."""
    for d in [new, *new.rglob("*")]:
        os.chmod(d, 0o755 if d.is_dir() else 0o644)
    if out.exists():
        old = out.with_name(f".{out.name}.{os.getpid()}.old")
        os.replace(out, old)
        try:
            os.replace(new, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, out)


def _question(project, ledger, qid: str, folder: Path, briefs_dir: Path, generated) -> dict:
    """Write one question's page (and its figures) under ``folder/qid``; return its index entry."""
    from forecast.core.errors import InputError
    from forecast.inference.question import Question

    runs = ledger.history(qid)
    row = ledger.current(qid)
    head = site_headline(row)
    entry = {"id": qid, "question": qid, "run": row, "headline": head, "page": f"{qid}/{PAGE}", "error": None,
             "spark": history_points(runs, head), "brief": None}
    try:
        question = Question.from_inputs(project.load(qid))
        entry["question"] = question.spec.question
    except InputError as exc:
        question = None
        entry["error"] = f"the files of {qid} do not validate ({len(exc.problems)} problems): run `forecast validate`"
    qdir = folder / qid
    qdir.mkdir(parents=True)
    entry["brief"] = _copy_brief(briefs_dir, qid, row, qdir)
    parts = _page_parts(entry, question, row, runs, ledger, qdir, generated)
    (qdir / PAGE).write_text(document(f"{qid}: forecast", *parts, css=CSS), encoding="utf-8")
    return entry


def _copy_brief(briefs_dir: Path, qid: str, row: dict | None, qdir: Path) -> dict | None:
    """The newest brief of the question's latest run (``brief.json`` manifests), copied next to the page."""
    import json

    from forecast.reports.brief import MANIFEST

    if row is None or not briefs_dir.is_dir():
        return None
    found = []
    for manifest in briefs_dir.glob(f"*/{MANIFEST}"):
        try:
            info = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        pdf = manifest.parent / str(info.get("pdf", "brief.pdf"))
        if info.get("question") == qid and info.get("run_id") == row["id"] and pdf.is_file():
            found.append((str(info.get("generated", "")), manifest.stat().st_mtime, pdf, info))
    if not found:
        return None
    _, _, pdf, info = max(found, key=lambda f: (f[0], f[1]))
    shutil.copyfile(pdf, qdir / "brief.pdf")
    return {"href": "brief.pdf", "generated": info.get("generated"), "sensitivity": info.get("sensitivity"),
            "sensitivity_flag": info.get("sensitivity_flag")}


# --------------------------------------------------------------------------------------------------
# the pages


def _status(row: dict | None) -> Markup:
    if row is None or row.get("diagnostics_passed") is None:
        return Markup("")
    if row["diagnostics_passed"]:
        return Markup("ok")
    return tag("span", "FLAGGED", class_="flagged")


def _day(value) -> str:
    """The UTC date of a ledger timestamp (``2026-01-05T06:15:02+00:00`` -> ``2026-01-05``)."""
    return str(value or "")[:10]


def _index_parts(entries: list[dict], ledger_path: Path, generated) -> list:
    rows = []
    for e in entries:
        head, row = e["headline"], e["run"]
        name = link(None, e["question"])
        title = Markup(f'<a href="{esc(e["page"])}">{esc(e["question"])}</a>') if e.get("page") else name
        if head is None:
            rows.append([Cell(title, data={"question": e["id"]}), "no forecast yet", "", "", "", "", "", ""])
            continue
        rows.append([
            Cell(title, data={"question": e["id"]}),
            Cell(percent(head["mean"]), css="num", data={"field": "mean", "run": head["run_id"]}),
            Cell(percent_range(head["lower_90"], head["upper_90"]), css="num", data={"field": "interval_90", "run": head["run_id"]}),
            Cell(head["term"], data={"field": "term"}),
            Cell(head["window"], css="date", data={"field": "window"}),
            Cell(f"{_day(row.get('finished_at'))} (as of {row['as_of']}, run {row['id']})", data={"field": "last_run"}),
            Cell(_status(row), data={"field": "diagnostics"}),
            Cell(sparkline(e["spark"]), data={"field": "sparkline"}),
        ])
    header = ["question", "headline", "90% interval", "ICD 203", "window", "last run", "diagnostics", "history"]
    return [
        tag("h1", "Forecasts: every question"),
        tag("p", f"{len(entries)} questions. Each headline is the probability of the event within the window after the run's "
                 "as-of date (\"12 months, to 2026-09-30\"), given it has not happened by then, so it means the same thing on every date "
                 "(a run recorded before this headline existed shows P(event by a fixed date), named in \"window\"): the average of the model's plausible values, with the range holding 9 in 10 of "
                 "them (90% interval) and the Intelligence Community Directive 203 term for the average. History: the headline over "
                 "the ledger's runs (grey: 90% interval).", class_="note"),
        table(header, rows, sortable=False, css_class="stack", id="questions", cell_labels=True),
        tag("footer", f"Built {generated.isoformat()} from the run ledger {ledger_path.name}: every number is the ledger's. "
                      "Static files: no script, nothing loaded from elsewhere."),
    ]


def _page_parts(entry: dict, question, row: dict | None, runs, ledger, qdir: Path, generated) -> list:
    from forecast.reports.content import headline_notes

    qid = entry["id"]
    head = entry["headline"]
    parts = [Markup('<p class="sub"><a href="../index.html">All questions</a></p>'), tag("h1", entry["question"])]
    if entry["error"]:
        parts.append(tag("p", entry["error"], class_="warning", role="alert"))
    if row is None:
        parts.append(tag("p", "No successful update in the ledger yet: run `forecast update " + qid + "`.", class_="note"))
        parts += _changelog(runs)
        return parts
    sub = f"{qid} | as of {row['as_of']} | ledger run {row['id']}, finished {_day(row.get('finished_at'))} | diagnostics "
    parts.append(Markup(f'<p class="sub">{esc(sub)}{_status(row)}</p>'))
    if entry["brief"]:
        parts.append(Markup(f'<p><a href="{esc(entry["brief"]["href"])}" id="brief-pdf">One-page brief of this run (PDF)</a></p>'))
    if not row.get("diagnostics_passed"):
        problems = join(tag("li", p) for p in (row.get("diagnostics") or {}).get("problems", []))
        parts.append(Markup('<div class="warning" role="alert">WARNING: the sampling diagnostics flag this run; treat its numbers as '
                            f"provisional.<ul>{problems}</ul></div>"))
    if head is not None:
        event = question.spec.event if question is not None else "the event"
        window = f"within {head['months']} months of {row['as_of']}, by {head['horizon']}" if head["kind"] == "rolling" else f"by {head['horizon']}"
        sentence = f"P({event} {window}) = {percent(head['mean'])} (90%: {percent_range(head['lower_90'], head['upper_90'])}) - \"{head['term']}\" (ICD 203)"
        parts.append(tag("p", sentence, class_="headline", id="headline"))
        parts.append(Markup(
            '<div class="numbers">'
            f'<div><b id="headline-mean">{esc(percent(head["mean"]))}</b>{esc(head["label"])}</div>'
            f'<div><b id="headline-interval">{esc(percent_range(head["lower_90"], head["upper_90"]))}</b>90% interval</div>'
            f'<div><b id="headline-term">{esc(head["term"])}</b>ICD 203</div></div>'))
        middle = {k: head[k] for k in ("lower_50", "upper_50") if head.get(k) is not None}
        for h in row.get("horizons") or []:
            if head["kind"] == "fixed" and str(h.get("horizon")) == str(head["horizon"]):
                middle = {k: h.get(k) for k in ("median", "lower_50", "upper_50")}
        parts += [tag("p", n, class_="note") for n in headline_notes({**head, **middle}, event, row["as_of"])]
    brief = entry["brief"] or {}
    if brief.get("sensitivity"):
        parts.append(tag("p", brief["sensitivity"], class_="flag" if brief.get("sensitivity_flag") else "note", id="sensitivity"))
    if question is None:
        parts += _changelog(runs)
        return parts
    parts += _analysis_parts(question, row, runs, ledger, qdir, entry)
    parts += _changelog(runs)
    parts.append(tag("footer", f"Built {generated.isoformat()} from the run ledger and run {row['id']}'s stored posterior "
                               "(nothing refitted). Static files: no script, nothing loaded from elsewhere."))
    return parts


def _analysis_parts(question, row: dict, runs, ledger, qdir: Path, entry: dict | None = None) -> list:
    """Trajectory, curve, drivers, scenarios and influence of the run, from its stored posterior.

    A stored posterior that cannot be read (damaged, missing, pruned) leaves the ledger's numbers
    only; the page says so without the server's paths, and ``entry["error"]`` carries the full
    message for the command's warning.
    """
    from forecast.inference.store import load_result
    from forecast.reports.brief import make_figures
    from forecast.reports.content import (
        DRIVER_HEADER,
        GLOSSARY,
        SCENARIO_HEADER,
        collect,
        driver_rows,
        method_text,
        scenario_rows,
        section_notes,
    )
    from forecast.reports.style import save

    try:
        result = load_result(row, question)
    except ValueError as exc:
        if entry is not None:
            entry["error"] = f"{entry['id']}: the stored posterior of run {row['id']} is not available ({exc}); its page shows the ledger's numbers only"
        kind = "pruned" if row.get("pruned_at") else "damaged or missing"
        return [tag("p", f"The stored posterior of run {row['id']} is {kind}: only the ledger's numbers are shown.", class_="warning", role="alert")]
    content = collect(result, question, run=row, runs=runs, ledger=ledger, influence_refits=0, sensitivity=False)
    figures = make_figures(content)
    for name, fig in figures.items():
        if name in FIGURES:
            save(fig, qdir / name, formats=("png",))

    def fig(name: str, alt: str, caption: str | None = None) -> Markup:
        """The figure, linked to its PNG (full size on a phone)."""
        if name not in figures:
            return Markup("")
        cap = tag("figcaption", caption) if caption else ""
        return Markup(f'<figure id="fig-{esc(name)}"><a href="{esc(name)}.png"><img src="{esc(name)}.png" alt="{esc(alt)}"></a>{cap}</figure>')

    parts = [tag("h2", "Trajectory and P(event by date)"),
             fig("trajectory", "The headline probability as forecast on each date, with 50% and 90% intervals",
                 "The headline probability as it was forecast at each run (ledger update and replay runs), evidence marked by grade "
                 "on its publication date."),
             fig("by_date", "The cumulative probability of the event by each date after the as-of date",
                 "P(event by date) from the as-of date: the average (line) and the ranges holding half and 9 in 10 of the plausible values.")]

    parts.append(tag("h2", "Drivers"))
    parts.append(table(DRIVER_HEADER, driver_rows(content, len(content.drivers)), numeric={2, 3, 4, 5}, sortable=False, css_class="stack",
                       id="drivers", cell_labels=True, column_titles=[GLOSSARY.get(h.replace(" (90%)", "")) for h in DRIVER_HEADER]))
    parts += [tag("p", n, class_="note") for n in section_notes("drivers")]
    parts.append(fig("drivers", "Each indicator's effect, current level and push"))

    parts.append(tag("h2", "Scenarios"))
    if content.scenarios is not None:
        parts.append(fig("scenarios", "P(event by date) if an indicator were held at a set level, against the forecast"))
        parts.append(table(SCENARIO_HEADER, scenario_rows(content), numeric={1, 2}, sortable=False, css_class="stack", id="scenarios",
                           cell_labels=True))
        parts += [tag("p", n, class_="note") for n in section_notes("scenarios")]
    else:
        parts += [tag("p", n, class_="note") for n in content.notes["scenarios"]]

    parts.append(tag("h2", "Most influential evidence"))
    if content.influence is not None and len(content.influence):
        top = content.influence.head(TOP_EVIDENCE)
        from forecast.model.design import picture_items

        # the files' items and the source's picture (generated items the influence table lists too)
        sources = {li.item.id: li.item for li in [*question.evidence, *picture_items(question.spec, question.library)]}
        rows = []
        for r in top.itertuples():
            item = sources.get(r.id)
            published = item.published.isoformat() if item is not None else ""
            rows.append([link(getattr(item, "url", None), r.id), r.grade, Cell(published, css="date"),
                         Cell(_points(r.influence), css="num", data={"field": "influence", "item": r.id}),
                         method_text(r.method, r.pareto_k), Cell(r.quote, css="quote")])
        parts.append(table(["item", "grade", "published", "influence", "method", "quote"], rows, sortable=False, css_class="stack",
                           id="evidence", cell_labels=True))
        if len(content.influence) > len(top):
            parts.append(tag("p", f"{len(top)} of {len(content.influence)} items; all are in the influence figure.", class_="note"))
        parts += [tag("p", n, class_="note") for n in section_notes("evidence")]
        parts.append(fig("influence", "Evidence items that moved the headline most"))
    else:
        parts += [tag("p", n, class_="note") for n in content.notes["influence"] or ["No evidence item in this run."]]
    return parts


def _points(delta: float) -> str:
    from forecast.core.fmt import points

    return points(delta)


def _changelog(runs) -> list:
    """The question's update runs, newest first: what each changed and where the headline went."""
    from forecast.runs.changes import describe_changes

    parts = [tag("h2", "Change log")]
    if runs is None or not len(runs):
        return parts + [tag("p", "No runs in the ledger.", class_="note")]
    updates = runs[runs["kind"] == "update"].sort_values("id", ascending=False)
    rows = []
    for rec in updates.to_dict(orient="records"):
        head = site_headline(rec) if rec.get("status") == "succeeded" else None
        changes = rec.get("changes") if isinstance(rec.get("changes"), dict) else None
        if rec.get("status") == "failed":
            what = "failed: " + ((rec.get("error") or "").splitlines() or [""])[0][:200]
        elif changes and changes.get("first_run"):
            what = "first run"
        else:
            what = describe_changes(changes) if changes else ""
        passed = rec.get("diagnostics_passed")
        rows.append([
            Cell(rec["id"], data={"run": rec["id"]}), rec.get("status", ""), Cell(_day(rec.get("finished_at") or rec.get("started_at")), css="date"),
            Cell(rec.get("as_of", ""), css="date"),
            Cell(percent(head["mean"]) if head else "", css="num", data={"field": "mean", "run": rec["id"]}),
            Cell(percent_range(head["lower_90"], head["upper_90"]) if head else "", css="num", data={"field": "interval_90", "run": rec["id"]}),
            head["term"] if head else "",
            "" if passed is None or passed != passed else ("ok" if passed else "FLAGGED"),
            Cell(what, css="quote"),
        ])
    replays = int(((runs["kind"] == "replay") & (runs["status"] == "succeeded")).sum())
    note = (f"{len(rows)} update runs, newest first" + (f"; {replays} replay points are drawn in the trajectory" if replays else "")
            + ". Headline: P(event within the rolling window after each run's as-of date); a run recorded before that headline "
              "existed shows P(event by its fixed headline date).")
    return parts + [tag("p", note, class_="note"),
                    table(["run", "status", "finished", "as of", "headline", "90% interval", "ICD 203", "diagnostics", "what changed"], rows,
                          sortable=False, css_class="stack", id="changelog", cell_labels=True)]
