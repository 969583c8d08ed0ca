"""``MonteCarloResult.mean_abs_magnetization``: the finite-size order parameter of a Monte
Carlo run against exact enumeration."""

import itertools

import networkx as nx
import numpy as np
import sympy as sp

import graphs
from derive import PairwiseModel

si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))


def exact_mean_abs_m(G, beta, coupling):
    """<|sum_i s_i| / N> over the Boltzmann law of the Ising model on ``G``, all 2^N states."""
    nodes = list(G)
    index = {v: k for k, v in enumerate(nodes)}
    states = np.array(list(itertools.product((-1, 1), repeat=len(nodes))))
    energy = -coupling * sum(states[:, index[u]] * states[:, index[v]] for u, v in G.edges())
    weight = np.exp(-beta * (energy - energy.min()))
    return float(weight @ np.abs(states.mean(axis=1)) / weight.sum())


def test_mean_abs_magnetization_matches_enumeration_on_the_petersen_graph():
    """Petersen graph (10 spins, 3-regular like the recipe's graphs; odd degree: no
    zero-energy flips), J = 1, h = 0, beta = 0.45: the signed magnetisation averages to 0,
    |m| does not. 40 000 sweeps in 20 blocks (1 600 sweeps each, far longer than the
    correlation time of 10 spins): within 5 batch-means standard errors."""
    G = nx.petersen_graph()
    mc = graphs.monte_carlo(
        ISING, G, 0.45, {"J": 1.0, "h": 0.0}, sweeps=40_000, burn_in=8_000, n_blocks=20, seed=3
    )
    m, err = mc.mean_abs_magnetization()
    assert abs(m - exact_mean_abs_m(G, 0.45, 1.0)) < 5 * err


def exact_mean_energy(G, beta, coupling):
    """<E> of the Ising model on ``G`` by enumeration of all 2^N states."""
    nodes = list(G)
    index = {v: k for k, v in enumerate(nodes)}
    states = np.array(list(itertools.product((-1, 1), repeat=len(nodes))))
    energy = -coupling * sum(states[:, index[u]] * states[:, index[v]] for u, v in G.edges())
    weight = np.exp(-beta * (energy - energy.min()))
    return float(weight @ energy / weight.sum())


def test_metropolis_is_ergodic_with_zero_energy_flips():
    """The 8-ring (degree 2: a spin between unequal neighbours flips at zero energy cost),
    J = 1, beta = 0.6. An in-order Metropolis scan that always accepts those flips sampled
    <E> = -3.47 against the exact -4.37 (Boltzmann weight by enumeration); the random scan
    must agree. 20 000 sweeps after burn-in in 20 blocks of 1 000 sweeps (the correlation
    time of 8 spins is a few sweeps): within 5 batch-means standard errors of the mean."""
    G = nx.cycle_graph(8)
    mc = graphs.monte_carlo(
        ISING, G, 0.6, {"J": 1.0, "h": 0.0}, sweeps=24_000, burn_in=4_000, n_blocks=20, seed=5
    )
    blocks = mc.energy[4_000:].reshape(20, -1).mean(axis=1)
    err = blocks.std(ddof=1) / np.sqrt(20)
    assert abs(blocks.mean() - exact_mean_energy(G, 0.6, 1.0)) < 5 * err
