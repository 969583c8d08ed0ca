"""Tests of graphs.exact, graphs.monte_carlo and graphs.meanfield against oracles.

Oracles: brute-force enumeration written here (itertools.product, energies from
the model's sympy expressions), the exact Curie-Weiss law (a sum over the total
magnetisation with binomial weights), the mean-field equations written here with
numpy, and the Weiss single-site equation.
"""

import itertools
import math

import networkx as nx
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.special import gammaln

import derive
import graphs
import numerics
from derive import InputError, ModelError, PairwiseModel

si, sj = sp.symbols("s_i s_j", real=True)
J, K, h, D = sp.symbols("J K h D", real=True)
R = sp.Rational

ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
SPIN1 = PairwiseModel((-1, 0, 1), -J * si * sj, -h * si + D * si**2, variables=(si, sj))

# Alphabets of size 2-3 with one energy form: a fixed menu keeps compilation to one kernel
# per alphabet (compile is memoised by the equations' content).
ALPHABETS = [(-1, 1), (0, 1), (-1, 0, 1), (0, 1, 2), (R(-1, 2), R(1, 2), R(3, 2))]
_MODELS = {}


def generic_model(alphabet):
    if alphabet not in _MODELS:
        _MODELS[alphabet] = PairwiseModel(
            alphabet, -J * si * sj + K * si**2 * sj**2, -h * si + D * si**2, variables=(si, sj)
        )
    return _MODELS[alphabet]


def numeric_energies(model):
    """``e(a, b, **edge)`` and ``phi(a, **node)`` as plain Python, from the model's sympy."""
    x, y = model.variables
    pair = sp.lambdify((x, y, *model.edge_params), model.pair_energy, "math")
    field = sp.lambdify((x, *model.node_params), model.field_energy, "math")
    return pair, field


def lookup(attrs, params, names):
    return [attrs.get(n, params.get(n)) for n in names]


def brute_force(model, G, beta, params):
    """log Z, marginals (list(G) order), E[s_u s_v] (list(G.edges()) order), <E>."""
    pair, field = numeric_energies(model)
    nodes, edges = list(G), list(G.edges())
    index = {v: i for i, v in enumerate(nodes)}
    node_args = [lookup(G.nodes[v], params, [p.name for p in model.node_params]) for v in nodes]
    edge_args = [
        lookup(G.edges[u, v], params, [p.name for p in model.edge_params]) for u, v in edges
    ]
    values = [float(a) for a in model.alphabet]
    q, n = len(values), len(nodes)
    configs = list(itertools.product(range(q), repeat=n))
    energies = np.empty(len(configs))
    for c, conf in enumerate(configs):
        s = [values[k] for k in conf]
        e = sum(field(s[i], *node_args[i]) for i in range(n))
        e += sum(pair(s[index[u]], s[index[v]], *edge_args[k]) for k, (u, v) in enumerate(edges))
        energies[c] = e
    w = -beta * energies
    top = w.max()
    p = np.exp(w - top)
    z = p.sum()
    p /= z
    log_z = top + math.log(z)
    conf = np.array(configs)
    marginals = np.array([[p[conf[:, i] == k].sum() for k in range(q)] for i in range(n)])
    vals = np.array(values)[conf]
    corr = np.array([p @ (vals[:, index[u]] * vals[:, index[v]]) for u, v in edges])
    return log_z, marginals, corr, float(p @ energies)


@st.composite
def small_graphs(draw):
    """2-6 nodes with string labels in a drawn order, a drawn edge set, and attributes
    on some nodes and edges (the others fall back to params)."""
    n = draw(st.integers(2, 6))
    order = draw(st.permutations(range(n)))
    G = nx.Graph()
    G.add_nodes_from(f"v{k}" for k in order)
    pairs = list(itertools.combinations(list(G), 2))
    chosen = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    G.add_edges_from(p for p, keep in zip(pairs, chosen) if keep)
    value = st.floats(-1.5, 1.5)
    for v in G:
        for name in ("h", "D"):
            if draw(st.booleans()):
                G.nodes[v][name] = draw(value)
    for u, v in G.edges():
        for name in ("J", "K"):
            if draw(st.booleans()):
                G.edges[u, v][name] = draw(value)
    params = {name: draw(value) for name in ("J", "K", "h", "D")}
    return G, params


@given(graph=small_graphs(), alphabet=st.sampled_from(ALPHABETS), beta=st.floats(0.1, 2.0))
def test_exact_matches_brute_force(graph, alphabet, beta):
    G, params = graph
    model = generic_model(alphabet)
    r = graphs.exact(model, G, beta, params=params)
    log_z, marginals, corr, energy = brute_force(model, G, beta, params)
    assert r.nodes == tuple(G) and r.edges == list(G.edges())
    # Both sides sum at most 3**6 = 729 float64 weights shifted by their maximum: relative
    # rounding ~1e-13; 1e-10 leaves room and still catches any misplaced parameter.
    assert r.log_z == pytest.approx(log_z, rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(r.marginals, marginals, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.pair_correlations, corr, rtol=1e-10, atol=1e-12)
    assert r.energy == pytest.approx(energy, rel=1e-10, abs=1e-10)
    assert r.free_energy == pytest.approx(-log_z / beta, rel=1e-10, abs=1e-10)


# --- Monte Carlo against exact enumeration --------------------------------------------------


def chorded_cycle(attributes=False):
    G = nx.cycle_graph(6)
    G.add_edge(0, 3)
    if attributes:  # some nodes and edges carry their own parameters
        G.nodes[1]["h"] = -0.4
        G.nodes[4]["D"] = 0.5
        G.edges[0, 3]["J"] = -0.5
    return G


MC_PARAMS = {"J": 0.8, "h": 0.2, "D": -0.3}
POTTS = PairwiseModel(
    range(3), -J * sp.KroneckerDelta(si, sj), -h * sp.KroneckerDelta(si, 0), variables=(si, sj)
)


@pytest.mark.parametrize(
    "model, method",
    [(SPIN1, "metropolis"), (SPIN1, "heat-bath"), (POTTS, "metropolis")],
    ids=["spin-1 metropolis", "spin-1 heat-bath", "potts metropolis"],
)
def test_monte_carlo_matches_exact(model, method):
    """Batch means: 20 blocks of 1600 sweeps, each far longer than the autocorrelation time
    of a 6-site chain at beta = 0.7 (a few sweeps), so the block averages are nearly
    independent and Gaussian; the estimated error has 19 degrees of freedom and
    P(|t_19| > 5) ~ 1e-4, so 18 marginals plus the energy fail by chance with probability
    ~2e-3 (and the seed is fixed). Parameters differ on some nodes and edges."""
    G, beta = chorded_cycle(attributes=True), 0.7
    params = {p.name: MC_PARAMS[p.name] for p in model.params}  # an unknown key is an error
    ex = graphs.exact(model, G, beta, params=params)
    mc = graphs.monte_carlo(
        model, G, beta, params=params, sweeps=40_000, burn_in=8_000, method=method, seed=12345
    )
    assert mc.marginals.shape == ex.marginals.shape == (6, 3)
    err = mc.marginals_error
    assert np.all(err > 0) and np.all(err < 0.02)  # error bars neither degenerate nor vacuous
    assert np.all(np.abs(mc.marginals - ex.marginals) < 5 * err)
    e, de = mc.mean_energy()
    assert 0 < de < 0.1
    assert abs(e - ex.energy) < 5 * de
    m_err = mc.magnetization_error
    assert np.all(np.abs(mc.magnetization - ex.magnetization) < 5 * m_err)
    # the check has power: the same 5-error criterion rejects the exact law at beta / 2
    other = graphs.exact(model, G, beta / 2, params=params)
    assert np.max(np.abs(mc.marginals - other.marginals) / err) > 5


def test_monte_carlo_energy_series_is_the_energy_of_the_configuration():
    """The running energy equals E(configuration) recomputed here at the end."""
    G = chorded_cycle()
    mc = graphs.monte_carlo(SPIN1, G, 0.7, params=MC_PARAMS, sweeps=300, seed=3)
    pair, field = numeric_energies(SPIN1)
    s = dict(zip(mc.nodes, mc.configuration))
    e = sum(field(s[v], MC_PARAMS["D"], MC_PARAMS["h"]) for v in G)
    e += sum(pair(s[u], s[v], MC_PARAMS["J"]) for u, v in G.edges())
    assert mc.energy[-1] == pytest.approx(e, abs=1e-9)  # 300 * 6 float updates of O(1)


def test_monte_carlo_is_reproducible():
    G = chorded_cycle()
    a = graphs.monte_carlo(SPIN1, G, 0.7, params=MC_PARAMS, sweeps=200, seed=7)
    b = graphs.monte_carlo(SPIN1, G, 0.7, params=MC_PARAMS, sweeps=200, seed=7)
    np.testing.assert_array_equal(a.energy, b.energy)
    np.testing.assert_array_equal(a.configuration, b.configuration)


# --- mean-field against Curie-Weiss --------------------------------------------------------


def curie_weiss_magnetization(N, beta, J_, h_):
    """Exact <M>/N on the complete graph: E = -J sum_{i<j} s_i s_j - h sum_i s_i
    = -(J/2)(M^2 - N) - h M, so P(M) ∝ C(N, (N+M)/2) exp(beta [(J/2)(M^2 - N) + h M])."""
    k = np.arange(N + 1)
    M = 2 * k - N
    logw = (
        gammaln(N + 1) - gammaln(k + 1) - gammaln(N - k + 1) + beta * (J_ / 2 * (M**2 - N) + h_ * M)
    )
    p = np.exp(logw - logw.max())
    return float(p @ M / p.sum() / N)


def test_curie_weiss_oracle_matches_exact_enumeration():
    N, beta = 10, 1.25
    r = graphs.exact(ISING, nx.complete_graph(N), beta, params={"J": 1 / N, "h": 0.1})
    np.testing.assert_allclose(
        r.magnetization, curie_weiss_magnetization(N, beta, 1 / N, 0.1), rtol=1e-10
    )


def test_meanfield_error_shrinks_on_the_complete_graph():
    """J = 1/N, beta = 1.25 (T = 0.8, ordered phase), h = 0.1: naive mean-field is exact as
    N -> infinity; at finite N its error against the exact law decreases with N
    (measured: 0.13, 0.03, 0.009, 0.004 at N = 16, 32, 64, 128)."""
    beta, h_ = 1.25, 0.1
    errors = []
    for N in (16, 32, 64, 128):
        r = graphs.meanfield(
            ISING,
            nx.complete_graph(N),
            beta,
            params={"J": 1 / N, "h": h_},
            init=np.full(N, 0.5),
            tol=1e-12,
        )
        assert r.converged
        m_mf = r.magnetization.mean()
        # the solution is homogeneous: m = tanh(beta ((N - 1)/N m + h))
        assert m_mf == pytest.approx(math.tanh(beta * ((N - 1) / N * m_mf + h_)), abs=1e-11)
        errors.append(abs(m_mf - curie_weiss_magnetization(N, beta, 1 / N, h_)))
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < errors[0] / 10


# --- mean-field schedules, Weiss, consistency ------------------------------------------------


def random_spin1_graph():
    G = nx.gnp_random_graph(12, 0.3, seed=4)
    rng = np.random.default_rng(4)
    for v in G:
        G.nodes[v]["h"] = rng.uniform(-1, 1)
    for u, v in G.edges():
        G.edges[u, v]["J"] = rng.uniform(-1, 1)
    return G


def meanfield_residual(model, G, beta, params, result):
    """max_i |q_i - Boltzmann(phi + sum_j sum_b q_j(b) e(., b))|, written here with numpy."""
    pair, field = numeric_energies(model)
    values = [float(a) for a in model.alphabet]
    q = {v: result.node_marginal(v) for v in G}
    worst = 0.0
    for v in G:
        node = lookup(G.nodes[v], params, [p.name for p in model.node_params])
        energy = np.array([field(a, *node) for a in values])
        for u in G[v]:
            edge = lookup(G.edges[u, v], params, [p.name for p in model.edge_params])
            energy += np.array(
                [sum(qb * pair(a, b, *edge) for qb, b in zip(q[u], values)) for a in values]
            )
        w = np.exp(-beta * (energy - energy.min()))
        worst = max(worst, float(np.max(np.abs(w / w.sum() - q[v]))))
    return worst


@given(
    graph=small_graphs(),
    alphabet=st.sampled_from(ALPHABETS),
    schedule=st.sampled_from(["parallel", "sequential"]),
)
def test_meanfield_solves_the_meanfield_equations(graph, alphabet, schedule):
    """Drawn graphs, alphabets (several fields: m and m2) and per-node/per-edge parameters:
    the converged state satisfies the mean-field equations written here with numpy."""
    G, params = graph
    model = generic_model(alphabet)
    r = graphs.meanfield(
        model, G, 0.2, params=params, schedule=schedule, tol=1e-13, max_iter=5000, seed=0
    )
    assume(r.converged)  # beta = 0.2 keeps most draws contracting; the rest say so
    # stop rule: max change < 1e-13 per iteration; the residual of q in [0, 1] follows
    assert meanfield_residual(model, G, 0.2, params, r) < 1e-10
    np.testing.assert_allclose(r.marginals.sum(axis=1), 1.0, atol=1e-14)


def test_parallel_and_sequential_reach_the_same_fixed_point():
    """beta = 0.4 with |J| < 1 on a sparse graph: the mean-field map is a contraction, so the
    fixed point is unique and both schedules must find it."""
    G, beta, params = random_spin1_graph(), 0.4, {"D": 0.2}
    par = graphs.meanfield(SPIN1, G, beta, params=params, schedule="parallel", tol=1e-12, seed=1)
    seq = graphs.meanfield(SPIN1, G, beta, params=params, schedule="sequential", tol=1e-12, seed=2)
    assert par.converged and seq.converged
    assert par.message.startswith("converged") and seq.message.startswith("converged")
    # stop rule: max change < 1e-12 with damping 0.5 and a contraction: distance ~1e-11
    np.testing.assert_allclose(par.state, seq.state, atol=1e-10)
    np.testing.assert_allclose(par.marginals, seq.marginals, atol=1e-10)
    assert meanfield_residual(SPIN1, G, beta, params, par) < 1e-10
    # the result's marginals are distributions and the iterated moment is their mean
    np.testing.assert_allclose(par.marginals.sum(axis=1), 1.0, atol=1e-14)
    assert np.all(par.marginals >= 0)
    np.testing.assert_allclose(par.state[:, 0], par.marginals @ par.alphabet, atol=1e-14)
    assert par.moments == ("m",)


def test_meanfield_residual_detects_a_wrong_state():
    """The oracle above is not vacuous: perturbing one node's marginal is seen."""
    G, beta, params = random_spin1_graph(), 0.4, {"D": 0.2}
    r = graphs.meanfield(SPIN1, G, beta, params=params, tol=1e-12, seed=1)
    r.marginals[0] = r.marginals[0][::-1]
    assert meanfield_residual(SPIN1, G, beta, params, r) > 1e-3


def test_random_regular_graph_gives_the_weiss_solution():
    """beta z J = 0.9 < 1: one fixed point, reached from a random start, homogeneous."""
    z, beta, params = 3, 0.3, {"J": 1.0, "h": 0.2}
    G = nx.random_regular_graph(z, 20, seed=5)
    r = graphs.meanfield(ISING, G, beta, params=params, seed=0, tol=1e-13)
    assert r.converged
    weiss = numerics.compile(derive.meanfield(ISING, degree=z))
    w = numerics.fixed_point(weiss, [0.0], params={"beta": beta, **params}, tol=1e-14, strict=True)
    np.testing.assert_allclose(r.state[:, 0], w.x[0], atol=1e-11)
    assert w.x[0] == pytest.approx(math.tanh(beta * (z * w.x[0] + 0.2)), abs=1e-13)


def test_meanfield_on_potts_is_consistent():
    G = chorded_cycle()
    potts = PairwiseModel(
        range(3), -J * sp.KroneckerDelta(si, sj), -h * sp.KroneckerDelta(si, 0), variables=(si, sj)
    )
    params = {"J": 0.7, "h": 0.3}
    r = graphs.meanfield(potts, G, 0.8, params=params, tol=1e-12, seed=0)
    assert r.converged and r.moments == ("p0", "p1", "p2")
    np.testing.assert_allclose(r.state, r.marginals, atol=1e-14)  # moments are the p_a
    assert meanfield_residual(potts, G, 0.8, params, r) < 1e-10


# --- bad input ------------------------------------------------------------------------------

SOLVERS = {
    "exact": lambda G, beta, **kw: graphs.exact(ISING, G, beta, **kw),
    "meanfield": lambda G, beta, **kw: graphs.meanfield(ISING, G, beta, **kw),
    "monte_carlo": lambda G, beta, **kw: graphs.monte_carlo(ISING, G, beta, sweeps=50, **kw),
}
OK = {"J": 1.0, "h": 0.0}


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize(
    "beta, message",
    [
        (0.0, "finite positive"),
        (-1.0, "finite positive"),
        (float("nan"), "finite positive"),
        (float("inf"), "finite positive"),
        ("hot", "positive number, got 'hot'"),
    ],
)
def test_bad_beta(solver, beta, message):
    with pytest.raises(ValueError, match=message):
        SOLVERS[solver](nx.path_graph(3), beta, params=OK)


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_missing_parameter(solver):
    with pytest.raises(ValueError, match=r"has no attribute 'J' and no default"):
        SOLVERS[solver](nx.path_graph(3), 1.0, params={"h": 0.0})


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_non_numeric_edge_attribute(solver):
    G = nx.path_graph(3)
    G.edges[1, 2]["J"] = "strong"
    with pytest.raises(ValueError, match=r"edge \(1, 2\) has attribute 'J' = 'strong'"):
        SOLVERS[solver](G, 1.0, params=OK)


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_self_loop(solver):
    G = nx.path_graph(3)
    G.add_edge(2, 2)
    with pytest.raises(ValueError, match="self-loop at node 2"):
        SOLVERS[solver](G, 1.0, params=OK)


def test_graph_too_large_for_exact():
    with pytest.raises(ValueError, match=r"25 nodes with 2 states needs q\*\*n = 2\*\*25"):
        graphs.exact(ISING, nx.path_graph(25), 1.0, params=OK)
    with pytest.raises(ValueError, match=r"q\*\*n = 3\*\*5 .* max_states = 100"):
        graphs.exact(SPIN1, nx.path_graph(5), 1.0, params={**OK, "D": 0.0}, max_states=100)


def test_init_of_wrong_shape():
    with pytest.raises(ValueError, match=r"init must have shape \(4, 1\)"):
        graphs.meanfield(ISING, nx.path_graph(4), 1.0, params=OK, init=np.zeros(3))
    with pytest.raises(ValueError, match="init contains NaN"):
        graphs.meanfield(ISING, nx.path_graph(4), 1.0, params=OK, init=[0, np.nan, 0, 0])
    with pytest.raises(ValueError, match="init must be 'random', 'zero-field'"):
        graphs.meanfield(ISING, nx.path_graph(4), 1.0, params=OK, init="ferro")
    with pytest.raises(ValueError, match=r"init must have one value per node \(4\)"):
        graphs.monte_carlo(ISING, nx.path_graph(4), 1.0, params=OK, init=[1, 1, 1])
    with pytest.raises(ValueError, match="init value 0.0 is not in the alphabet"):
        graphs.monte_carlo(ISING, nx.path_graph(4), 1.0, params=OK, init=[1, 0, 1, 1])


def test_unknown_method_and_schedule():
    with pytest.raises(ValueError, match="method must be one of .*'gibbs'"):
        graphs.monte_carlo(ISING, nx.path_graph(3), 1.0, params=OK, method="gibbs")
    with pytest.raises(ValueError, match="schedule must be 'parallel' or 'sequential'"):
        graphs.meanfield(ISING, nx.path_graph(3), 1.0, params=OK, schedule="random")


def test_not_a_model():
    with pytest.raises(ModelError, match="expected a derive.PairwiseModel"):
        graphs.exact("ising", nx.path_graph(3), 1.0)


def test_meanfield_zero_iterations_is_refused():
    with pytest.raises(InputError, match="max_iter must be at least 1, got 0"):
        graphs.meanfield(ISING, nx.path_graph(3), 1.0, params=OK, max_iter=0, schedule="sequential")
