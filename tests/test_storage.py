"""Stored run files: small, verified, unique per ledger, cleaned up, pruned on request.

One tiny project (one indicator, two evidence items, 2 chains x 200 draws, the scheduler tests'
files) is fitted once per module (``fitted``); a test copies its files, ledger and run files into
its own folder (``workspace``). Tests that need more runs replace the fit by the module's result
(sampling is not under test there), as the scheduler tests do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from forecast.cli import app
from forecast.inference import store
from forecast.inference.question import Question
from forecast.inference.result import FitResult
from forecast.runs import update as runner
from forecast.runs.ledger import ARTEFACT_COLUMNS, SCHEMA, Ledger

from .test_scheduler import AS_OF, DEPLOY, QID, WORKFLOW, flat, forecast_invocations, recipe_texts, write_project


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """The tiny project with one recorded update (run 1)."""
    root = tmp_path_factory.mktemp("storage")
    write_project(root)
    ledger = root / "runs" / "ledger.sqlite"
    outcome = runner.update(QID, as_of=AS_OF, root=root, ledger_path=ledger)
    assert outcome.status == "succeeded" and outcome.run_id == 1
    return {"root": root, "ledger": ledger, "outcome": outcome, "result": outcome.result}


class Workspace:
    """A private copy of the fitted project: files, ledger and run files."""

    def __init__(self, fitted, folder: Path):
        self.root = folder
        for part in ("models", "evidence"):
            shutil.copytree(fitted["root"] / part, folder / part)
        self.ledger_path = folder / "runs" / "ledger.sqlite"
        self.ledger_path.parent.mkdir(parents=True)
        with closing(sqlite3.connect(fitted["ledger"])) as src, closing(sqlite3.connect(self.ledger_path)) as dst:
            src.backup(dst)
        source = Ledger(fitted["ledger"]).artefact_root
        shutil.copytree(source, self.ledger_path.parent / source.name)
        self.result = fitted["result"]

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.ledger_path)

    def update(self, **kw):
        return runner.update(QID, as_of=AS_OF, root=self.root, ledger_path=self.ledger_path, **kw)

    def cli(self, *args, ledger: Path | None = None):
        return CliRunner().invoke(app, [*args, "--root", str(self.root), "--ledger", str(ledger or self.ledger_path)])

    def reuse_fit(self, monkeypatch) -> None:
        """Every fit returns the module's result (no sampling)."""
        monkeypatch.setattr(Question, "fit", lambda q, *a, **k: self.result)

    def forbid_fit(self, monkeypatch) -> None:
        def fit(q, *a, **k):
            raise AssertionError("the update sampled")

        monkeypatch.setattr(Question, "fit", fit)


@pytest.fixture
def workspace(fitted, tmp_path) -> Workspace:
    return Workspace(fitted, tmp_path / "project")


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def values(tree, group, var) -> np.ndarray:
    return np.asarray(tree[group][var].values, dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# size and precision


def test_bitround_keeps_the_stated_number_of_significant_bits():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=10_000) * 10.0 ** rng.integers(-8, 8, 10_000), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    for keep in (10, 16):
        y = store.bitround(x, keep)
        assert y.dtype == np.float32
        finite = np.isfinite(x) & (x != 0)
        ref = x[finite].astype(np.float32).astype(np.float64)
        assert np.all(np.abs(y[finite] - ref) <= 2.0 ** -(keep + 1) * np.abs(ref))
        assert not np.any(y[finite].view(np.uint32) & np.uint32((1 << (23 - keep)) - 1))  # dropped bits are zero
        np.testing.assert_array_equal(y[~finite], x[~finite].astype(np.float32))
    assert np.all(store.bitround(x, 23)[np.isfinite(x)] == x[np.isfinite(x)].astype(np.float32))


def test_a_stored_run_is_small_and_reloads_to_the_precision_stored(fitted, tmp_path):
    from forecast.analysis.influence import item_log_likelihood, leave_one_out_means
    from forecast.analysis.scenarios import Intervention
    from forecast.reports.drivers import drivers_table
    from forecast.reports.prior_posterior import prior_posterior_table

    original = fitted["result"]
    row = Ledger(fitted["ledger"]).get(1)
    stored = Path(row["posterior_path"])
    full = tmp_path / "full.nc"
    original.idata.to_netcdf(full, engine="netcdf4")  # the tree as it was written before (float64, uncompressed)
    # at this size the file's fixed part (attrs, netCDF metadata) weighs; at the default settings the
    # stored file is about 1/20 of the full tree (benchmarks/bench_storage.py)
    assert stored.stat().st_size < full.stat().st_size / 3, (stored.stat().st_size, full.stat().st_size)
    with xr.open_datatree(stored, engine="netcdf4") as raw:
        info = json.loads(raw.attrs[store.ATTR_STORAGE])
        assert "level" not in raw["posterior"].data_vars and "log_rate" not in raw["posterior"].data_vars
        assert raw["posterior"]["innovation"].encoding["dtype"].kind == "i"
    assert set(info["recomputed"]["posterior"]) == set(store.DETERMINISTIC)
    assert info["recomputed"]["log_likelihood"] == ["event_count"]

    loaded = store.load_result(row)
    tree, orig = loaded.idata, original.idata
    assert store.ATTR_STORAGE not in tree.attrs
    # the headline, intervals and curve
    pd.testing.assert_frame_equal(loaded.summary(), original.summary(), rtol=1e-5)
    pd.testing.assert_frame_equal(loaded.curve(), original.curve(), rtol=1e-5)
    assert loaded.headline_sentence() == original.headline_sentence()
    np.testing.assert_allclose(values(tree, "posterior", "p_event_by"), values(orig, "posterior", "p_event_by"), rtol=2**-23, atol=0)
    np.testing.assert_allclose(values(tree, "posterior", "p_event_curve"), values(orig, "posterior", "p_event_curve"), rtol=2**-17, atol=0)
    # every variable of the fit is back, float64, with the fit's dims
    for group in orig.children:
        want = set(orig[group].data_vars) - set(store.WALL_CLOCK)
        if group == "prior":
            want -= {"innovation", "level", "level_now", "log_rate"}  # the prior's paths are not stored
        assert want <= set(tree[group].data_vars), group
        for var in want:
            assert tree[group][var].dims == orig[group][var].dims, (group, var)
            if orig[group][var].dtype.kind == "f":
                assert tree[group][var].dtype == np.float64
    # free parameters to 16 significant bits; the levels within volatility x step / 2 of the fitted ones
    for var in ("baseline_probability", "level_start", "volatility", "effect_size"):
        np.testing.assert_allclose(values(tree, "posterior", var), values(orig, "posterior", var), rtol=2**-17, atol=0)
    step = store.INNOVATION_STEP
    bound = values(tree, "posterior", "volatility")[..., None] * step / 2
    level_error = np.abs(values(tree, "posterior", "level") - values(orig, "posterior", "level"))
    assert np.all(level_error <= bound * (1 + 1e-9) + 1e-12) and level_error.max() > 0
    assert np.abs(values(tree, "posterior", "innovation") - values(orig, "posterior", "innovation")).max() <= step * (1 + 1e-6)
    effect = values(tree, "posterior", "effect")
    # plus the rounding of the baseline and the effect sizes (16 bits: below 1e-4 here)
    eta_bound = (np.abs(effect)[..., None] * bound).sum(axis=2) + 1e-4
    assert np.all(np.abs(values(tree, "posterior", "log_rate") - values(orig, "posterior", "log_rate")) <= eta_bound)
    np.testing.assert_array_equal(values(tree, "posterior", "level_now"), values(tree, "posterior", "level")[..., -1])
    # the model's own graph on the stored free parameters gives the recomputed as-of log rate
    np.testing.assert_allclose(Intervention(loaded).log_rate_now({}), values(tree, "posterior", "log_rate")[..., -1], rtol=1e-9)
    # the pointwise log-likelihood (ArviZ's LOO reads it)
    np.testing.assert_allclose(values(tree, "log_likelihood", "evidence"), values(orig, "log_likelihood", "evidence"), rtol=2**-17, atol=0)
    count = np.abs(values(tree, "log_likelihood", "event_count") - values(orig, "log_likelihood", "event_count"))
    assert np.all(count <= np.abs(values(orig, "log_likelihood", "event_count")) * (np.exp(eta_bound) - 1) + 1e-12)
    # what the brief and influence read
    np.testing.assert_allclose(item_log_likelihood(loaded).values, item_log_likelihood(original).values, rtol=2**-17)
    pd.testing.assert_frame_equal(leave_one_out_means(loaded), leave_one_out_means(original), rtol=1e-4, atol=1e-6)
    drivers, before = (drivers_table(r).set_index("indicator") for r in (loaded, original))
    level_bound = float(bound.max())
    push_bound = float((np.abs(effect) * bound[..., 0]).max()) + 1e-6
    for prefix, atol in (("effect", 1e-4), ("level", level_bound), ("push", push_bound)):
        cols = [c for c in before if c.startswith(f"{prefix}_")]
        pd.testing.assert_frame_equal(drivers[cols], before[cols], atol=atol, rtol=0)
    assert np.all(np.abs(drivers["p_toward"] - before["p_toward"]) <= 0.02)
    pd.testing.assert_frame_equal(prior_posterior_table(loaded), prior_posterior_table(original), rtol=1e-4)
    assert {"diverging", "energy", "tree_depth"} <= set(tree["sample_stats"].data_vars)
    assert loaded.diagnostics.to_dict(table=True) == original.diagnostics.to_dict(table=True)


def test_a_quantity_the_model_no_longer_reproduces_is_stored_as_it_is(fitted, tmp_path):
    """Dropping a deterministic quantity rests on recomputing it: where that fails, it is kept."""
    tree = fitted["result"].idata.copy(deep=True)
    post = tree["posterior"].to_dataset()
    post["log_rate"] = post["log_rate"] + 0.25  # as if the model's log rate had changed
    tree["posterior"] = xr.DataTree(post)
    written, encoding = store.encode_tree(tree)
    info = json.loads(written.attrs[store.ATTR_STORAGE])
    assert "log_rate" not in info["recomputed"]["posterior"] and "level" in info["recomputed"]["posterior"]
    assert "event_count" not in info["recomputed"].get("log_likelihood", [])  # it reads the fitted log rate
    path = tmp_path / "changed.nc"
    written.to_netcdf(path, engine="netcdf4", encoding=encoding)
    back = store.load_tree(path)
    np.testing.assert_allclose(values(back, "posterior", "log_rate"), values(tree, "posterior", "log_rate"), rtol=2**-17)
    np.testing.assert_allclose(values(back, "log_likelihood", "event_count"), values(tree, "log_likelihood", "event_count"), rtol=2**-17)


def test_a_file_of_the_earlier_format_still_loads(fitted, tmp_path):
    original = fitted["result"]
    old = tmp_path / "old.nc"
    original.idata.to_netcdf(old, engine="netcdf4")
    loaded = FitResult.from_tree(store.load_tree(old))
    pd.testing.assert_frame_equal(loaded.summary(), original.summary(), check_exact=True)
    np.testing.assert_array_equal(values(loaded.idata, "posterior", "level"), values(original.idata, "posterior", "level"))


# --------------------------------------------------------------------------------------------------
# checksums


def damage(path: Path, seed: int = 0) -> None:
    """100 KB of random bytes written into the middle of the file (as far as it reaches)."""
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    noise = np.random.default_rng(seed).integers(0, 256, 100_000, dtype=np.uint8).tobytes()
    data[start:start + len(noise)] = noise
    path.write_bytes(bytes(data))


def test_a_damaged_posterior_is_refused_by_every_reader(workspace, monkeypatch):
    ws = workspace
    row = ws.ledger.get(1)
    post = Path(row["posterior_path"])
    damage(post)
    with pytest.raises(store.ArtefactError) as info:
        store.load_result(row)
    message = str(info.value)
    for part in (str(post), "run 1 of tiny", "damaged", "recorded", f"forecast update tiny --as-of {AS_OF} --force"):
        assert part in message, part

    res = ws.cli("brief", QID, "--out", str(ws.root / "briefs"))
    assert res.exit_code == 1, res.output
    assert str(post) in flat(res.stderr) and "run 1 of tiny" in flat(res.stderr) and "damaged" in flat(res.stderr)
    assert not (ws.root / "briefs").exists()

    res = ws.cli("show", QID, "--run", "1")
    assert res.exit_code == 1 and "damaged" in flat(res.stderr) and str(post) in flat(res.stderr)
    assert json.loads(res.stdout)["artefacts"] == {"posterior": "damaged", "summary": "verified"}

    # the next update's change report reads the previous posterior: it says why there is no attribution
    ws.reuse_fit(monkeypatch)
    evidence = ws.root / "evidence" / "items.yaml"
    evidence.write_text(evidence.read_text().replace("    value: 1.5\n", "    value: 0.5\n"))
    outcome = ws.update()
    changes = ws.ledger.get(outcome.run_id)["changes"]
    assert outcome.status == "succeeded" and changes["attribution"] == []
    assert "damaged" in changes["attribution_error"] and str(post) in changes["attribution_error"]

    # a single changed byte is caught as well; a missing file is named as missing
    good = ws.ledger.get(outcome.run_id)
    path = Path(good["posterior_path"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(store.ArtefactError, match="damaged"):
        store.load_result(good)
    path.unlink()
    with pytest.raises(store.ArtefactError, match=r"is missing .*restore it from a backup"):
        store.load_result(good)
    res = ws.cli("show", QID, "--run", str(good["id"]))
    assert res.exit_code == 1 and json.loads(res.stdout)["artefacts"]["posterior"] == "missing"


def test_replay_recomputes_a_stored_point_whose_file_is_damaged(workspace):
    from forecast.runs.replay import replay

    ws = workspace
    kw = dict(root=ws.root, ledger_path=ws.ledger_path, draws=100, tune=100, progress=False)
    # the month of the recorded update: a replay point of its own (kind "replay") on the same compiled model
    first = replay(QID, "2024-12", "2024-12", **kw).iloc[0]
    assert first["method"] == "nuts" and int(first["run_id"]) != 1  # not the update (run 1)
    again = replay(QID, "2024-12", "2024-12", **kw).iloc[0]
    assert (again["method"], again["run_id"]) == ("stored", first["run_id"])
    point = ws.ledger.get(int(first["run_id"]))  # a replay point keeps no latent paths: its log rate is stored
    loaded = store.load_result(point)
    assert "level" not in loaded.idata["posterior"].data_vars and "log_rate" in loaded.idata["posterior"].data_vars
    assert loaded.summary().set_index("horizon").loc[loaded.headline, "mean"] == pytest.approx(point["headline_mean"], rel=1e-6)
    damage(Path(ws.ledger.get(int(first["run_id"]))["posterior_path"]))
    redone = replay(QID, "2024-12", "2024-12", **kw).iloc[0]
    assert redone["method"] == "nuts" and redone["run_id"] != first["run_id"]
    assert "recomputed" in redone["why"] and "damaged" in redone["why"]
    assert redone["headline_mean"] == pytest.approx(first["headline_mean"], rel=1e-6)  # same seed, same numbers
    # a pruned point is reused from its numbers in the ledger (its files were deleted on purpose)
    assert ws.ledger.mark_pruned([int(redone["run_id"])]) == [int(redone["run_id"])]
    reused = replay(QID, "2024-12", "2024-12", **kw).iloc[0]
    assert (reused["method"], reused["run_id"]) == ("stored", redone["run_id"])


# --------------------------------------------------------------------------------------------------
# paths


def test_two_ledgers_in_one_folder_keep_their_own_files_and_relative_paths_resolve_anywhere(workspace, monkeypatch, tmp_path):
    ws = workspace
    ws.reuse_fit(monkeypatch)
    monkeypatch.chdir(ws.root)
    runs = {}
    for name in ("a", "b"):
        res = CliRunner().invoke(app, ["update", QID, "--as-of", AS_OF, "--root", ".", "--ledger", f"shared/{name}.sqlite", "--json"])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads(res.stdout)["run_id"]
        if name == "a":
            a_files = {p: sha(p) for p in (Path(Ledger(ws.root / "shared/a.sqlite").get(runs["a"])[k]) for k in ("posterior_path", "summary_path"))}
    assert runs == {"a": 1, "b": 1}
    rows = {name: Ledger(ws.root / f"shared/{name}.sqlite").get(1) for name in ("a", "b")}
    assert rows["a"]["posterior_path"] != rows["b"]["posterior_path"]
    assert {p: sha(p) for p in a_files} == a_files  # b's run did not overwrite a's files
    with closing(sqlite3.connect(ws.root / "shared" / "a.sqlite")) as con:
        raw = con.execute("SELECT posterior_path FROM runs WHERE id = 1").fetchone()[0]
    assert not Path(raw).is_absolute() and raw.startswith("a.sqlite.artefacts-")  # relative to the ledger's folder

    # from another working directory, and after the whole folder moved
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for name in ("a", "b"):
        row = Ledger(ws.root / "shared" / f"{name}.sqlite").get(1)
        assert Path(row["posterior_path"]).is_absolute() and store.verify_artefact(row) and store.verify_artefact(row, "summary")
    moved = tmp_path / "moved"
    shutil.move(ws.root / "shared", moved)
    row = Ledger(moved / "a.sqlite").get(1)
    assert Path(row["posterior_path"]).parent.parent.parent == moved
    assert store.load_result(row).headline_sentence() == ws.result.headline_sentence()
    res = CliRunner().invoke(app, ["show", QID, "--run", "1", "--root", str(ws.root), "--ledger", str(moved / "b.sqlite")])
    assert res.exit_code == 0 and json.loads(res.stdout)["artefacts"] == {"posterior": "verified", "summary": "verified"}


def test_a_ledger_from_before_checksums_is_migrated_in_place(fitted, tmp_path):
    folder = tmp_path / "old"
    (folder / QID).mkdir(parents=True)
    source = Ledger(fitted["ledger"]).get(1)
    with closing(sqlite3.connect(folder / "ledger.sqlite")) as con, con:
        con.executescript(SCHEMA.split("CREATE TABLE IF NOT EXISTS meta")[0])  # the tables of the first release
        for run in (1, 2):
            for key, suffix in (("posterior_path", ".nc"), ("summary_path", ".json")):
                shutil.copyfile(source[key], folder / QID / f"run-{run:06d}{suffix}")
            # run 1 as the default ledger stored it (absolute); run 2 as a relative --ledger did
            # (relative to the working directory of that run)
            paths = [str(folder / QID / f"run-000001{s}") for s in (".nc", ".json")] if run == 1 else [f"rel/{QID}/run-000002{s}" for s in (".nc", ".json")]
            con.execute("INSERT INTO runs (question, as_of, kind, status, started_at, headline_mean, posterior_path, summary_path) "
                        "VALUES (?, ?, 'update', 'succeeded', '2025-01-01T00:00:00+00:00', 0.1, ?, ?)", (QID, AS_OF, *paths))
    ledger = Ledger(folder / "ledger.sqlite")
    with closing(sqlite3.connect(folder / "ledger.sqlite")) as con:
        columns = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
    assert {name for name, _ in ARTEFACT_COLUMNS} <= columns and len(ledger.ledger_id) == 8
    rows = [ledger.get(1), ledger.get(2)]
    assert [r["headline_mean"] for r in rows] == [0.1, 0.1] and all(r["posterior_sha256"] is None for r in rows)
    assert rows[1]["posterior_path"] == str(folder / QID / "run-000002.nc")  # found in the ledger's folder
    assert store.load_result(rows[0]).headline_sentence() == fitted["result"].headline_sentence()  # no checksum to check
    assert Ledger(folder / "ledger.sqlite").ledger_id == ledger.ledger_id  # drawn once
    result = ledger.prune(QID, keep=0)
    assert result.pruned == [1] and not (folder / QID / "run-000001.nc").exists() and (folder / QID / "run-000002.nc").exists()


# --------------------------------------------------------------------------------------------------
# clean-up


def test_files_no_succeeded_run_references_are_deleted_at_recovery(workspace, monkeypatch):
    ws = workspace
    ledger = ws.ledger
    good = ledger.get(1)
    folder = ledger.artefact_dir(QID)
    # what a run killed after renaming its files into place, before it was recorded, leaves
    orphan = ledger.start(QID, dt.date.fromisoformat(AS_OF), "update", 1, {}, "x")
    left = [folder / f"run-{orphan:06d}.nc", folder / f"run-{orphan:06d}.json", folder / f".run-{orphan:06d}.json.ab12cd.tmp"]
    shutil.copyfile(good["posterior_path"], left[0])
    shutil.copyfile(good["summary_path"], left[1])
    left[2].write_text("half")
    # files forecast did not write, and another ledger's files, stay
    notes = folder / "notes.txt"
    notes.write_text("mine")
    other = Ledger(ws.ledger_path.parent / "other.sqlite").artefact_dir(QID) / "run-000001.nc"
    other.parent.mkdir(parents=True)
    shutil.copyfile(good["posterior_path"], other)
    before = {k: sha(good[k]) for k in ("posterior_path", "summary_path")}

    ws.forbid_fit(monkeypatch)
    outcome = ws.update()
    assert (outcome.status, outcome.run_id) == ("up-to-date", 1)
    assert ledger.get(orphan)["status"] == "failed"
    assert not any(p.exists() for p in left)
    assert notes.exists() and other.exists()
    assert {k: sha(good[k]) for k in before} == before

    # a run that fails after writing its files removes them at once
    ws.reuse_fit(monkeypatch)

    def refuse(self, run_id, record):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Ledger, "succeed", refuse)
    with pytest.raises(sqlite3.OperationalError):
        ws.update(force=True)
    failed = ledger.history(QID).iloc[-1]
    assert failed["status"] == "failed" and "disk I/O error" in failed["error"]
    assert sorted(p.name for p in folder.iterdir()) == sorted([Path(good["posterior_path"]).name, Path(good["summary_path"]).name, "notes.txt"])


def test_update_output_writes_the_stored_files_also_when_up_to_date(workspace, monkeypatch):
    ws = workspace
    ws.forbid_fit(monkeypatch)
    out = ws.root / "out"
    res = ws.cli("update", QID, "--as-of", AS_OF, "--output", str(out))
    assert res.exit_code == 0 and "up to date, run 1" in res.stdout, res.output
    row = ws.ledger.get(1)
    copies = {p.suffix: p for p in out.iterdir()}
    assert set(copies) == {".nc", ".json"} and all(p.name.startswith(f"{QID}_{AS_OF}") for p in copies.values())
    assert sha(copies[".nc"]) == row["posterior_sha256"] and sha(copies[".json"]) == row["summary_sha256"]
    # a damaged stored file is not copied: the message names it and the run
    damage(Path(row["summary_path"]))
    shutil.rmtree(out)
    res = ws.cli("update", QID, "--as-of", AS_OF, "--output", str(out), "--json")
    assert res.exit_code == 1 and row["summary_path"] in flat(res.stderr) and "run 1 of tiny" in flat(res.stderr)
    assert json.loads(res.stdout)["status"] == "failed"
    assert not out.exists() or not any(out.iterdir())


# --------------------------------------------------------------------------------------------------
# retention


def test_prune_keeps_the_newest_runs_and_the_last_good_update(workspace, monkeypatch):
    ws = workspace
    ws.reuse_fit(monkeypatch)
    for kind in ("update", "update", "update", "replay", "replay"):  # runs 2-6; the last update is run 4
        assert ws.update(force=True, kind=kind).status == "succeeded"
    ledger = ws.ledger
    rows = {r["id"]: r for r in ledger.history(QID).to_dict(orient="records")}
    files = {i: [Path(rows[i]["posterior_path"]), Path(rows[i]["summary_path"])] for i in rows}
    assert ledger.protected_runs(QID) == {4}

    res = ws.cli("prune", QID, "--keep", "1", "--dry-run")
    assert res.exit_code == 0 and "would delete the files of 4 run(s) (1-3, 5)" in flat(res.stdout), res.output
    assert all(p.exists() for ps in files.values() for p in ps) and ledger.get(1)["pruned_at"] is None

    sizes = sum(p.stat().st_size for i in (1, 2, 3, 5) for p in files[i])
    res = ws.cli("prune", QID, "--keep", "1", "--json")
    assert res.exit_code == 0, res.output
    line = json.loads(res.stdout)
    assert line["pruned"] == [1, 2, 3, 5] and line["freed_bytes"] == sizes and line["left"] == []
    for i in (1, 2, 3, 5):
        assert not any(p.exists() for p in files[i]) and ledger.get(i)["pruned_at"] and ledger.get(i)["status"] == "succeeded"
    for i in (4, 6):
        assert ledger.get(i)["pruned_at"] is None and store.verify_artefact(ledger.get(i)) and store.verify_artefact(ledger.get(i), "summary")
    assert sorted(line["deleted"]) == sorted(str(p) for i in (1, 2, 3, 5) for p in files[i])
    # the numbers stay in the ledger; reading a pruned run's files says so
    assert ledger.history(QID)["headline_mean"].notna().all()
    with pytest.raises(store.ArtefactError, match=r"run 2 of tiny: its files were pruned on .*forecast show tiny --run 2"):
        store.load_result(ledger.get(2))
    res = ws.cli("show", QID, "--run", "2")
    assert res.exit_code == 0 and json.loads(res.stdout)["artefacts"] == {"posterior": "pruned", "summary": "pruned"}
    res = ws.cli("brief", QID, "--run", "2", "--out", str(ws.root / "brief"))
    assert res.exit_code == 1 and "pruned" in flat(res.stderr)

    # update --keep prunes after the update; the last good update is kept even with --keep 0
    ws.forbid_fit(monkeypatch)
    res = ws.cli("update", QID, "--as-of", AS_OF, "--keep", "0")
    assert res.exit_code == 0 and "up to date, run 4" in flat(res.stdout) and "pruned the files of 1 older run(s): 6" in flat(res.stdout), res.output
    assert ledger.get(6)["pruned_at"] and ledger.get(4)["pruned_at"] is None
    res = ws.cli("prune", "--all", "--keep", "0")
    assert res.exit_code == 0 and "tiny: nothing to prune" in flat(res.stdout)
    assert sorted(p.name for p in ledger.artefact_dir(QID).iterdir()) == ["run-000004.json", "run-000004.nc"]


@pytest.mark.parametrize("args", [["--keep", "-1"], ["--keep", "two"], []])
def test_prune_refuses_a_bad_keep(workspace, args):
    res = workspace.cli("prune", QID, *args)
    assert res.exit_code == 2 and "--keep" in flat(res.output)
    assert all(p.exists() for p in workspace.ledger.artefact_dir(QID).iterdir())


def test_prune_needs_a_question_or_all(workspace):
    for args in ([], [QID, "--all"]):
        res = workspace.cli("prune", *args, "--keep", "3")
        assert res.exit_code == 2 and "give a QUESTION or --all" in flat(res.stderr)


def test_every_recipe_keeps_a_bounded_number_of_run_files():
    texts = recipe_texts()
    updates = {name: [a for a in forecast_invocations(text) if a and a[0] == "update"] for name, text in texts.items()}
    for name in ("crontab", "forecast-update.service", WORKFLOW.name):
        assert updates[name], name
        for args in updates[name]:
            assert "--keep" in args, f"{name}: forecast {' '.join(args)}"
            assert int(args[args.index("--keep") + 1]) >= 1
    # nothing deletes run files behind the ledger's back (a reader would call them missing)
    for name, text in texts.items():
        assert not re.search(r"-delete\b|\brm\s", text), name
    guide = (DEPLOY / "README.md").read_text()
    assert "--keep" in guide and "forecast prune" in guide and "-mtime" not in guide
