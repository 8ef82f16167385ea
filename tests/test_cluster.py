"""Tasks run the same in this process, on a local Dask cluster and on a real scheduler + workers."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from forecast.core.cluster import ClusterError, TaskFailure, connect, map_tasks

from .dask_cluster import dask_cluster


def seeded_draw(task: tuple[int, int]) -> float:
    """A task whose result depends only on its own seed (like an SBC simulation)."""
    seed, index = task
    return float(np.random.default_rng([seed, index]).standard_normal(1000).mean())


def fails_on_three(i: int) -> int:
    if i == 3:
        raise ValueError(f"bad input in task {i}: write 2024-06-15")
    return i * i


def slow_square(i: int) -> int:
    time.sleep(0.4)
    return i * i


def test_in_process_when_no_cluster_is_asked_for(monkeypatch):
    monkeypatch.delenv("FORECAST_SCHEDULER", raising=False)
    with connect() as client:
        assert client is None
        ticks = []
        out = map_tasks(seeded_draw, [(7, i) for i in range(5)], client, progress=lambda d, t: ticks.append((d, t)))
    assert out == [seeded_draw((7, i)) for i in range(5)]
    assert ticks == [(i, 5) for i in range(1, 6)]


def test_a_failing_task_comes_back_as_its_message_and_the_others_finish():
    out = map_tasks(fails_on_three, range(6))
    assert out[3] == TaskFailure(3, "ValueError", "bad input in task 3: write 2024-06-15")
    assert [o for i, o in enumerate(out) if i != 3] == [0, 1, 4, 16, 25]


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ClusterError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        with connect(scheduler="tcp://127.0.0.1:9", timeout=2):
            pass


def test_workers_below_one_are_refused():
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        with connect(workers=0):
            pass


@pytest.mark.slow
def test_scheduler_and_workers_give_the_sequential_numbers_and_survive_a_killed_worker(monkeypatch):
    tasks = [(11, i) for i in range(40)]
    sequential = map_tasks(seeded_draw, tasks)
    with dask_cluster(2) as cluster:
        # the address from the environment, as `forecast ... ` reads $FORECAST_SCHEDULER
        monkeypatch.setenv("FORECAST_SCHEDULER", cluster.address)
        with connect() as client:
            assert len(client.scheduler_info()["workers"]) == 2
            on_cluster = map_tasks(seeded_draw, tasks, client)
            assert on_cluster == sequential  # bit for bit: seeds come from the task, not the worker
            failures = map_tasks(fails_on_three, range(6), client)
            assert failures[3] == TaskFailure(3, "ValueError", "bad input in task 3: write 2024-06-15")
            assert failures[:3] == [0, 1, 4]

            # kill one worker while 12 slow tasks run: every task still returns, each recorded once
            recorded: list[int] = []
            done = []

            def progress(d, t):
                done.append(d)
                if d == 2:
                    cluster.kill_worker(0)

            out = map_tasks(slow_square, range(12), client, progress=progress, on_result=lambda i, r: recorded.append(i))
            assert out == [i * i for i in range(12)]
            assert sorted(recorded) == list(range(12))
            assert done[-1] == 12


@pytest.mark.parametrize("address, says", [("tcp://127.0.0.1:notaport", "invalid literal"), ("http://127.0.0.1:8787", "unknown scheme http://"),
                                           ("tcp://scheduler-host", "missing port")])
def test_a_malformed_address_is_refused_at_once(address, says):
    """No connection is tried (a malformed address made Dask wait for its whole timeout, then print a traceback)."""
    import time

    t0 = time.monotonic()
    with pytest.raises(ClusterError, match=re.escape(f"{address!r} is not a Dask scheduler address")) as err:
        with connect(scheduler=address, timeout=30):
            pass
    assert says in str(err.value) and "tcp://10.0.0.5:8786" in str(err.value)
    assert time.monotonic() - t0 < 5  # not the 30 s timeout


@pytest.mark.parametrize("value", ["abc", "", "-1s", "inf"])
def test_a_bad_dask_timeout_setting_names_the_setting(value):
    import dask
    import distributed  # noqa: F401

    with dask.config.set({"distributed.comm.timeouts.connect": value}):
        with pytest.raises(ClusterError, match=r"distributed\.comm\.timeouts\.connect is .*not a duration.*DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"):
            with connect(scheduler="tcp://127.0.0.1:9"):
                pass
    with dask.config.set({"distributed.comm.timeouts.connect": "1500ms"}):
        from forecast.core.cluster import connect_timeout

        assert connect_timeout() == 1.5
