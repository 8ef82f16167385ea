"""``forecast site``: the dashboard of every question, opened in a real browser.

The site is built from a ledger of small real fits of both shipped questions (as in
tests/test_brief.py) in a copy of the project whose every evidence quote starts with markup and a
script, plus synthetic replay and failed rows so the sparklines and the change log have a history.
The browser tests drive Debian's ``chromium`` (``/usr/bin/chromium``) through Playwright's Python API
and are skipped, with the reason, where it is not installed.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import functools
import http.server
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import forecast
from forecast.cli import app
from forecast.core.fmt import percent, percent_range
from forecast.inputs.sources import SOURCES_FILE
from forecast.runs.ledger import Ledger
from forecast.runs.update import update

from .conftest import ROOT

SHIPPED = ["belarus-entry", "russia-strikes-from-belarus"]
AS_OF = "2025-10-31"
SMALL = dict(draws=200, tune=200, chains=2)
HOSTILE = '<script>document.title="pwned";window.pwned=1</script><img src=x onerror="window.pwned=2"> & <b>bold</b> "quoted"'
PAST = [("2024-10-31", 0.02), ("2024-12-31", 0.05), ("2025-02-28", 0.03)]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def hostile_copy(dest: Path) -> Path:
    """The project's models/ and evidence/ under ``dest``, every evidence quote starting with HOSTILE."""
    shutil.copytree(ROOT / "models", dest / "models")
    (dest / "evidence").mkdir()
    for path in (ROOT / "evidence").iterdir():
        if path.name == SOURCES_FILE:  # the source registry, not evidence: copied as it is
            shutil.copy(path, dest / "evidence" / path.name)
        elif path.suffix == ".yaml":
            data = yaml.safe_load(path.read_text())
            for it in data["items"]:
                it["quote"] = f"{HOSTILE} {it['quote']}"
            (dest / "evidence" / path.name).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        elif path.suffix == ".csv":
            with path.open(newline="") as fh:
                rows = list(csv.DictReader(fh))
            for r in rows:
                r["quote"] = f"{HOSTILE} {r['quote']}"
            with (dest / "evidence" / path.name).open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    return dest


@pytest.fixture(scope="session")
def site_project(tmp_path_factory):
    """(project root, ledger path, {question: latest update row}): small fits, replay and failed rows, one brief."""
    root = hostile_copy(tmp_path_factory.mktemp("site-project"))
    path = root / "runs" / "ledger.sqlite"
    ledger = Ledger(path)
    latest = {}
    for qid in SHIPPED:
        failed = ledger.start(qid, dt.date(2025, 5, 31), "update", 1, {}, "synthetic-failed")
        ledger.fail(failed, "synthetic failure <b>not bold</b>: the last good forecast stays")
        outcome = update(qid, as_of=AS_OF, root=root, ledger_path=path, **SMALL)
        assert outcome.status == "succeeded", outcome.message
        row = ledger.get(outcome.run_id)
        for as_of, mean in PAST:
            rid = ledger.start(qid, dt.date.fromisoformat(as_of), "replay", 1, {}, f"synthetic-{as_of}")
            horizons = copy.deepcopy(row["horizons"])
            for h in horizons:
                h.update(mean=mean, lower_50=mean / 2, upper_50=mean * 1.5, lower_90=mean / 4, upper_90=mean * 3)
            rolling = {f"rolling_{k}": row[f"rolling_{k}"] for k in ("months", "until", "term")}
            rolling.update(rolling_mean=mean, rolling_lower_50=mean / 2, rolling_upper_50=mean * 1.5, rolling_lower_90=mean / 4,
                           rolling_upper_90=mean * 3, rolling_mcse=0.001)
            ledger.succeed(rid, {"headline_horizon": row["headline_horizon"], "headline_mean": mean, "horizons": horizons,
                                 "diagnostics_passed": True, "changes": {"replay": True}, **rolling})
        latest[qid] = ledger.get(outcome.run_id)
    # a brief of one question's latest run, where `forecast brief` puts it by default
    res = CliRunner().invoke(app, ["brief", SHIPPED[1], "--run", str(latest[SHIPPED[1]]["id"]), "--ledger", str(path), "--root", str(root),
                                   "--influence-refits", "0"])
    assert res.exit_code == 0, res.output
    return root, path, latest


@pytest.fixture(scope="session")
def built(site_project):
    """``forecast site --out <root>/site`` through the CLI; (site folder, CLI output, seconds)."""
    root, path, _ = site_project
    out = root / "site"
    t0 = time.perf_counter()
    res = CliRunner().invoke(app, ["site", "--out", str(out), "--ledger", str(path), "--root", str(root)])
    seconds = time.perf_counter() - t0
    assert res.exit_code == 0, res.output
    return out, res.output, seconds


def pages(site: Path) -> list[Path]:
    return [site / "index.html", *sorted(site.glob("*/index.html"))]


# --------------------------------------------------------------------------------------------------
# without a browser


def test_site_has_an_index_and_a_page_per_question_built_from_the_ledger(built, site_project):
    site, output, seconds = built
    root, path, latest = site_project
    assert f"wrote {site / 'index.html'} and 2 question pages" in " ".join(output.split())
    assert [p.parent.name for p in pages(site)[1:]] == SHIPPED
    for qid in SHIPPED:
        folder = site / qid
        for name in ("trajectory", "by_date", "drivers", "scenarios", "influence"):
            assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", (qid, name)
    # the brief of the briefed question's run is copied and linked; the other question has none
    assert (site / SHIPPED[1] / "brief.pdf").read_bytes()[:5] == b"%PDF-"
    assert 'href="brief.pdf"' in (site / SHIPPED[1] / "index.html").read_text()
    assert not (site / SHIPPED[0] / "brief.pdf").exists() and "brief.pdf" not in (site / SHIPPED[0] / "index.html").read_text()
    assert not list(site.parent.glob(".site.*"))  # no temporary or old folder left behind
    print(f"site of {len(SHIPPED)} questions built in {seconds:.1f} s")


def test_site_is_self_contained_static_html(built):
    site, _, _ = built
    for page in pages(site):
        text = page.read_text()
        assert "<script" not in text.lower().replace("&lt;script", ""), page  # only escaped text mentions a script
        assert "<link" not in text.lower() and "@import" not in text and "url(" not in text, page
        for attr in re.findall(r'(?:src|href)="([^"]*)"', text):
            # resources are relative files; only the evidence sources link out (never loaded)
            assert not attr.startswith(("//", "file:", "javascript:")), (page, attr)
            if attr.startswith(("http://", "https://")):
                assert re.search(rf'<a href="{re.escape(attr)}" target="_blank" rel="noopener noreferrer">', text), attr
        for src in re.findall(r'<img[^>]* src="([^"]*)"', text):
            assert (page.parent / src).is_file(), (page, src)


def test_site_reads_in_greyscale(built):
    """Colour never carries meaning alone: the one colour (red) marks text that says FLAGGED or WARNING."""
    site, _, _ = built
    for page in pages(site):
        text = page.read_text()
        css = text[text.index("<style>"):text.index("</style>")]
        for colour in set(re.findall(r"#[0-9a-fA-F]{3,6}\b", css)):
            hexes = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
            r, g, b = (int(hexes[i:i + 2], 16) for i in (0, 2, 4))
            assert r == g == b or colour.lower() == "#b00000", colour
        for cls, inner in re.findall(r'class="(flagged|warning)"[^>]*>(.*?)</', text, re.S):
            assert re.search(r"FLAGGED|WARNING", inner), (cls, inner)


def test_a_damaged_stored_run_is_a_warning_and_the_page_shows_no_server_path(site_project, tmp_path):
    root, path, latest = site_project
    # a copy of the ledger and its artefact folder (paths are stored relative to the ledger)
    copy_dir = tmp_path / "runs"
    copy_dir.mkdir()
    shutil.copy(path, copy_dir / path.name)
    for folder in path.parent.glob(path.name + ".artefacts-*"):
        shutil.copytree(folder, copy_dir / folder.name)
    qid = SHIPPED[0]
    posterior = Path(Ledger(copy_dir / path.name).get(latest[qid]["id"])["posterior_path"])
    posterior.write_bytes(b"not a netCDF file")
    out = tmp_path / "site"
    res = CliRunner().invoke(app, ["site", "--out", str(out), "--ledger", str(copy_dir / path.name), "--root", str(root)])
    assert res.exit_code == 0, res.output
    assert "warning" in res.output and f"stored posterior of run {latest[qid]['id']}" in res.output
    page = (out / qid / "index.html").read_text()
    assert f"The stored posterior of run {latest[qid]['id']} is damaged or missing" in page and str(tmp_path) not in page


def test_site_never_samples_and_a_failed_build_leaves_the_old_site(built, site_project, monkeypatch, tmp_path):
    import pymc

    import forecast.reports.site as site_module

    root, path, _ = site_project
    out = tmp_path / "site"

    def no_sampling(*args, **kwargs):
        raise AssertionError("the site must not sample")

    monkeypatch.setattr(pymc, "sample", no_sampling)
    monkeypatch.setattr(forecast.Question, "fit", no_sampling)
    first = forecast.site(out=out, root=root, ledger_path=path)
    assert set(first.pages) == set(SHIPPED) and first.index.is_file()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(site_module, "_changelog", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        forecast.site(out=out, root=root, ledger_path=path)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_site_headline_is_the_one_place_that_picks_the_number():
    from forecast.reports.site import site_headline

    row = {"id": 3, "as_of": "2025-06-30", "headline_horizon": "2026-06-30", "headline_mean": 0.0459, "headline_lower_90": 0.0004,
           "headline_upper_90": 0.214, "headline_term": "almost no chance"}
    # a run recorded before the rolling headline: its fixed-date headline, labelled with the date
    head = site_headline(row)
    assert (percent(head["mean"]), percent_range(head["lower_90"], head["upper_90"]), head["label"], head["kind"]) == (
        "5%", "<1%-21%", "P(by 2026-06-30)", "fixed")
    # a run with a rolling headline: that, not the fixed date
    rolling = {"rolling_months": 12, "rolling_until": "2026-06-30", "rolling_mean": 0.081, "rolling_lower_90": 0.01,
               "rolling_upper_90": 0.3, "rolling_lower_50": 0.03, "rolling_upper_50": 0.11, "rolling_term": "very unlikely"}
    head = site_headline({**row, **rolling})
    assert (percent(head["mean"]), head["label"], head["window"], head["term"], head["kind"]) == (
        "8%", "P(within 12 months)", "12 months, to 2026-06-30", "very unlikely", "rolling")
    assert site_headline({**row, **rolling, "rolling_mean": float("nan")})["kind"] == "fixed"
    assert site_headline({**row, "headline_mean": None}) is None and site_headline(None) is None


# --------------------------------------------------------------------------------------------------
# in a real browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install -y chromium) to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(built):
    """The site served over HTTP by Python's own web server (any static server would do)."""
    site, _, _ = built
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def visit(browser, url: str, width: int = 1100):
    """Open ``url``; returns (page, console errors, requests to anywhere but the site itself)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    base = url.rsplit("/", 2)[0] if url.startswith("http") else "file://"

    def route(r):
        if r.request.url.startswith(base):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page, errors, outside


@pytest.mark.parametrize("via", ["file", "http"])
def test_every_page_loads_without_console_errors_and_every_image_shows(browser, built, server, via):
    site, _, _ = built
    for path in pages(site):
        url = path.as_uri() if via == "file" else f"{server}/{path.relative_to(site).as_posix()}"
        page, errors, outside = visit(browser, url)
        images = page.evaluate("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
        page.close()
        assert not errors, (url, errors)
        assert not outside, (url, outside)
        assert all(ok for _, ok in images), (url, images)
        if path.parent != site:  # a question page: trajectory, curve, drivers, scenarios and influence
            assert len(images) == 5, (url, images)


def test_the_numbers_shown_are_the_ledgers(browser, built, site_project):
    site, _, _ = built
    root, path, latest = site_project
    ledger = Ledger(path)
    page, errors, _ = visit(browser, (site / "index.html").as_uri())
    for qid in SHIPPED:
        row = latest[qid]
        cells = page.evaluate(f"""Object.fromEntries(Array.from(document.querySelector('td[data-question="{qid}"]').parentElement.cells)
                                   .filter(c => c.dataset.field).map(c => [c.dataset.field, c.innerText.trim()]))""")
        assert row["rolling_mean"] is not None  # the index shows the rolling headline
        assert cells["mean"] == percent(row["rolling_mean"])
        assert cells["interval_90"] == percent_range(row["rolling_lower_90"], row["rolling_upper_90"])
        assert cells["term"] == row["rolling_term"] and cells["window"] == f"{row['rolling_months']} months, to {row['rolling_until']}"
        assert cells["last_run"] == f"{row['finished_at'][:10]} (as of {row['as_of']}, run {row['id']})"
        assert cells["diagnostics"] == ("ok" if row["diagnostics_passed"] else "FLAGGED")
        spark = page.evaluate(f"""document.querySelector('td[data-question="{qid}"]').parentElement.querySelector('svg title').textContent""")
        assert spark.startswith(f"{len(PAST) + 1} runs from {PAST[0][0]} to {AS_OF}: {percent(PAST[0][1])} to {percent(row['rolling_mean'])}")
    page.close()
    for qid in SHIPPED:
        row = latest[qid]
        page, errors, _ = visit(browser, (site / qid / "index.html").as_uri())
        shown = page.evaluate("['headline-mean', 'headline-interval', 'headline-term'].map(i => document.getElementById(i).innerText)")
        assert shown == [percent(row["rolling_mean"]), percent_range(row["rolling_lower_90"], row["rolling_upper_90"]), row["rolling_term"]]
        log = page.evaluate("""Array.from(document.querySelectorAll('#changelog tbody tr')).map(r => [r.cells[0].innerText.trim(),
                               r.cells[1].innerText.trim(), r.cells[4].innerText.trim(), r.cells[5].innerText.trim()])""")
        updates = ledger.history(qid, kind="update").sort_values("id", ascending=False)
        expected = [[str(r["id"]), r["status"], percent(r["rolling_mean"]) if r["status"] == "succeeded" else "",
                     percent_range(r["rolling_lower_90"], r["rolling_upper_90"]) if r["status"] == "succeeded" else ""]
                    for r in updates.to_dict(orient="records")]
        assert log == expected
        page.close()


def test_a_script_in_an_evidence_quote_shows_as_text(browser, built):
    site, _, _ = built
    for qid in SHIPPED:
        page, errors, _ = visit(browser, (site / qid / "index.html").as_uri())
        state = page.evaluate("""({pwned: window.pwned === undefined ? null : window.pwned, title: document.title,
            bold: document.querySelectorAll('#evidence b').length, broken: document.querySelectorAll('img[src="x"]').length,
            rows: Array.from(document.querySelectorAll('#evidence tbody tr')).map(r => [r.cells[0].innerText.trim(),
                                                                                    r.querySelector('td.quote').innerText])})""")
        page.close()
        assert state["pwned"] is None and state["title"] != "pwned" and state["bold"] == 0 and state["broken"] == 0
        # every quote from an evidence file shows with its markup as text (generated items, the
        # source's picture "source-picture:<indicator>", carry the library's own wording)
        from_files = [quote for item, quote in state["rows"] if ":" not in item]
        assert from_files and all(q.startswith(HOSTILE) for q in from_files), state["rows"][:2]
        assert not errors


def test_no_page_scrolls_sideways_at_phone_width(browser, built):
    site, _, _ = built
    for path in pages(site):
        page, errors, _ = visit(browser, path.as_uri(), width=390)
        widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
        page.close()
        assert widths[0] <= 390 and widths[1] <= 390, (path, widths)
