"""Updates, replays and SBC on a real Dask cluster give the numbers of a run in this process.

A real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (:mod:`tests.dask_cluster`,
started from this environment and always stopped) run the tasks; the same work run in this process
is the reference. Each comparison is bit for bit: the seeds come from the task (question, point,
simulation index), never from the worker. The tiny questions of :mod:`tests.test_scheduler` (one
indicator, two items, 2 chains x 200 draws) keep the fits to seconds; questions that differ only in
their horizons share one compiled model.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.core.cluster import ClusterError, connect, verify_workers
from forecast.inference.question import Question
from forecast.inference.store import load_tree
from forecast.runs.update import update_all

from .dask_cluster import dask_cluster
from .test_scheduler import AS_OF, SPEC, write_project

BROKEN = "broken"
BROKEN_MESSAGE = "NUTS could not initialise: broken on purpose"


def make_project(root: Path, n: int = 2, broken: bool = False) -> list[str]:
    """The tiny project with ``n`` questions (``q0``, ``q1``...: other horizons, one compiled model)
    and, with ``broken``, one more whose fit raises wherever it runs (see :func:`break_fits`)."""
    write_project(root)
    (root / "models" / "tiny.yaml").unlink()
    ids = [f"q{i}" for i in range(n)] + ([BROKEN] if broken else [])
    for i, qid in enumerate(ids):
        horizons = f"[2025-0{1 + i % 9}-28, 2025-12-31]"
        (root / "models" / f"{qid}.yaml").write_text(SPEC.replace("id: tiny", f"id: {qid}").replace("[2025-06-30, 2025-12-31]", horizons))
    return sorted(ids)


def break_fits(qid: str = BROKEN) -> None:
    """Make the fit of question ``qid`` raise in this process (also run on every worker with
    ``client.run``): a sampling failure that only shows on the worker, not in the client's checks."""
    if getattr(Question.fit, "broken_for", None) == qid:
        return
    original = Question.fit

    def fit(self, *args, **kwargs):
        if self.id == qid:
            raise RuntimeError(BROKEN_MESSAGE)
        return original(self, *args, **kwargs)

    fit.broken_for = qid
    Question.fit = fit


def ledger_rows(root: Path) -> list[dict]:
    """Every row of the project's ledger, its artefact paths made absolute (the ledger stores them
    relative to its folder)."""
    with closing(sqlite3.connect(root / "runs" / "ledger.sqlite")) as con:
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY id")]
    for row in rows:
        for key in ("posterior_path", "summary_path"):
            if row.get(key):
                row[key] = str(root / "runs" / row[key])
    return rows


def posterior_of(row: dict) -> dict[str, np.ndarray]:
    tree = load_tree(row["posterior_path"])
    return {name: tree["posterior"][name].values for name in tree["posterior"].data_vars}


def assert_same_runs(here: list[dict], there: list[dict]) -> None:
    """The same runs, question by question: status, fingerprint, headline and every posterior draw."""
    by_q = lambda rows: {r["question"]: r for r in rows}  # noqa: E731
    a, b = by_q(here), by_q(there)
    assert sorted(a) == sorted(b)
    for qid in a:
        assert (a[qid]["status"], a[qid]["fingerprint"]) == (b[qid]["status"], b[qid]["fingerprint"]), qid
        if a[qid]["status"] != "succeeded":
            continue
        assert a[qid]["headline_mean"] == b[qid]["headline_mean"] and a[qid]["horizons"] == b[qid]["horizons"], qid
        pa, pb = posterior_of(a[qid]), posterior_of(b[qid])
        assert sorted(pa) == sorted(pb)
        for name in pa:
            np.testing.assert_array_equal(pa[name], pb[name], err_msg=f"{qid}: {name}")


@pytest.fixture(scope="module")
def cluster():
    with dask_cluster(2) as c:
        yield c


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """``update --all`` in this process: the reference numbers (one fit fails on purpose).

    Each fit's chains run one after another here, as on a worker; in 2 processes, as `forecast
    update` runs them on an idle machine, the draws are the same
    (``test_chain_processes_do_not_change_the_draws``) and only process start-up is added.
    """
    root = tmp_path_factory.mktemp("sequential")
    ids = make_project(root, 2, broken=True)
    original = Question.fit
    break_fits()
    try:
        outcomes = update_all(root=root, as_of=AS_OF)
    finally:
        Question.fit = original
    return root, ids, outcomes


# --------------------------------------------------------------------------------------------------


def test_an_unreachable_scheduler_is_one_clear_line_and_nothing_is_recorded(tmp_path):
    import dask
    import distributed  # noqa: F401  (registers Dask's distributed.* settings)

    make_project(tmp_path, 1)
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):  # Dask's own setting, read by connect
        res = CliRunner().invoke(app, ["update", "--all", "--as-of", AS_OF, "--root", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"])
    assert res.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 2 s" in " ".join(res.stderr.split()) and "Traceback" not in res.output
    assert not (tmp_path / "runs" / "ledger.sqlite").exists() or ledger_rows(tmp_path) == []


@pytest.mark.slow
def test_update_all_on_the_cluster_gives_the_sequential_numbers_one_row_per_run(cluster, sequential, tmp_path):
    seq_root, ids, seq_outcomes = sequential
    # a failing question does not stop the others, here as on the cluster
    assert [(o.question, o.status) for o in seq_outcomes] == [(BROKEN, "failed"), ("q0", "succeeded"), ("q1", "succeeded")]
    assert seq_outcomes[0].message == f"RuntimeError: {BROKEN_MESSAGE}"

    root = tmp_path / "on-cluster"
    make_project(root, 2, broken=True)
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as c:
        c.run(break_fits)  # the broken fit raises on the workers only: this process never fits
    res = CliRunner().invoke(app, ["update", "--all", "--as-of", AS_OF, "--root", str(root), "--scheduler", cluster.address, "--json"])
    assert res.exit_code == 1, res.output  # the failed question sets the exit code, at the end
    lines = {json.loads(x)["question"]: json.loads(x) for x in res.stdout.strip().splitlines()}
    assert {q: line["status"] for q, line in lines.items()} == {BROKEN: "failed", "q0": "succeeded", "q1": "succeeded"}
    # the worker's error is the message a local run gives, not a traceback
    assert lines[BROKEN]["message"] == seq_outcomes[0].message
    assert f"error {BROKEN}: RuntimeError: {BROKEN_MESSAGE}" in " ".join(res.stderr.split()) and "Traceback" not in res.output
    assert f"running on the Dask cluster at {cluster.address}: 2 workers, 2 threads" in " ".join(res.stderr.split())

    rows = ledger_rows(root)
    assert len(rows) == len(ids) and sorted(r["question"] for r in rows) == ids  # one row per run, none left running
    assert {r["question"]: r["status"] for r in rows} == {BROKEN: "failed", "q0": "succeeded", "q1": "succeeded"}
    assert {r["pid"] for r in rows} == {__import__("os").getpid()}  # this process wrote every row (CliRunner runs in it)
    broken_row = next(r for r in rows if r["question"] == BROKEN)
    assert broken_row["error"] == f"RuntimeError: {BROKEN_MESSAGE}"
    assert_same_runs(ledger_rows(seq_root), rows)

    # a second run: the good questions are up to date (nothing sent to the cluster), the broken one fails again
    again = CliRunner().invoke(app, ["update", "--all", "--as-of", AS_OF, "--root", str(root), "--scheduler", cluster.address, "--json"])
    statuses = {json.loads(x)["question"]: json.loads(x)["status"] for x in again.stdout.strip().splitlines()}
    assert statuses == {BROKEN: "failed", "q0": "up-to-date", "q1": "up-to-date"}
    assert len(ledger_rows(root)) == len(ids) + 1


@pytest.mark.slow
def test_sbc_on_the_cluster_gives_the_sequential_ranks_and_the_client_stores_them(cluster, tmp_path):
    import forecast

    from .test_checks import AS_OF as CHECK_AS_OF
    from .test_checks import base_question

    here = forecast.check(base_question(), only="sbc", sims=8, quick=True, seed=4, as_of=CHECK_AS_OF, out=tmp_path / "here")[0]
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as c:
        there = forecast.check(base_question(), only="sbc", sims=8, quick=True, seed=4, as_of=CHECK_AS_OF, out=tmp_path / "there", client=c)[0]
    assert there.status == here.status
    np.testing.assert_array_equal(there.tables["pit"].to_numpy(), here.tables["pit"].to_numpy())
    assert there.tables["pit"].to_numpy().std() > 0  # not a degenerate comparison
    stored = [json.loads(x) for x in next((tmp_path / "there").glob("sbc-*.jsonl")).read_text().splitlines()]
    assert sorted(r["index"] for r in stored if "index" in r) == list(range(8))


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_survived_and_every_run_recorded_once(sequential, tmp_path):
    seq_root, _, _ = sequential
    root = tmp_path / "killed"
    ids = make_project(root, 2, broken=False)
    for qid in ("q2", "q3"):  # two more, so that tasks are still running when a worker dies
        (root / "models" / f"{qid}.yaml").write_text(SPEC.replace("id: tiny", f"id: {qid}").replace("[2025-06-30, 2025-12-31]", f"[2025-0{int(qid[1]) + 1}-28, 2025-12-31]"))
    ids += ["q2", "q3"]
    seen = []
    with dask_cluster(2) as own:
        with connect(scheduler=own.address) as c:

            def progress(done, total):
                seen.append(done)
                if done == 1:  # three fits still queued or running, one of them on worker 0
                    own.kill_worker(0)

            outcomes = update_all(root=root, as_of=AS_OF, client=c, progress=progress)
            assert len(c.scheduler_info()["workers"]) == 1
    assert [o.status for o in outcomes] == ["succeeded"] * 4, [o.message for o in outcomes]
    assert seen == [1, 2, 3, 4]
    rows = ledger_rows(root)
    assert sorted(r["question"] for r in rows) == sorted(ids) and {r["status"] for r in rows} == {"succeeded"}
    # the same numbers as in this process, for the questions the reference has
    assert_same_runs([r for r in ledger_rows(seq_root) if r["question"] in ("q0", "q1")], [r for r in rows if r["question"] in ("q0", "q1")])


@pytest.mark.slow
def test_replay_of_every_question_on_the_cluster_gives_the_sequential_points(cluster, tmp_path):
    from forecast.runs.replay import replay_all

    settings = dict(draws=150, tune=150, future_paths=20)
    tables = {}
    for where in ("here", "there"):
        root = tmp_path / where
        make_project(root, 2)
        if where == "here":
            outcomes = replay_all(None, "2024-05", "2024-07", root=root, seed=2, **settings)
        else:
            with connect(scheduler=cluster.address) as c:
                outcomes = replay_all(None, "2024-05", "2024-07", root=root, seed=2, client=c, **settings)
        assert [o.status for o in outcomes] == ["succeeded", "succeeded"], [o.message for o in outcomes]
        rows = ledger_rows(root)
        assert len(rows) == 6 and {r["status"] for r in rows} == {"succeeded"} and {r["kind"] for r in rows} == {"replay"}
        tables[where] = {o.question: o.table.drop(columns=["seconds"]) for o in outcomes}
        assert all(Path(r["posterior_path"]).is_file() for r in rows)
    for qid, table in tables["here"].items():
        assert list(table["method"]) == list(tables["there"][qid]["method"])
        for column in ("headline_mean", "rolling_mean", "rolling_mcse"):  # the rolling headline too, bit for bit
            np.testing.assert_array_equal(table[column].to_numpy(), tables["there"][qid][column].to_numpy())


def probe_pid() -> int:
    return __import__("os").getpid()


def test_workers_with_other_code_are_refused_by_name(cluster):
    with connect(scheduler=cluster.address) as c:
        verify_workers(c, lambda: 0, "nothing")  # the same everywhere: accepted
        with pytest.raises(ClusterError, match=r"Dask worker\(s\) tcp://127\.0\.0\.1:\d+, tcp://127\.0\.0\.1:\d+ run other process id than this process"):
            verify_workers(c, probe_pid, "process id")


@pytest.mark.slow
def test_a_killed_client_leaves_running_rows_that_the_next_update_recovers(cluster, tmp_path):
    import os
    import signal
    import subprocess
    import time

    from .test_scheduler import forecast_command

    root = tmp_path / "killed-client"
    ids = make_project(root, 2)
    pause = tmp_path / "client"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FORECAST_")}, "FORECAST_PAUSE_AT": "fitted", "FORECAST_PAUSE_FILE": str(pause)}
    args = ["update", "--all", "--as-of", AS_OF, "--root", str(root), "--scheduler", cluster.address, "--json"]
    proc = subprocess.Popen(forecast_command() + args, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        marker = Path(f"{pause}.fitted")
        deadline = time.monotonic() + 300
        while not marker.exists():  # a fit came back from a worker; the client has written nothing of it
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the client never got a result"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    killed = ledger_rows(root)
    assert [r["status"] for r in killed] == ["running", "running"] and not list((root / "runs").rglob("run-*.nc"))

    # the next update marks both failed ("interrupted") and records each question once
    outcomes = update_all(root=root, as_of=AS_OF, client=None, scheduler=cluster.address)
    assert [o.status for o in outcomes] == ["succeeded", "succeeded"]
    rows = ledger_rows(root)
    assert [(r["question"], r["status"]) for r in rows] == [(q, "failed") for q in ids] + [(q, "succeeded") for q in ids]
    assert all(r["error"].startswith("interrupted") for r in rows[:2])


@pytest.mark.slow
def test_check_on_a_local_cluster_prints_the_dashboard_and_gives_the_same_ranks(tmp_path):
    make_project(tmp_path, 1)
    args = ["check", "q0", "--only", "sbc", "--sims", "4", "--quick", "--seed", "5", "--as-of", AS_OF, "--root", str(tmp_path), "--json"]
    here = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "here")])
    there = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "there"), "--workers", "2"])
    assert here.exit_code == there.exit_code and there.exit_code in (0, 7), there.output
    stderr = " ".join(there.stderr.split())
    assert "running on the Dask cluster at tcp://127.0.0.1:" in stderr and ": 2 workers, 2 threads; Dask dashboard: http://127.0.0.1:" in stderr
    assert "Dask" not in here.stderr  # no option: in this process
    tables = [json.loads(res.stdout)["checks"][0]["table"] for res in (here, there)]
    assert tables[0] == tables[1] and len(tables[0]) == 5  # baseline, effect, volatility, start level, headline

    def ranks(folder):
        lines = [json.loads(x) for x in next(folder.glob("sbc-*.jsonl")).read_text().splitlines()]
        return {r["index"]: r["rank"] for r in lines if "index" in r}

    assert ranks(tmp_path / "here") == ranks(tmp_path / "there") and len(ranks(tmp_path / "here")) == 4


@pytest.mark.slow
def test_influence_refits_on_the_cluster_give_the_refits_made_here(cluster):
    import pandas as pd

    from forecast.analysis.influence import evidence_influence

    from .test_influence import OUTLIER, small_fit

    q, result = small_fit()
    here = evidence_influence(result, q, max_refits=3)
    with connect(scheduler=cluster.address) as c:
        there = evidence_influence(result, q, max_refits=3, client=c)
    assert OUTLIER in set(here.loc[here["method"] == "refit", "id"])  # the outlier's k is above 1: refitted
    pd.testing.assert_frame_equal(here, there, check_exact=True)


@pytest.mark.slow
def test_one_update_with_a_client_fits_on_the_cluster_and_a_worker_error_is_raised_as_its_message(cluster, sequential, tmp_path):
    import forecast
    from forecast.core.cluster import TaskError

    seq_root, _, _ = sequential
    make_project(tmp_path, 2, broken=True)
    with connect(scheduler=cluster.address) as c:
        c.run(break_fits)
        outcome = forecast.update("q1", as_of=AS_OF, root=tmp_path, client=c)
        with pytest.raises(TaskError, match=f"^{BROKEN_MESSAGE}$") as caught:
            forecast.update(BROKEN, as_of=AS_OF, root=tmp_path, client=c)
    assert caught.value.error == "RuntimeError"
    assert outcome.status == "succeeded" and outcome.result.idata["posterior"]["log_rate"].size > 0
    rows = ledger_rows(tmp_path)
    assert [(r["question"], r["status"]) for r in rows] == [("q1", "succeeded"), (BROKEN, "failed")]
    assert rows[1]["error"] == f"RuntimeError: {BROKEN_MESSAGE}"
    assert_same_runs([r for r in ledger_rows(seq_root) if r["question"] == "q1"], rows[:1])
