"""Tasks run the same in this process, on a local Dask cluster and on a real scheduler + workers."""

from __future__ import annotations

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
