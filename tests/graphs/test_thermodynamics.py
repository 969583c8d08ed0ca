"""Tests of graphs.thermodynamic_integration: beta f = -ln q + int_0^beta u dbeta' from Monte
Carlo energies (Binder & Heermann, Monte Carlo Simulation in Statistical Physics, §2.3.4),
against exact enumeration of log Z (graphs.exact) and the closed form of an open Ising chain,
Z = 2 (2 cosh beta J)^(N - 1) (Baxter, Exactly Solved Models, §2.1)."""

import math

import networkx as nx
import numpy as np
import pytest
import sympy as sp

import graphs
from derive import PairwiseModel
from numerics import InputError

si, sj = sp.symbols("s_i s_j", real=True)
J, h, mu = sp.symbols("J h mu", real=True)
ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
BETAS = np.linspace(0.05, 1.0, 20)


def _disordered_graph(seed=3):
    """A random 3-regular graph on 10 nodes, J ~ U(-1, 1.5) per edge, h ~ U(-0.5, 0.5)."""
    rng = np.random.default_rng(seed)
    G = nx.random_regular_graph(3, 10, seed=seed)
    for u, v in G.edges():
        G.edges[u, v]["J"] = float(rng.uniform(-1.0, 1.5))
    for v in G:
        G.nodes[v]["h"] = float(rng.uniform(-0.5, 0.5))
    return G


@pytest.fixture(scope="module")
def disordered():
    G = _disordered_graph()
    r = graphs.thermodynamic_integration(ISING, G, BETAS, sweeps=4000, seed=5)
    exact = np.array([-graphs.exact(ISING, G, b).log_z / 10 for b in BETAS])
    return r, exact


def test_agrees_with_exact_enumeration_within_its_error(disordered):
    """4 standard errors (statistical; the 20 runs are independent, each error a batch mean over
    20 blocks of 160 sweeps) plus twice the Richardson estimate of the discretisation error
    (an estimate of the leading term, not a bound)."""
    r, exact = disordered
    assert r.converged, r.message
    assert np.all(np.abs(r.beta_f - exact) <= 4 * r.statistical + 2 * r.discretisation)


def test_error_parts_are_resolved_and_small(disordered):
    r, _ = disordered
    assert np.all(r.statistical > 0) and np.all(np.diff(r.statistical) >= 0)  # accumulates
    assert np.all(r.discretisation >= 0) and r.discretisation[-1] > 0
    assert r.error[-1] < 0.01
    assert r.free_energy == pytest.approx(r.beta_f / BETAS)
    d = r.to_dict()
    assert d["runs"] == BETAS.size and len(d["free_energy"]) == BETAS.size and d["seed"] == 5


def test_open_chain_closed_form():
    """Open chain of N = 12 spins, J = 1, h = 0: beta f = -[ln 2 + (N-1) ln(2 cosh beta)] / N."""
    N = 12
    r = graphs.thermodynamic_integration(
        ISING, nx.path_graph(N), BETAS, {"J": 1.0, "h": 0.0}, sweeps=4000, seed=2
    )
    exact = -(math.log(2) + (N - 1) * np.log(2 * np.cosh(BETAS))) / N
    assert r.energy0 == 0.0 and r.beta_f0 == pytest.approx(-math.log(2))
    assert np.all(np.abs(r.beta_f - exact) <= 4 * r.statistical + 2 * r.discretisation)


def test_uniform_energy_of_a_lattice_gas():
    """s in {0, 1}, e = -J s s', phi = -mu s: at beta = 0, E[s s'] = 1/4 and E[s] = 1/2, so
    u0 = (-J |E| / 4 - mu N / 2) / N (computed here by hand)."""
    gas = PairwiseModel((0, 1), -J * si * sj, -mu * si, variables=(si, sj))
    G = nx.cycle_graph(6)
    u0 = graphs.uniform_energy(gas, G, {"J": 2.0, "mu": 0.4})
    assert u0 == pytest.approx((-2.0 * 6 / 4 - 0.4 * 6 / 2) / 6)


def test_same_seed_same_result():
    G = nx.cycle_graph(8)
    kw = dict(params={"J": 1.0, "h": 0.1}, sweeps=200, seed=9)
    a = graphs.thermodynamic_integration(ISING, G, BETAS[:5], **kw)
    b = graphs.thermodynamic_integration(ISING, G, BETAS[:5], **kw)
    assert np.array_equal(a.beta_f, b.beta_f)


@pytest.mark.parametrize(
    "betas, match",
    [
        ([0.5, 0.2], "increasing"),
        ([0.0, 0.5], "increasing"),
        ([0.1], "at least 2"),
        ([0.1, math.nan], "finite"),
    ],
)
def test_bad_grid(betas, match):
    with pytest.raises(InputError, match=match):
        graphs.thermodynamic_integration(ISING, nx.cycle_graph(4), betas, {"J": 1.0, "h": 0.0})
