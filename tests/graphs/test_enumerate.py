"""Tests of graphs._enumerate: exact enumeration against a brute force."""

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphs._enumerate import enumerate_states, exact_tables

SETTINGS = settings(deadline=None, max_examples=30)
RTOL = 1e-10


def brute_force(field_table, pair_table, edges, beta):
    """log Z, marginals and <E> by listing configurations with itertools."""
    n, q = field_table.shape
    configs = np.array(list(itertools.product(range(q), repeat=n)), dtype=np.int64)
    energy = field_table[np.arange(n), configs].sum(axis=1)
    for k, (u, v) in enumerate(edges):
        energy = energy + pair_table[k, configs[:, u], configs[:, v]]
    w = -beta * energy
    top = w.max()
    weights = np.exp(w - top)
    z = weights.sum()
    log_z = top + np.log(z)
    prob = weights / z
    node = np.zeros((n, q))
    for i in range(n):
        np.add.at(node[i], configs[:, i], prob)
    pair = np.zeros((len(edges), q, q))
    for k, (u, v) in enumerate(edges):
        np.add.at(pair[k], (configs[:, u], configs[:, v]), prob)
    return log_z, node, pair, float(prob @ energy)


def assert_matches(result, expected, rtol=RTOL):
    log_z, node, pair, mean_energy = result
    e_log_z, e_node, e_pair, e_energy = expected
    np.testing.assert_allclose(log_z, e_log_z, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(node, e_node, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(pair, e_pair, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(mean_energy, e_energy, rtol=rtol, atol=1e-12)


@st.composite
def small_models(draw, allow_odd_edges=False):
    n = draw(st.integers(1, 7))
    q = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if allow_odd_edges:
        # Arbitrary pairs: duplicates and u == v exercise the kernel's
        # generality (the graph layer never produces them).
        m = draw(st.integers(0, 12))
        edges = rng.integers(0, n, size=(m, 2))
    else:
        p = draw(st.floats(0.0, 1.0))
        G = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31)))
        edges = np.array(list(G.edges()), dtype=np.int64).reshape(-1, 2)
    scale = draw(st.floats(0.1, 3.0))
    field = scale * rng.normal(size=(n, q))
    pair = scale * rng.normal(size=(len(edges), q, q))
    beta = draw(st.floats(-2.0, 3.0))
    return field, pair, edges.astype(np.int64), beta


@SETTINGS
@given(small_models())
def test_matches_brute_force(model):
    assert_matches(exact_tables(*model), brute_force(*model))


@SETTINGS
@given(small_models(allow_odd_edges=True))
def test_matches_brute_force_with_repeated_and_loop_edges(model):
    assert_matches(exact_tables(*model), brute_force(*model))


@SETTINGS
@given(small_models())
def test_marginals_are_normalised_and_consistent(model):
    _, node, pair, _ = exact_tables(*model)
    np.testing.assert_allclose(node.sum(axis=1), 1.0, rtol=1e-12)
    edges = model[2]
    for k, (u, v) in enumerate(edges):
        np.testing.assert_allclose(pair[k].sum(axis=1), node[u], rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(pair[k].sum(axis=0), node[v], rtol=1e-10, atol=1e-300)


def test_njit_kernel_matches_wrapper():
    rng = np.random.default_rng(0)
    edges = np.array([[0, 1], [1, 2], [2, 0]], dtype=np.int64)
    field = rng.normal(size=(3, 3))
    pair = rng.normal(size=(3, 3, 3))
    direct = enumerate_states(field, pair, edges, 0.7)
    assert_matches(direct, exact_tables(field, pair, edges, 0.7), rtol=0)


def ising_tables(G, J, h):
    """Ising model with spins -1, +1 as states 0, 1: E = -sum J s s - sum h s."""
    spin = np.array([-1.0, 1.0])
    edges = np.array(list(G.edges()), dtype=np.int64).reshape(-1, 2)
    field = -np.outer(h, spin)
    pair = -J[:, None, None] * np.outer(spin, spin)[None]
    return field, pair, edges


@pytest.mark.parametrize("beta", [50.0, 200.0, -200.0])
def test_large_beta_is_finite_and_exact(beta):
    rng = np.random.default_rng(1)
    G = nx.gnp_random_graph(12, 0.4, seed=5)
    J = rng.normal(size=G.number_of_edges())
    h = 0.3 * rng.normal(size=12)
    model = (*ising_tables(G, J, h), beta)
    result = exact_tables(*model)
    assert np.isfinite(result[0]) and np.isfinite(result[3])
    assert np.all(np.isfinite(result[1])) and np.all(np.isfinite(result[2]))
    assert_matches(result, brute_force(*model))


def test_twenty_spins_at_beta_50():
    """2**20 states at beta = 50: ground state dominates, nothing overflows."""
    rng = np.random.default_rng(2)
    n = 20
    G = nx.random_regular_graph(3, n, seed=4)
    J = rng.normal(size=G.number_of_edges())
    h = 0.1 * rng.normal(size=n)
    field, pair, edges = ising_tables(G, J, h)
    log_z, node, pair_m, mean_energy = exact_tables(field, pair, edges, 50.0)

    # Vectorised brute force over all 2**20 configurations.
    configs = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    energy = field[np.arange(n), configs].sum(axis=1)
    for k, (u, v) in enumerate(edges):
        energy += pair[k, configs[:, u], configs[:, v]]
    w = -50.0 * energy
    top = w.max()
    weights = np.exp(w - top)
    z = weights.sum()
    prob = weights / z
    np.testing.assert_allclose(log_z, top + np.log(z), rtol=1e-10)
    np.testing.assert_allclose(mean_energy, prob @ energy, rtol=1e-10)
    np.testing.assert_allclose(node[:, 1], prob @ configs, rtol=1e-9, atol=1e-300)
    ground = configs[np.argmin(energy)]
    assert np.array_equal(node.argmax(axis=1), ground)
    assert np.all(np.isfinite(pair_m))


def test_uniform_model_closed_form():
    """Zero energies: Z = q**n, uniform marginals, through many refreshes."""
    n, q = 9, 3
    edges = np.array(list(nx.cycle_graph(n).edges()), dtype=np.int64)
    log_z, node, pair, mean_energy = exact_tables(np.zeros((n, q)), np.zeros((n, q, q)), edges, 1.3)
    assert log_z == pytest.approx(n * np.log(q), rel=1e-13)
    np.testing.assert_allclose(node, 1.0 / q, rtol=1e-12)
    np.testing.assert_allclose(pair, 1.0 / q**2, rtol=1e-12)
    assert mean_energy == 0.0


def test_free_spins_closed_form():
    """Independent Ising spins in fields: log Z = sum log 2 cosh(beta h)."""
    h = np.linspace(-1.0, 1.5, 14)
    field = -np.outer(h, [-1.0, 1.0])
    beta = 0.8
    log_z, node, _, mean_energy = exact_tables(
        field, np.zeros((0, 2, 2)), np.zeros((0, 2), dtype=np.int64), beta
    )
    assert log_z == pytest.approx(np.sum(np.log(2 * np.cosh(beta * h))), rel=1e-12)
    np.testing.assert_allclose(node[:, 1] - node[:, 0], np.tanh(beta * h), rtol=1e-11)
    assert mean_energy == pytest.approx(-np.sum(h * np.tanh(beta * h)), rel=1e-11)


def test_size_refusal_message():
    with pytest.raises(
        ValueError,
        match=(
            r"exact enumeration needs q\*\*n = 2\*\*30 states; the limit is "
            r"max_states = 16777216 \(2\*\*24\): use a smaller graph or "
            r"Monte Carlo / belief propagation"
        ),
    ):
        exact_tables(np.zeros((30, 2)), np.zeros((0, 2, 2)), np.zeros((0, 2), dtype=np.int64), 1.0)
    with pytest.raises(ValueError, match=r"q\*\*n = 3\*\*5 states; the limit is max_states = 100:"):
        exact_tables(np.zeros((5, 3)), np.zeros((0, 3, 3)), [], 1.0, max_states=100)


def test_at_the_limit_runs():
    result = exact_tables(np.zeros((4, 2)), np.zeros((0, 2, 2)), [], 1.0, max_states=16)
    assert result[0] == pytest.approx(4 * np.log(2))


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros(3), np.zeros((0, 2, 2)), [], 1.0), r"field_table must have shape \(n, q\)"),
        (
            (np.zeros((3, 2)), np.zeros((1, 3, 3)), [[0, 1]], 1.0),
            r"pair_table must have shape .* \(1, 2, 2\)",
        ),
        (
            (np.zeros((3, 2)), np.zeros((1, 2, 2)), [[0, 3]], 1.0),
            r"edge \(0, 3\) has an endpoint outside range\(3\)",
        ),
        ((np.zeros((3, 2)), np.zeros((1, 2, 2)), [[0.0, 1.0]], 1.0), "edges must hold integers"),
        (
            (np.zeros((3, 2)), np.zeros((1, 2, 2)), [0, 1], 1.0),
            r"edges must have shape \(\|E\|, 2\)",
        ),
        (
            (np.full((3, 2), np.inf), np.zeros((0, 2, 2)), [], 1.0),
            r"field_table\[0, 0\] = .*inf.* is not finite",
        ),
        (
            (np.zeros((3, 2)), np.full((1, 2, 2), np.nan), [[0, 1]], 1.0),
            r"pair_table\[0, 0, 0\] = .*nan",
        ),
        ((np.zeros((3, 2)), np.zeros((0, 2, 2)), [], np.inf), "beta must be finite"),
        ((np.zeros((3, 2)), np.zeros((0, 2, 2)), [], "hot"), "beta must be a real number"),
        (
            (np.array([["a", "b"]]), np.zeros((0, 2, 2)), [], 1.0),
            "field_table must hold real numbers",
        ),
    ],
    ids=[
        "field-ndim",
        "pair-shape",
        "edge-range",
        "edge-dtype",
        "edge-shape",
        "inf-field",
        "nan-pair",
        "inf-beta",
        "str-beta",
        "str-field",
    ],
)
def test_validation_errors(args, match):
    with pytest.raises(ValueError, match=match):
        exact_tables(*args)
