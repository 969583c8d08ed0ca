"""The sweeps of the recipe ``bp-random-graphs``: its task functions give the same numbers
serially and on two worker processes (seeds depend only on the grid positions), and a
checkpoint resumes them. One or two cheap points per task; the whole recipe on two workers
is too slow for the suite (its full quick run is checked in tests/cookbooks/test_recipes.py).
"""

import functools
import json

import numpy as np
import pytest

import numerics
from cookbooks import bp_random_graphs as recipe
from cookbooks.ising_meanfield import ising_model

MODEL = ising_model()


def _numbers(res):
    """A sweep's table without the per-run timing."""
    return json.dumps(res.table, sort_keys=True)


@pytest.fixture(scope="module")
def tasks():
    """Small instances of the recipe's sweep tasks, with their grids (one or two points)."""
    return {
        "ferromagnet-bp": (
            functools.partial(recipe._ferro_bp_point, MODEL, 60, 7, 2_000),
            {"T": [2.5, 1.2]},
        ),
        "spin-glass": (
            functools.partial(
                recipe._spin_glass_point, MODEL, 60, 7, np.random.SeedSequence(8), 2, 200
            ),
            {"T": [1.5, 0.6]},
        ),
        "exactness": (
            functools.partial(recipe._exact_point, MODEL, (0.5,)),
            {"graph": ["tree-8", "grid-4x4"]},
        ),
        "ferromagnet-monte-carlo": (
            functools.partial(recipe._ferro_monte_carlo, MODEL, 40, 7, (0.2, 0.5), 200, 50, 4),
            {"instance": [0, 1]},
        ),
    }


@pytest.mark.parametrize(
    "name", ["ferromagnet-bp", "spin-glass", "exactness", "ferromagnet-monte-carlo"]
)
def test_recipe_task_gives_the_serial_numbers_on_two_processes(tasks, name):
    """numerics.sweep seeds point k from (seed, k) alone: two worker processes reproduce the
    serial table exactly (JSON text compared)."""
    task, grid = tasks[name]
    serial = numerics.sweep(task, grid, seed=3)
    parallel = numerics.sweep(task, grid, seed=3, executor=2)
    assert serial.converged and parallel.converged
    assert _numbers(parallel) == _numbers(serial)


def test_at_line_task_gives_the_serial_numbers_on_two_processes():
    """The AT-line task (population dynamics, then BP on a ±J graph), one field, a tiny
    population: the same numbers serially and on two processes."""
    betas = tuple(float(b) for b in np.geomspace(1.0, 4.0, 4))
    population = dict(size=100, equilibration=5, generations=5, runs=2)
    graph = (7, np.random.SeedSequence(8))
    task = functools.partial(recipe._at_point, MODEL, betas, population, 60, graph, 50)
    serial = numerics.sweep(task, {"h": [0.3]}, seed=3)
    parallel = numerics.sweep(task, {"h": [0.3]}, seed=3, executor=2)
    assert serial.converged
    assert _numbers(parallel) == _numbers(serial)


def test_a_rerun_with_the_checkpoint_computes_nothing(tasks, tmp_path):
    """Named sweeps stream to <checkpoint_dir>/<name>.jsonl: a rerun in the same directory
    reads every point back and computes none, with the same table."""
    task, grid = tasks["ferromagnet-bp"]
    with numerics.sweep_defaults(checkpoint_dir=tmp_path):
        first = numerics.sweep(task, grid, seed=3, name="bp-random-graphs-ferromagnet-bp")
        again = numerics.sweep(task, grid, seed=3, name="bp-random-graphs-ferromagnet-bp")
    assert (tmp_path / "bp-random-graphs-ferromagnet-bp.jsonl").exists()
    assert first.computed == 2 and again.computed == 0
    assert _numbers(again) == _numbers(first)
