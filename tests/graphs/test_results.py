"""Graph results follow the project's result protocol (issue 10 §3).

Every graph solver returns a ``numerics.Result`` (Monte Carlo: a
``numerics.SimulationResult`` with its seed), takes ``strict=``, reports
non-convergence as ``converged=False`` with a message (or raises
``numerics.ConvergenceError`` when ``strict=True``), and its ``to_dict()`` is JSON.
"""

import json

import networkx as nx
import numpy as np
import pytest
import sympy as sp

import graphs
import numerics
from derive import PairwiseModel

si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
PARAMS = {"J": 1.0, "h": 0.1}
G = nx.cycle_graph(6)

# Settings under which each iterative solver cannot meet its stopping rule: one
# iteration of BP / mean-field cannot reach tol = 1e-14 from a random start, and a
# 40-sweep Monte Carlo run has error bars far wider than 1e-9.
NOT_CONVERGING = {
    "belief_propagation": lambda strict: graphs.belief_propagation(
        ISING, G, 0.5, PARAMS, max_iter=1, tol=1e-14, seed=1, strict=strict
    ),
    "meanfield": lambda strict: graphs.meanfield(
        ISING, G, 0.5, PARAMS, max_iter=1, tol=1e-14, seed=1, strict=strict
    ),
    "meanfield-sequential": lambda strict: graphs.meanfield(
        ISING, G, 0.5, PARAMS, max_iter=1, tol=1e-14, seed=1, schedule="sequential", strict=strict
    ),
    "monte_carlo": lambda strict: graphs.monte_carlo(
        ISING, G, 0.5, PARAMS, sweeps=40, n_blocks=4, tol=1e-9, seed=1, strict=strict
    ),
}

RUNS = {
    "exact": lambda: graphs.exact(ISING, G, 0.5, PARAMS),
    "belief_propagation": lambda: graphs.belief_propagation(ISING, G, 0.5, PARAMS, seed=1),
    "meanfield": lambda: graphs.meanfield(ISING, G, 0.5, PARAMS, seed=1),
    "monte_carlo": lambda: graphs.monte_carlo(ISING, G, 0.5, PARAMS, sweeps=60, seed=1),
}


@pytest.mark.parametrize("name", list(NOT_CONVERGING))
def test_non_convergence_is_reported(name):
    r = NOT_CONVERGING[name](strict=False)
    assert r.converged is False
    assert "tol" in r.message


@pytest.mark.parametrize("name", list(NOT_CONVERGING))
def test_non_convergence_raises_when_strict(name):
    with pytest.raises(numerics.ConvergenceError) as info:
        NOT_CONVERGING[name](strict=True)
    assert info.value.result.converged is False


@pytest.mark.parametrize("name", list(RUNS))
def test_result_protocol(name):
    r = RUNS[name]()
    assert isinstance(r, numerics.Result)
    assert isinstance(r, graphs.results.GraphResult)
    assert r.converged is True
    assert r.message
    assert type(r).__name__ + "(converged=True" in repr(r)


@pytest.mark.parametrize("name", list(RUNS))
def test_to_dict_is_json(name):
    r = RUNS[name]()
    d = json.loads(json.dumps(r.to_dict()))
    assert d["converged"] is True
    assert np.allclose(d["marginals"], r.marginals)


def test_exact_strict_returns_the_result():
    # Enumeration does not iterate: nothing to fail to converge on a finite model.
    assert graphs.exact(ISING, G, 0.5, PARAMS, strict=True).converged is True


def test_monte_carlo_is_a_simulation_with_its_seed():
    r = graphs.monte_carlo(ISING, G, 0.5, PARAMS, sweeps=60, seed=7)
    assert isinstance(r, numerics.SimulationResult)
    assert r.seed == 7


def test_monte_carlo_without_seed_records_one_that_reproduces_it():
    first = graphs.monte_carlo(ISING, G, 0.5, PARAMS, sweeps=60)
    again = graphs.monte_carlo(ISING, G, 0.5, PARAMS, sweeps=60, seed=first.seed)
    np.testing.assert_array_equal(first.energy, again.energy)


def test_monte_carlo_takes_a_generator():
    a = graphs.monte_carlo(ISING, G, 0.5, PARAMS, sweeps=60, seed=np.random.default_rng(5))
    b = graphs.monte_carlo(ISING, G, 0.5, PARAMS, sweeps=60, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.energy, b.energy)
    assert a.seed == np.random.default_rng(5).bit_generator.state  # the state it started from


def test_monte_carlo_leaves_numpy_global_state_alone():
    np.random.seed(11)
    before = np.random.get_state()[1].copy()
    graphs.monte_carlo(ISING, G, 0.5, PARAMS, sweeps=60, seed=3)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
