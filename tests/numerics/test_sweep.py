"""``numerics.sweep``: identical results on every executor, resumable, failures recorded.

The oracle for reproducibility is the serial run: the child seed of a point depends only on
the root seed and the point's position (numpy SeedSequence spawn keys), so every executor
must give the same table, value for value.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sweep_tasks import fails_at_two, noisy_square

import numerics
from derive import InputError
from numerics import sweep

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GRID = {"x": [0.5, 1.0, 2.0], "scale": [1, 3]}


@pytest.fixture(scope="module")
def serial():
    return sweep(noisy_square, GRID, seed=11)


def test_the_grid_is_the_product_in_order(serial):
    assert [(row["x"], row["scale"]) for row in serial.table] == [
        (0.5, 1),
        (0.5, 3),
        (1.0, 1),
        (1.0, 3),
        (2.0, 1),
        (2.0, 3),
    ]
    assert serial.column("y").tolist() == [0.25, 0.75, 1.0, 3.0, 4.0, 12.0]
    assert serial.converged and serial.computed == 6


def test_zip_mode_pairs_the_values():
    res = sweep(noisy_square, {"x": [1.0, 2.0], "scale": [10, 20]}, seed=0, mode="zip")
    assert res.column("y").tolist() == [10.0, 80.0]


def test_points_get_distinct_seeds_from_one_root(serial):
    noise = serial.column("noise")
    assert len(set(noise.tolist())) == len(noise)
    again = sweep(noisy_square, GRID, seed=11)
    assert again.table == serial.table
    other = sweep(noisy_square, GRID, seed=12)
    assert other.column("noise").tolist() != noise.tolist()


def test_two_local_processes_give_the_serial_table(serial):
    assert sweep(noisy_square, GRID, seed=11, executor=2).table == serial.table


def test_a_thread_pool_and_a_map_like_callable_give_the_serial_table(serial):
    with ThreadPoolExecutor(3) as pool:
        assert sweep(noisy_square, GRID, seed=11, executor=pool).table == serial.table
    assert sweep(noisy_square, GRID, seed=11, executor=map).table == serial.table


def test_a_dask_local_cluster_gives_the_serial_table(serial, monkeypatch):
    distributed = pytest.importorskip("distributed", reason="the test extra installs distributed")
    # the workers are new processes: they import the task module from this folder
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(ROOT)]))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        res = sweep(noisy_square, GRID, seed=11, executor=client.get_executor())
    assert res.table == serial.table


def test_a_failing_point_is_recorded_and_the_others_complete():
    res = sweep(fails_at_two, {"x": [1, 2, 3]}, seed=0)
    assert not res.converged
    assert [row["y"] for row in res.table if row["error"] is None] == [1, 3]
    assert res.failed[0]["x"] == 2
    assert res.failed[0]["error"] == "ValueError: x = 2 is not allowed"


def test_a_result_object_and_a_number_are_rows_too():
    res = sweep(lambda x: x + 1, {"x": [1, 2]})
    assert res.column("value").tolist() == [2, 3]


SCRIPT = """
import json, os, sys, time
sys.path.insert(0, {root!r})
import numerics

def slow(x, seed):
    if os.environ.get("SLOW"):
        time.sleep(0.2)
    with open(os.environ["LOG"], "a") as fh:
        fh.write(f"{{x}}\\n")
    return {{"y": 2 * x, "seed_seen": seed % 1000}}

res = numerics.sweep(slow, {{"x": list(range(12))}}, seed=5, checkpoint=sys.argv[1])
print(json.dumps({{"table": res.table, "computed": res.computed}}))
"""


def test_a_killed_sweep_resumes_with_only_the_missing_points(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(SCRIPT.format(root=str(ROOT))))
    ckpt, log = tmp_path / "run.jsonl", tmp_path / "log.txt"
    env = dict(os.environ, SLOW="1", LOG=str(log))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ckpt)], env=env, stdout=subprocess.PIPE
    )
    deadline = time.time() + 60
    while time.time() < deadline:  # wait for the header and four finished points
        if ckpt.exists() and len(ckpt.read_text().splitlines()) >= 5:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(ckpt.read_text().splitlines()) - 1
    assert 4 <= finished < 12
    log.write_text("")
    env.pop("SLOW")
    resumed = subprocess.run(
        [sys.executable, str(script), str(ckpt)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    resumed = json.loads(resumed.stdout)
    assert resumed["computed"] == 12 - finished
    assert len(log.read_text().split()) == 12 - finished  # nothing finished is recomputed
    whole = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "fresh.jsonl")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert resumed["table"] == json.loads(whole.stdout)["table"]


def test_a_checkpoint_of_another_grid_is_refused(tmp_path):
    ckpt = tmp_path / "a.jsonl"
    sweep(noisy_square, GRID, seed=1, checkpoint=ckpt)
    with pytest.raises(InputError, match="another sweep"):
        sweep(noisy_square, {"x": [9.0], "scale": [1]}, seed=1, checkpoint=ckpt)
    with pytest.raises(InputError, match="seed 1, not 2"):
        sweep(noisy_square, GRID, seed=2, checkpoint=ckpt)


def test_rerunning_a_complete_checkpoint_computes_nothing(tmp_path):
    ckpt = tmp_path / "a.jsonl"
    first = sweep(noisy_square, GRID, seed=1, checkpoint=ckpt)
    second = sweep(noisy_square, GRID, checkpoint=ckpt)  # the seed comes from the file
    assert second.computed == 0 and second.table == first.table


def test_sweep_defaults_give_executor_and_checkpoint_directory(tmp_path, serial):
    with numerics.sweep_defaults(executor=2, checkpoint_dir=tmp_path):
        res = sweep(noisy_square, GRID, seed=11, name="squares")
    assert res.table == serial.table
    assert (tmp_path / "squares.jsonl").exists()


def test_progress_is_drawn_when_asked(capsys):
    sweep(noisy_square, GRID, seed=0, progress=True, name="bar")
    err = capsys.readouterr().err
    assert "bar [" in err and "6/6" in err


@pytest.mark.parametrize(
    "grid, kwargs, match",
    [
        ({}, {}, "grid is empty"),
        ({"x": []}, {}, "has no values"),
        ({"x": [1, 2], "scale": [1]}, {"mode": "zip"}, "equal lengths"),
        ({"x": [1]}, {"mode": "diagonal"}, "mode must be"),
        ({"x": [1], "scale": [1]}, {"executor": 0}, ">= 1"),
        ({"x": [1], "scale": [1]}, {"seed": -1}, "non-negative"),
        ({"x": [1], "scale": [1]}, {"checkpoint": "/no/such/dir/c.jsonl"}, "no such directory"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(grid, kwargs, match):
    with pytest.raises(InputError, match=match):
        sweep(noisy_square, grid, **kwargs)


def test_a_lambda_cannot_go_to_worker_processes():
    with pytest.raises(InputError, match="not picklable"):
        sweep(lambda x: x, {"x": [1, 2]}, executor=2)


def test_a_partial_task_resumes_across_processes(tmp_path):
    # the checkpoint names a partial by its function and bound values, never by an address
    import functools

    task = functools.partial(noisy_square, scale=2)
    ckpt = tmp_path / "p.jsonl"
    first = sweep(task, {"x": [1.0, 2.0]}, seed=3, checkpoint=ckpt, executor=2)
    again = sweep(functools.partial(noisy_square, scale=2), {"x": [1.0, 2.0]}, checkpoint=ckpt)
    assert again.computed == 0 and again.table == first.table
    assert "0x" not in ckpt.read_text().splitlines()[0]


def test_sweep_defaults_keep_one_pool_for_the_block(serial):
    # two sweeps in one block run on the same worker processes (started once)
    module = sys.modules["numerics.sweep"]  # the module, not the function of that name
    with numerics.sweep_defaults(executor=2):
        first = sweep(noisy_square, GRID, seed=11)
        pool = module._DEFAULTS[-1]["executor"].get()
        second = sweep(noisy_square, GRID, seed=11)
        assert module._DEFAULTS[-1]["executor"].get() is pool
    assert first.table == serial.table and second.table == serial.table
