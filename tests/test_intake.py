"""`forecast intake`: drafting evidence items from a report, and drafts kept out of every fit.

The reports under tests/data/intake/ are invented (their first line says so); the shipped article
is models/sources/lukashenkos-balancing-act.txt. tests/data/intake/labels.yaml holds hand labels of
every sentence; the precision/recall test pins the figures the cues in models/indicators.yaml give.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from forecast.cli import app
from forecast.core.errors import InputError
from forecast.inputs.evidence import EvidenceItem, LocatedItem
from forecast.inputs.evidence_set import Evidence
from forecast.inputs.intake import CompiledCues, DateFinder, compile_cue, confidence, html_to_text, intake, match_sentence, split_passages
from forecast.inputs.project import Project
from forecast.inputs.spec import Cues, IndicatorLibrary

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "intake"
ARTICLE = ROOT / "models" / "sources" / "lukashenkos-balancing-act.txt"
WIRE = DATA / "wire-2025-09-12.txt"
BULLETIN = DATA / "bulletin-2025-11-20.html"
LABELS = yaml.safe_load((DATA / "labels.yaml").read_text())["reports"]


@pytest.fixture
def proj(tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "models", root / "models")
    shutil.copytree(ROOT / "evidence", root / "evidence")
    return root


def draft(report, published="2025-09-12", **kw):
    return intake(report, question="belarus-entry", published=published, source=kw.pop("source", "Wire service X"), root=ROOT, **kw)


def one_sentence(sentence: str, published="2025-09-12") -> EvidenceItem:
    drafts = draft(sentence, published)
    assert len(drafts) == 1, [p.text for p in drafts.passages]
    return drafts.items[0]


# --------------------------------------------------------------------------------------------------
# the reports


def test_invented_reports_say_so_in_their_first_line():
    for path in (WIRE, BULLETIN):
        first = path.read_text().splitlines()[0]
        assert "INVENTED EXAMPLE REPORT" in first, path


@pytest.mark.parametrize("report,published", [(ARTICLE, "2024-09-15"), (WIRE, "2025-09-12"), (BULLETIN, "2025-11-20")])
def test_every_quote_is_a_verbatim_substring_of_the_input(report, published):
    drafts = draft(report, published)
    assert len(drafts) >= 10
    raw = report.read_text()
    source_text = html_to_text(raw) if report.suffix == ".html" else raw
    assert drafts.text == source_text
    for item in drafts.items:
        assert item.quote in source_text, item.id
        assert item.draft and item.grade is None and 0 <= item.confidence <= 1 and item.matched
        if report.suffix == ".txt":
            assert item.quote in raw


def test_precision_and_recall_of_the_suggested_indicator_against_hand_labels():
    """Figures measured with the cues shipped in models/indicators.yaml (labels: tests/data/intake/labels.yaml).

    article (41 sentences, 28 labelled with an indicator): 30 suggested, 27 right: P = 27/30 = 0.900, R = 27/28 = 0.964
    wire    (20 sentences, 15 labelled):                   15 suggested, 15 right: P = 1.000, R = 1.000
    bulletin (21 sentences, 11 labelled; held out while the cues were written):
                                                           10 suggested, 10 right: P = 1.000, R = 10/11 = 0.909
    all three (82 sentences, 54 labelled):                 55 suggested, 52 right: P = 52/55 = 0.945, R = 52/54 = 0.963
    Direction, on the 31 right suggestions whose label has a direction: 28 agree, 3 left open, 0 opposite.
    Confidence >= 0.5: 36 of 36 suggestions right; below 0.5: 16 of 19.
    """
    expected = {  # report -> (sentences, labelled, suggested, right)
        "lukashenkos-balancing-act.txt": (41, 28, 30, 27),
        "wire-2025-09-12.txt": (20, 15, 15, 15),
        "bulletin-2025-11-20.html": (21, 11, 10, 10),
    }
    totals = [0, 0, 0]
    direction = {"agree": 0, "open": 0, "opposite": 0}
    for report in LABELS:
        drafts = intake(ROOT / report["file"], question=report["question"], published=report["published"], source=report["source"], root=ROOT)
        sentences = report["sentences"]
        # the labels are for these exact sentences: a change of segmentation must update them
        assert [re.sub(r"\s+", " ", p.text) for p in drafts.passages] == [s["text"] for s in sentences]
        labelled = sum(s["indicator"] != "none" for s in sentences)
        suggested = sum(p.indicator is not None for p in drafts.passages)
        right = 0
        for passage, label in zip(drafts.passages, sentences):
            if passage.indicator is not None and passage.indicator == label["indicator"]:
                right += 1
                if "direction" in label:
                    got = passage.matches[0].direction
                    direction["open" if got is None else "agree" if got == label["direction"] else "opposite"] += 1
        name = Path(report["file"]).name
        assert (len(sentences), labelled, suggested, right) == expected[name], name
        # the drafts are exactly the suggested sentences
        assert len(drafts) == suggested
        totals = [totals[0] + labelled, totals[1] + suggested, totals[2] + right]
    labelled, suggested, right = totals
    assert (labelled, suggested, right) == (54, 55, 52)
    assert round(right / suggested, 3) == 0.945 and round(right / labelled, 3) == 0.963
    assert direction == {"agree": 28, "open": 3, "opposite": 0}
    # the confidence ranks the suggestions: right/suggested at confidence >= 0.5 and below
    buckets = {"high": [0, 0], "low": [0, 0]}
    for report in LABELS:
        drafts = intake(ROOT / report["file"], question=report["question"], published=report["published"], source=report["source"], root=ROOT)
        for item, passage in zip(drafts.items, [p for p in drafts.passages if p.indicator]):
            label = report["sentences"][passage.number - 1]["indicator"]
            bucket = buckets["high" if item.confidence >= 0.5 else "low"]
            bucket[0] += item.indicator == label
            bucket[1] += 1
    assert buckets == {"high": [36, 36], "low": [16, 19]}


# --------------------------------------------------------------------------------------------------
# dates


def test_last_june_relative_to_publication_resolves_to_june_2025():
    item = one_sentence("Last June, Moscow wrote off a further part of the Belarusian state debt.")
    assert item.event_date == dt.date(2025, 6, 1)
    assert "event date from 'June' (month only: day set to the 1st)" in item.notes


@pytest.mark.parametrize(
    "phrase,expected",
    [("two weeks ago", dt.date(2025, 8, 29)), ("in August", dt.date(2025, 8, 1)), ("yesterday", dt.date(2025, 9, 11)), ("last month", dt.date(2025, 8, 1))],
)
def test_relative_dates_resolve_against_the_published_date(phrase, expected):
    item = one_sentence(f"Russian fighter jets arrived at the Baranovichi airfield {phrase}.")
    assert item.event_date == expected, item.notes


def test_an_absolute_date_in_the_sentence_wins_over_a_relative_one():
    item = one_sentence("Two weeks ago officials confirmed that on 3 March 2025 the joint command took over the regional grouping.")
    assert item.event_date == dt.date(2025, 3, 3)
    assert "event date from 'on 3 March 2025' (to the day)" in item.notes


def test_no_date_falls_back_to_the_published_date_and_says_so():
    item = one_sentence("Russian fighter jets are based at the Baranovichi airfield.")
    assert item.event_date == dt.date(2025, 9, 12)
    assert "no date in or near the quote: event_date is the published date" in item.notes


def test_reference_points_and_future_dates_are_not_event_dates():
    since = one_sentence("No missile launches from Belarusian territory have been recorded since 2022.")
    assert since.event_date == dt.date(2025, 9, 12) and "'2022' is a reference point" in since.notes
    future = one_sentence("Moscow will write off more debt on 1 December 2025.")
    assert future.event_date == dt.date(2025, 9, 12)
    assert "after publication (a plan or a forecast?)" in future.notes


def test_a_month_takes_the_year_that_follows_and_early_last_year_is_january():
    finder = DateFinder(dt.date(2024, 9, 15))
    date, note = finder.choose("It could end in more extensive uprisings than those in August and September 2020.")
    assert date == dt.date(2020, 8, 1) and "'August and September 2020'" in note
    date, note = finder.choose("At the beginning of last year, a joint command was established.")
    assert date == dt.date(2023, 1, 1) and '("early")' in note


def test_the_sentence_before_gives_the_date_only_when_it_bears_on_the_same_indicator():
    drafts = draft(
        "Police detained 300 people last month after protests in Gomel. The protests were dispersed within hours. "
        "Moscow wrote off more Belarusian debt in July. Russian fighter jets are based at the Baranovichi airfield."
    )
    dates = {it.indicator: (it.event_date, it.notes) for it in drafts.items}
    assert dates["unrest-risk"][0] == dt.date(2025, 8, 1)
    assert [it.event_date for it in drafts.items if it.indicator == "unrest-risk"] == [dt.date(2025, 8, 1)] * 2
    assert "event date from the sentence before: 'last month'" in drafts.items[1].notes
    # the jets sentence follows the debt sentence (another indicator): it does not borrow 'July'
    assert dates["russian-air-presence"][0] == dt.date(2025, 9, 12)


# --------------------------------------------------------------------------------------------------
# passages


def test_passages_keep_hard_wrapped_sentences_whole_and_split_headings_and_paragraphs():
    # a heading is a line without end punctuation shorter than 60% of the report's median line
    text = (
        "Military gestures\n"
        "Lt. Gen. Ivanov told reporters that the U.S. embassy in Minsk had been\n"
        "closed on Monday for the second time this year. He left the capital\n"
        "the same evening, officials of the foreign ministry said on Tuesday\n"
        "\n"
        "A new paragraph begins here and it goes on for a while as well."
    )
    got = [(text[a:b], block) for a, b, block in split_passages(text)]
    assert got == [
        ("Military gestures", 0),
        ("Lt. Gen. Ivanov told reporters that the U.S. embassy in Minsk had been\nclosed on Monday for the second time this year.", 1),
        ("He left the capital\nthe same evening, officials of the foreign ministry said on Tuesday", 1),
        ("A new paragraph begins here and it goes on for a while as well.", 2),
    ]


# --------------------------------------------------------------------------------------------------
# HTML


def test_html_is_reduced_to_its_visible_text():
    html = "<html><head><title>T</title><style>p{color:red}</style></head><body><p>A &amp; B<br>C</p><script>var x = '<p>no</p>';</script><li>D</li></body></html>"
    assert html_to_text(html) == "A & B\n\nC\n\nD"


def test_a_script_body_never_becomes_a_quote():
    drafts = draft(BULLETIN, "2025-11-20")
    for forbidden in ("teaser", "document.title", "trackVisit", "Moscow demands troops", "font-family", "Russian jets deployed to Belarus airfield"):
        assert forbidden not in drafts.text
        assert all(forbidden not in it.quote for it in drafts.items)
    # entities are decoded: the quote is the text a reader sees
    assert any("\u201callies to share the burden\u201d" in it.quote for it in drafts.items)


# --------------------------------------------------------------------------------------------------
# cues


def test_cue_syntax_words_stars_hyphens_and_gaps():
    assert compile_cue("write-off").search("Moscow agreed a write off of the debt")
    assert compile_cue("debt").search("Debt relief") and not compile_cue("debt").search("an indebted state")
    assert compile_cue("protest*").search("protesters gathered")
    gap = compile_cue("no ... protest*")
    assert gap.search("no mass street protests") and not gap.search("no one in the five largest towns protested")
    assert compile_cue("Lukashenko's").search("Lukashenko\u2019s soldiers")


def test_confidence_is_strength_times_share_times_clarity():
    cues = [
        CompiledCues.from_cues("a", Cues(terms=["debt*", "loan*"], up=["wrote off"])),
        CompiledCues.from_cues("b", Cues(terms=["gas"])),
    ]
    matches, _ = match_sentence("Moscow wrote off debts and a loan, and cut gas prices.", cues)
    assert [m.indicator for m in matches] == ["a", "b"] and matches[0].score == 2 and matches[0].direction == "up"
    assert confidence(matches) == round((1 - 0.5**2) * (2 / 3) * 1.0, 2) == 0.5
    alone, _ = match_sentence("Debts again.", cues)
    assert confidence(alone) == round(0.5 * 1.0 * 0.8, 2) == 0.4


def test_a_veto_cue_rules_the_indicator_out():
    drafts = draft("Minsk lodged a diplomatic protest with Vilnius over the border closure.")
    assert len(drafts) == 0
    assert drafts.passages[0].vetoed == {"unrest-risk": ["diplomatic protest"]}


def test_a_bad_cue_is_reported_with_file_line_and_field(proj):
    lib = proj / "models" / "indicators.yaml"
    text = lib.read_text()
    lib.write_text(text.replace("terms: [debt*, loan*,", "terms: [debt*, lo**an,", 1))
    line = next(i for i, text_line in enumerate(lib.read_text().splitlines(), 1) if "lo**an" in text_line)
    errs = [p for p in Project(proj).validate() if p.severity == "error"]
    assert len(errs) == 1, [str(e) for e in errs]
    assert errs[0].file == str(lib) and errs[0].field == "indicators.0.cues.terms.1" and errs[0].line == line
    assert "cue 'lo**an' is not a word or phrase" in errs[0].message


def test_every_shipped_indicator_has_cues():
    lib = Project(ROOT)._library()[0]
    assert isinstance(lib, IndicatorLibrary)
    assert [i.id for i in lib.indicators if i.cues is None] == []


# --------------------------------------------------------------------------------------------------
# drafts: written atomically, read back, refused by validate, load, update and fits


def test_drafts_round_trip_through_yaml_and_are_not_overwritten(tmp_path):
    drafts = draft(WIRE)
    path = drafts.to_yaml(tmp_path / "drafts.yaml")
    back = Evidence.from_file(path)
    assert [li.item for li in back] == drafts.items
    assert any("\n" in it.quote for it in back.items)  # a hard-wrapped quote keeps its line break
    before = path.read_text()
    with pytest.raises(FileExistsError, match="may hold drafts already graded"):
        drafts.to_yaml(path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drafts.yaml"]  # no temporary file left


def test_validate_refuses_drafts_naming_file_and_line_until_confirmed(proj):
    path = draft(WIRE).to_yaml(proj / "evidence" / "drafts" / "x.yaml")
    errs = [p for p in Project(proj).validate() if p.severity == "error"]
    assert len(errs) == 1, [str(e) for e in errs]
    e = errs[0]
    first_item_line = next(i for i, text_line in enumerate(path.read_text().splitlines(), 1) if text_line.startswith("  - id:"))
    assert (e.file, e.line, e.field) == (str(path), first_item_line, "draft")
    assert e.message.startswith("grade and confirm 15 draft items in evidence/drafts/x.yaml: set `grade:` and remove `draft: true` (lines 5, ")
    with pytest.raises(InputError, match="grade and confirm 15 draft items"):
        Project(proj).load("belarus-entry")

    # the analyst grades and confirms every draft: the file becomes ordinary evidence
    data = yaml.safe_load(path.read_text())
    for item in data["items"]:
        del item["draft"]
        item["grade"] = "B2"
        if item.get("direction") is None:  # the analyst chooses a direction where the cues left it open
            item["direction"] = "up"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert [str(p) for p in Project(proj).validate() if p.severity == "error"] == []
    assert len(Project(proj).load("belarus-entry").evidence.filter(lambda it: it.source == "Wire service X")) == 15


def test_a_draft_never_enters_a_fit_through_the_python_api(proj):
    q = Project(proj).load("belarus-entry")
    drafts = draft(WIRE)
    with pytest.raises(InputError, match=r"grade and confirm 15 draft items in <intake>"):
        q.with_evidence(drafts)
    from forecast.inputs.project import QuestionInputs

    with pytest.raises(InputError, match="grade and confirm 1 draft item in <test>: set `grade:` and remove `draft: true` \\(line 3\\)"):
        QuestionInputs(spec=q.spec, library=q.library, evidence=[LocatedItem(item=drafts.items[0], file="<test>", line=3)])


def test_a_missing_grade_is_still_an_error_on_a_confirmed_item():
    with pytest.raises(Exception, match="grade\n  Field required"):
        EvidenceItem.model_validate({"id": "a", "event_date": "2025-01-01", "published": "2025-01-01", "indicator": "unrest-risk", "direction": "up", "source": "s", "quote": "q"})
    # a draft may lack the grade and the observation
    item = EvidenceItem.model_validate({"id": "a", "event_date": "2025-01-01", "published": "2025-01-01", "indicator": "unrest-risk", "source": "s", "quote": "q", "draft": True})
    assert item.grade is None and item.direction is None


# --------------------------------------------------------------------------------------------------
# command line


def test_cli_writes_the_drafts_file_and_exits_0(proj):
    out = proj / "evidence" / "drafts" / "2025-09-12-wire.yaml"
    res = CliRunner().invoke(app, ["intake", str(WIRE), "--question", "belarus-entry", "--published", "2025-09-12", "--source", "Wire service X", "-o", str(out), "--root", str(proj)])
    assert res.exit_code == 0, res.output
    assert "wrote 15 draft items (20 sentences read)" in res.output
    assert [li.item for li in Evidence.from_file(out)] == draft(WIRE).items
    # a second run does not overwrite the analyst's file without --force
    res = CliRunner().invoke(app, ["intake", str(WIRE), "-q", "belarus-entry", "--published", "2025-09-12", "--source", "Wire service X", "-o", str(out), "--root", str(proj)])
    assert res.exit_code == 1 and "exists: it may hold drafts already graded" in res.output


def test_cli_default_output_is_under_evidence_drafts(proj):
    res = CliRunner().invoke(app, ["intake", str(BULLETIN), "-q", "belarus-entry", "--published", "2025-11-20", "--source", "Bulletin", "--root", str(proj)])
    assert res.exit_code == 0, res.output
    assert (proj / "evidence" / "drafts" / "bulletin-2025-11-20.yaml").is_file()


def test_cli_missing_report_exits_1_with_did_you_mean(proj):
    missing = DATA / "wire-2025-09-21.txt"
    res = CliRunner().invoke(app, ["intake", str(missing), "-q", "belarus-entry", "--published", "2025-09-12", "--source", "X", "--root", str(proj)])
    assert res.exit_code == 1
    flat = " ".join(res.output.split())
    assert f"{missing} [report]: no such report file (did you mean '{WIRE}'?)" in flat
    assert not (proj / "evidence" / "drafts").exists()


def test_cli_unknown_question_exits_1_with_did_you_mean(proj):
    res = CliRunner().invoke(app, ["intake", str(WIRE), "-q", "belarus-entri", "--published", "2025-09-12", "--source", "X", "--root", str(proj)])
    assert res.exit_code == 1
    assert "no question 'belarus-entri'" in res.output and "(did you mean 'belarus-entry'?)" in res.output
    assert not (proj / "evidence" / "drafts").exists()


def test_cli_bad_date_and_missing_options(proj):
    res = CliRunner().invoke(app, ["intake", str(WIRE), "-q", "belarus-entry", "--published", "2025-09-31", "--source", "X", "--root", str(proj)])
    # a bad option value is a usage error (exit 2), read by the one date parser of every format
    assert res.exit_code == 2 and "'--published': '2025-09-31' is not a valid date: day is out of range for month" in " ".join(res.output.replace("│", " ").split())
    res = CliRunner().invoke(app, ["intake", str(WIRE), "-q", "belarus-entry", "--root", str(proj)])
    assert res.exit_code == 2 and "missing --published, --source" in res.output


def test_cli_update_refuses_drafts(proj):
    draft(WIRE).to_yaml(proj / "evidence" / "drafts" / "x.yaml")
    res = CliRunner().invoke(app, ["update", "belarus-entry", "--root", str(proj), "--ledger", str(proj / "l.sqlite")])
    assert res.exit_code == 1
    assert "grade and confirm 15 draft items in evidence/drafts/x.yaml: set `grade:` and remove `draft: true`" in " ".join(res.output.split())


def test_review_prints_file_text_as_text_never_as_markup(tmp_path, monkeypatch):
    import forecast.cli

    monkeypatch.setattr(forecast.cli.console, "width", 300)  # no wrapping inside the cells
    path = tmp_path / "d.yaml"
    path.write_text(
        "items:\n"
        "  - id: a\n    event_date: 2025-09-01\n    published: 2025-09-12\n    indicator: unrest-risk\n    source: '[bold]X[/bold]'\n"
        "    draft: true\n    quote: 'Crowds chanted [red]x[/red] in Minsk'\n    matched: ['protest*']\n    confidence: 0.5\n"
        "  - id: b\n    event_date: 2025-09-01\n    published: 2025-09-12\n    indicator: unrest-risk\n    direction: up\n"
        "    source: s\n    grade: B2\n    quote: '[link=http://x]y[/link]'\n"
    )
    res = CliRunner().invoke(app, ["intake", "--review", str(path)])
    assert res.exit_code == 0, res.output
    assert "[red]x[/red]" in res.output and "[link=http://x]y[/link]" in res.output
    assert "1 drafts, 1 confirmed" in res.output and "confirmed B2" in res.output


def test_review_of_a_missing_file_suggests_the_near_miss(tmp_path):
    (tmp_path / "wire.yaml").write_text("items: []\n")
    res = CliRunner().invoke(app, ["intake", "--review", str(tmp_path / "wir.yaml")])
    assert res.exit_code == 1 and "no such drafts file" in res.output and "wire.yaml" in res.output


def test_the_facade_exports_intake():
    import forecast

    assert forecast.intake is intake


def test_drafts_show_in_a_notebook_escaped_and_without_a_grade(tmp_path):
    drafts = draft("Crowds shouted <script>alert(1)</script> at the protest in Minsk.")
    html = drafts._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # a drafts file read back as Evidence shows "draft" where the grade would be
    back = Evidence.from_file(drafts.to_yaml(tmp_path / "d.yaml"))
    page = back._repr_html_()
    assert ">draft<" in page and "&lt;script&gt;" in page


def test_cues_and_drafting_fields_leave_the_fit_fingerprints_alone(proj):
    from forecast.inference.fingerprint import fingerprints, item_digests
    from forecast.inference.question import Question
    from forecast.inputs.settings import SampleConfig

    q = Question.from_inputs(Project(proj).load("belarus-entry"))
    as_of = dt.date(2025, 9, 30)
    config = SampleConfig.from_settings(q.spec.sampler)
    before_items = item_digests(q, as_of)
    # the analyst retunes the cues and a confirmed item keeps its drafting record
    lib = q.library.model_copy(deep=True)
    lib.indicators[0].cues.terms.append("bailout fund*")
    li = q.evidence[0]
    kept = li.item.model_copy(update={"matched": ["debt*"], "confidence": 0.75})
    q2 = Question(spec=q.spec, library=lib, evidence=[LocatedItem(item=kept, file=li.file, line=li.line), *q.evidence[1:]], project=q.project)
    assert item_digests(q2, as_of) == before_items
    assert fingerprints(q2, as_of, config, 1) == fingerprints(q, as_of, config, 1)
    # a real change still shows
    q3 = Question(spec=q.spec, library=lib, evidence=[LocatedItem(item=li.item.model_copy(update={"grade": "C3"}), file=li.file, line=li.line), *q.evidence[1:]], project=q.project)
    assert item_digests(q3, as_of)[li.item.id] != before_items[li.item.id]
    lib3 = lib.model_copy(deep=True)
    lib3.indicators[0].volatility.interval = (0.05, 0.25)
    q4 = Question(spec=q.spec, library=lib3, evidence=q.evidence, project=q.project)
    assert fingerprints(q4, as_of, config, 1)[0]["spec"] != fingerprints(q, as_of, config, 1)[0]["spec"]


def test_cli_refuses_a_publication_date_after_today(proj):
    import datetime as dt

    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    res = CliRunner().invoke(app, ["intake", str(WIRE), "-q", "belarus-entry", "--published", later, "--source", "X", "--root", str(proj)])
    assert res.exit_code == 2 and "publication date" in res.output and "after today" in res.output
    assert not (proj / "evidence" / "drafts").exists()
