"""Tests of belief propagation: derive.belief_propagation and graphs.belief_propagation.

Oracles: exact enumeration (graphs.exact, itself checked against a brute force written
in test_solvers.py), on which BP must agree to rounding on trees; the high-temperature
(loop) expansion of the Ising partition function at zero field, written here, which
gives the exact error of BP on a loopy graph; field-only marginals written here; a
central finite difference of the Bethe free entropy; Monte Carlo; sympy for the
derived forms: the Ising cavity bias u(J, h) = atanh(tanh(beta J) tanh(beta h)) / beta
(Mézard & Parisi, Eur. Phys. J. B 20, 217 (2001), section 2; Mézard & Montanari,
*Information, Physics, and Computation*, OUP 2009, ch. 14) and the Bethe free entropy
(Yedidia, Freeman & Weiss, IEEE Trans. Inf. Theory 51, 2282 (2005)).
"""

import itertools
import math

import networkx as nx
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
import graphs
import numerics
from derive import BETA, InputError, ModelError, PairwiseModel

si, sj = sp.symbols("s_i s_j", real=True)
J, h, D = sp.symbols("J h D", real=True)
KD = sp.KroneckerDelta

ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
SPIN1 = PairwiseModel((-1, 0, 1), -J * si * sj, -h * si + D * si**2, variables=(si, sj))
POTTS = PairwiseModel(range(3), -J * KD(si, sj), -h * KD(si, 0), variables=(si, sj))
GAS = PairwiseModel((0, 1), -J * si * sj, -h * si, variables=(si, sj))
MODELS = {"ising": ISING, "spin-1": SPIN1, "potts": POTTS, "lattice gas": GAS}


def own_params(model, params):
    """The entries of ``params`` that are parameters of ``model`` (an unknown key is an error)."""
    names = {p.name for p in model.params}
    return {k: v for k, v in params.items() if k in names}


SCHEDULES = ("parallel", "sequential", "random", "residual")


def random_tree(n, seed):
    """A uniform random labelled tree on ``range(n)`` (the networkx name changed in 3.3)."""
    if hasattr(nx, "random_labeled_tree"):
        return nx.random_labeled_tree(n, seed=seed)
    return nx.random_tree(n, seed=seed)  # pragma: no cover - networkx < 3.3


def chorded_cycle(n=8, chord=(0, 4)):
    G = nx.cycle_graph(n)
    G.add_edge(*chord)
    return G


def even_subgraphs(G):
    """Every non-empty edge set in which each node has even degree (the cycle space),
    as lists of edge indices in ``list(G.edges())`` order. 2**|E| subsets: tiny graphs only."""
    edges = list(G.edges())
    index = {v: k for k, v in enumerate(G)}
    out = []
    for mask in itertools.product((0, 1), repeat=len(edges)):
        degree = np.zeros(len(index), dtype=int)
        for keep, (u, v) in zip(mask, edges):
            degree[index[u]] += keep
            degree[index[v]] += keep
        if any(mask) and not np.any(degree % 2):
            out.append([k for k, keep in enumerate(mask) if keep])
    return out


def assert_matches_exact(r, ex, atol=1e-10):
    assert r.nodes == ex.nodes and r.edges == ex.edges
    np.testing.assert_allclose(r.marginals, ex.marginals, rtol=0, atol=atol)
    np.testing.assert_allclose(r.edge_marginals, ex.edge_marginals, rtol=0, atol=atol)
    np.testing.assert_allclose(
        r.pair_correlations,
        ex.pair_correlations,
        rtol=0,
        atol=atol * max(1.0, float(np.abs(ex.alphabet).max()) ** 2),
    )
    assert abs(r.log_z - ex.log_z) <= atol * max(1.0, abs(ex.log_z))


# --- exactness on trees and forests -----------------------------------------------------------


@st.composite
def forests(draw):
    """1-9 nodes: one random tree or several (a size-1 tree is an isolated node), node
    labels shuffled, a coupling J on every edge and a field h on every node."""
    sizes, left = [], 9
    while left and (not sizes or draw(st.booleans())):
        sizes.append(draw(st.integers(1, left)))
        left -= sizes[-1]
    F = nx.Graph()
    for n in sizes:
        F = nx.disjoint_union(F, random_tree(n, seed=draw(st.integers(0, 2**32 - 1))))
    G = nx.Graph()
    G.add_nodes_from(draw(st.permutations(list(F))))
    G.add_edges_from(F.edges())
    for u, v in G.edges():
        G.edges[u, v]["J"] = draw(st.floats(-1.5, 1.5))
    for v in G:
        G.nodes[v]["h"] = draw(st.floats(-1.0, 1.0))
    return G


@settings(max_examples=20)
@given(
    G=forests(),
    name=st.sampled_from(sorted(MODELS)),
    beta=st.floats(0.1, 2.0),
    crystal=st.floats(-1.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_bp_is_exact_on_trees(G, name, beta, crystal, seed):
    """BP is exact on a tree (Mezard & Montanari ch. 14): marginals, edge marginals, pair
    correlations and the Bethe log Z equal exact enumeration for every schedule.
    Tolerance 1e-10: the fixed point is reached exactly (a tree has no loop to converge
    around) and both sides are sums of at most 3**9 terms in float64, so only rounding
    (~1e-14 relative) separates them."""
    model = MODELS[name]
    params = own_params(model, {"D": crystal})
    ex = graphs.exact(model, G, beta, params=params)
    longest = max(nx.diameter(G.subgraph(c)) for c in nx.connected_components(G))
    for schedule in SCHEDULES:
        r = graphs.belief_propagation(
            model, G, beta, params=params, schedule=schedule, tol=1e-12, max_iter=200, seed=seed
        )
        assert r.converged, (schedule, r.message)
        assert r.message.startswith("converged") and r.iterations == len(r.residuals)
        assert_matches_exact(r, ex)
        if schedule == "parallel":
            # a message leaving a subtree of depth d is exact after d + 1 flooding sweeps,
            # and the depth is at most diameter - 1: one more sweep sees no change.
            assert r.iterations <= longest + 1


def test_isolated_nodes_keep_their_field_only_marginal():
    G = nx.path_graph(3)
    G.add_nodes_from(["lonely", "other"])
    fields = {0: 0.2, 1: -0.4, 2: 0.1, "lonely": 0.7, "other": -1.3}
    nx.set_node_attributes(G, fields, "h")
    beta = 0.9
    for model in (ISING, SPIN1):
        params = own_params(model, {"J": 0.8, "D": 0.35})
        r = graphs.belief_propagation(model, G, beta, params=params, tol=1e-12)
        assert r.converged
        for v in ("lonely", "other"):
            s = np.array([float(a) for a in model.alphabet])
            phi = -fields[v] * s + (0.35 * s**2 if model is SPIN1 else 0.0)
            w = np.exp(-beta * phi)
            np.testing.assert_allclose(r.node_marginal(v), w / w.sum(), rtol=0, atol=1e-14)
        # and their log Z_i add log sum_s exp(-beta phi(s)) to the Bethe free entropy
        assert_matches_exact(r, graphs.exact(model, G, beta, params=params))


def test_graph_without_edges():
    G = nx.empty_graph(3)
    nx.set_node_attributes(G, {0: 0.0, 1: 0.5, 2: -2.0}, "h")
    r = graphs.belief_propagation(ISING, G, 0.7, params={"J": 1.0})
    assert r.converged and r.messages.shape == (0, 1) and r.edge_marginals.shape == (0, 2, 2)
    np.testing.assert_allclose(
        r.magnetization, np.tanh(0.7 * np.array([0.0, 0.5, -2.0])), atol=1e-15
    )
    assert r.log_z == pytest.approx(
        sum(math.log(2 * math.cosh(0.7 * x)) for x in (0, 0.5, -2)), rel=1e-14
    )


# --- stability at low temperature -------------------------------------------------------------


def test_ising_bp_is_stable_at_low_temperature():
    """beta = 50: tanh(beta J) tanh(beta h) rounds to +-1 and the textbook
    atanh(tanh tanh) gives inf; the printer lowers it to
    (logcosh(a + b) - logcosh(a - b)) / 2, which stays finite and exact."""
    G = random_tree(8, seed=11)
    rng = np.random.default_rng(11)
    for u, v in G.edges():
        G.edges[u, v]["J"] = rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)
    for v in G:
        G.nodes[v]["h"] = rng.uniform(-1, 1)
    beta = 50.0
    with np.errstate(divide="ignore"):  # the check has power: the naive form overflows here
        assert np.isinf(np.arctanh(np.tanh(beta * 1.0) * np.tanh(beta * 0.8)))
    source = open(numerics.compile(derive.belief_propagation(ISING)).module.__file__).read()
    assert "atanh_tanh_product(" in source
    ex = graphs.exact(ISING, G, beta)
    for schedule in SCHEDULES:
        r = graphs.belief_propagation(ISING, G, beta, schedule=schedule, tol=1e-12, seed=1)
        assert r.converged and np.all(np.isfinite(r.messages))
        # at beta = 50 log Z ~ 300: the tree's few rounding errors of 1e-16 |log Z| each
        assert_matches_exact(r, ex)


def test_ising_cavity_fields_are_accurate_at_high_temperature():
    """Path 0 - 1 - 2 with h = (1, 0, 0), J = 1, beta = 1e-4: the message 1 -> 2 is the
    cavity bias alone, atanh(tanh(beta) tanh(beta)) / beta ~ 1e-4, whose textbook form is
    accurate to a few ulp here (|tanh tanh| << 1). Measured: relative error 6e-10."""
    G = nx.path_graph(3)
    nx.set_node_attributes(G, {0: 1.0, 1: 0.0, 2: 0.0}, "h")
    beta = 1e-4
    r = graphs.belief_propagation(ISING, G, beta, params={"J": 1.0}, tol=1e-15)
    assert r.converged
    csr = graphs.to_csr(G)  # messages are indexed by the directed edges of the CSR
    e = int(csr.indptr[1] + list(csr.indices[csr.indptr[1] : csr.indptr[2]]).index(2))
    textbook = math.atanh(math.tanh(beta) * math.tanh(beta)) / beta
    assert r.messages[e, 0] == pytest.approx(textbook, rel=1e-12, abs=0)


def test_overflowing_coupling_is_rejected():
    """beta J = 1e310 is not a float64: the Boltzmann weights cannot be represented, so the
    call is refused at the edge (before: NaN or a result from overflowed arithmetic)."""
    with pytest.raises(InputError, match="Boltzmann weights are not representable"):
        graphs.belief_propagation(
            ISING, nx.path_graph(3), 1e10, params={"J": 1e300, "h": 0.1}, max_iter=5
        )


def test_large_but_representable_coupling_gives_finite_marginals():
    """beta J = 1e6 (a zero-temperature ferromagnet): the weights are representable and the
    cavity bias is evaluated stably, so BP returns the ground state's marginals."""
    r = graphs.belief_propagation(ISING, nx.path_graph(3), 1e3, params={"J": 1e3, "h": 0.1})
    assert r.converged
    assert np.all(np.isfinite(r.marginals))
    np.testing.assert_allclose(r.magnetization, 1.0, atol=1e-12)


# --- loopy graphs -----------------------------------------------------------------------------


@settings(max_examples=15)
@given(beta=st.floats(0.1, 0.5), couplings=st.lists(st.floats(-1, 1), min_size=9, max_size=9))
def test_loop_expansion_gives_the_exact_error_of_bp_at_zero_field(beta, couplings):
    """Ising at h = 0 (high-temperature expansion): Z = 2^N prod_e cosh(beta J_e) W with
    W = 1 + sum over non-empty even subgraphs C of prod_{e in C} t_e, t_e = tanh(beta J_e).
    BP sits at the paramagnetic fixed point (unique: every node has degree <= 3 and
    2 tanh(beta |J|) <= 2 tanh(0.5) < 1, a contraction), where log Z_Bethe = N log 2 +
    sum_e log cosh(beta J_e) and E_BP[s_u s_v] = t_e. So log Z - log Z_Bethe = log W and
    E[s_u s_v] - t_e = (1 - t_e^2) d log W / d t_e, exactly. On the 8-cycle with the chord
    (0, 4) the even subgraphs are two 5-cycles and the 8-cycle: the error is O(t^5) on
    log Z and O(t^4) on the correlations (a loop of length L through the edge)."""
    G = chorded_cycle()
    for (u, v), c in zip(G.edges(), couplings):
        G.edges[u, v]["J"] = c
    params = {"h": 0.0}
    cycles = even_subgraphs(G)
    assert sorted(map(len, cycles)) == [5, 5, 8]
    t = np.tanh(beta * np.array(couplings))
    W = 1 + sum(np.prod(t[c]) for c in cycles)
    dW = np.array(
        [
            sum(np.prod(t[[k for k in c if k != e]]) for c in cycles if e in c)
            for e in range(len(couplings))
        ]
    )
    r = graphs.belief_propagation(ISING, G, beta, params=params, tol=1e-13, seed=0)
    ex = graphs.exact(ISING, G, beta, params=params)
    assert r.converged
    # the BP messages converge to 1e-13 and every quantity here is O(1): 1e-11 is rounding
    # plus the distance of the iterate from the fixed point
    bethe = 8 * math.log(2) + float(np.sum(np.log(np.cosh(beta * np.array(couplings)))))
    assert r.log_z == pytest.approx(bethe, abs=1e-11)
    np.testing.assert_allclose(r.pair_correlations, t, atol=1e-11)
    np.testing.assert_allclose(r.marginals, 0.5, atol=1e-11)
    assert ex.log_z - r.log_z == pytest.approx(math.log(W), abs=1e-11)
    np.testing.assert_allclose(
        ex.pair_correlations - r.pair_correlations, (1 - t**2) * dW / W, atol=1e-11
    )


@settings(max_examples=15)
@given(
    beta=st.floats(0.1, 0.5),
    couplings=st.lists(st.floats(-1, 1), min_size=9, max_size=9),
    fields=st.lists(st.floats(-1, 1), min_size=8, max_size=8),
)
def test_bp_error_on_a_loopy_graph_is_bounded_by_its_loops(beta, couplings, fields):
    """With fields there is no closed form; the loop expansion still orders the error by
    the loops. With t = tanh(beta max|J|) and the even subgraphs C above, take
    B = sum_C t^|C| (log Z and magnetisations) and B_e = sum_{C containing e} t^(|C| - 1)
    (correlation on edge e); at h = 0 the previous test shows these are attained to leading
    order. Measured over 300 draws of beta in [0.1, 0.5], J in [-1, 1], h in [-1, 1]:
    |dm_i| <= 0.23 B, |d log Z| <= 0.30 B, |dC_e| <= 0.77 B_e. Asserted: below 2 B."""
    G = chorded_cycle()
    for (u, v), c in zip(G.edges(), couplings):
        G.edges[u, v]["J"] = c
    for v, f in zip(G, fields):
        G.nodes[v]["h"] = f
    cycles = even_subgraphs(G)
    t = math.tanh(beta * max(map(abs, couplings)))
    bound = sum(t ** len(c) for c in cycles)
    bound_e = np.array(
        [sum(t ** (len(c) - 1) for c in cycles if e in c) for e in range(len(couplings))]
    )
    r = graphs.belief_propagation(ISING, G, beta, tol=1e-13, seed=0)
    ex = graphs.exact(ISING, G, beta)
    assert r.converged  # contraction, as above
    assert abs(r.log_z - ex.log_z) <= 2 * bound
    assert np.all(np.abs(r.magnetization - ex.magnetization) <= 2 * bound)
    assert np.all(np.abs(r.pair_correlations - ex.pair_correlations) <= 2 * bound_e)


def test_monte_carlo_agrees_with_exact_on_the_loopy_graph():
    """Batch means over 20 blocks of 1600 sweeps (autocorrelation: a few sweeps at
    beta = 0.5 with |J| < 1), 5 standard errors: as in test_solvers.py. BP agrees with
    both within the same errors here (its loop error is ~1e-3)."""
    G = chorded_cycle()
    J_e = [0.25, 0.79, 0.55, -0.55, -0.4, 0.75, -0.99, 0.64, 0.59]
    h_v = [-0.03, -0.2, -0.22, -0.25, -0.05, 0.0, 0.05, 0.5]
    for (u, v), c in zip(G.edges(), J_e):
        G.edges[u, v]["J"] = c
    for v, f in zip(G, h_v):
        G.nodes[v]["h"] = f
    beta = 0.5
    ex = graphs.exact(ISING, G, beta)
    mc = graphs.monte_carlo(ISING, G, beta, sweeps=40_000, burn_in=8_000, seed=1)
    bp = graphs.belief_propagation(ISING, G, beta, tol=1e-12, seed=0)
    err = mc.magnetization_error
    assert np.all(err > 0) and np.all(err < 0.02)
    assert np.all(np.abs(mc.magnetization - ex.magnetization) < 5 * err)
    assert bp.converged and np.all(np.abs(bp.magnetization - ex.magnetization) < 5 * err)
    # the criterion has power: it rejects the exact law at beta / 2
    other = graphs.exact(ISING, G, beta / 2)
    assert np.max(np.abs(mc.magnetization - other.magnetization) / err) > 5


# --- thermodynamic consistency ----------------------------------------------------------------


@settings(max_examples=10)
@given(
    beta=st.floats(0.2, 0.5),
    couplings=st.lists(st.floats(-1, 1), min_size=7, max_size=7),
    fields=st.lists(st.floats(-0.5, 0.5), min_size=6, max_size=6),
    node=st.integers(0, 5),
)
def test_bethe_free_entropy_derivative_is_the_magnetisation(beta, couplings, fields, node):
    """d log Z_Bethe / d(beta h_i) = m_i on a loopy graph (the Bethe free entropy is
    stationary in the messages at a BP fixed point, so only the explicit h_i counts).
    Central difference, step 1e-5: truncation O(step^2 beta^2) ~ 1e-11, rounding
    eps |log Z| / step ~ 1e-10, and BP stopped at tol = 1e-12: even at first order in the
    message error that is 1e-12 / 1e-5 = 1e-7. Tolerance 1e-6 (measured ~1e-10)."""
    G = chorded_cycle(6, (0, 3))
    for (u, v), c in zip(G.edges(), couplings):
        G.edges[u, v]["J"] = c
    for v, f in zip(G, fields):
        G.nodes[v]["h"] = f
    r = graphs.belief_propagation(ISING, G, beta, tol=1e-12, seed=0)
    assert r.converged  # max degree 3, 2 tanh(0.5) < 1: a contraction
    step, h0 = 1e-5, G.nodes[node]["h"]
    log_z = []
    for sign in (1, -1):
        G.nodes[node]["h"] = h0 + sign * step
        shifted = graphs.belief_propagation(ISING, G, beta, tol=1e-12, init=r)
        assert shifted.converged
        log_z.append(shifted.log_z)
    G.nodes[node]["h"] = h0
    slope = (log_z[0] - log_z[1]) / (2 * step * beta)
    assert slope == pytest.approx(r.magnetization[node], abs=1e-6)


# --- warm start and non-convergence -----------------------------------------------------------


def test_warm_start_converges_faster():
    """BP converges linearly, so iterations ~ log(distance / tol) / log(1 / rate): starting
    at the fixed point of beta = 0.4 (distance O(0.001 dh/dbeta)) saves about a third of
    the sweeps of a random start (distance O(1)) at beta = 0.401; restarting at the same
    beta from the converged messages takes one sweep."""
    G = chorded_cycle()
    G.add_edge(2, 6)
    params = {"J": 1.0, "h": 0.1}
    first = graphs.belief_propagation(ISING, G, 0.4, params=params, tol=1e-12, seed=0)
    assert first.converged
    again = graphs.belief_propagation(ISING, G, 0.4, params=params, tol=1e-12, init=first)
    assert again.converged and again.iterations == 1
    warm = graphs.belief_propagation(ISING, G, 0.401, params=params, tol=1e-12, init=first)
    cold = [
        graphs.belief_propagation(ISING, G, 0.401, params=params, tol=1e-12, seed=s)
        for s in range(4)
    ]
    assert warm.converged and all(c.converged for c in cold)
    assert warm.iterations < 0.85 * min(c.iterations for c in cold)
    for c in cold:  # the same (unique) fixed point
        np.testing.assert_allclose(warm.marginals, c.marginals, atol=1e-10)
    # an array of messages works as well as the result that holds them
    same = graphs.belief_propagation(ISING, G, 0.401, params=params, tol=1e-12, init=first.messages)
    assert same.iterations == warm.iterations


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_non_convergence_is_reported(schedule):
    """The antiferromagnet on K4 (every face a triangle) at beta = 2: parallel BP
    oscillates with period 2; none of the schedules settles (measured: residuals stay ~3
    for 500 sweeps). max_iter = 5 must report it and still return finite results."""
    G = nx.complete_graph(4)
    r = graphs.belief_propagation(
        ISING, G, 2.0, params={"J": -1.0, "h": 0.0}, max_iter=5, schedule=schedule, seed=0
    )
    assert r.converged is False
    assert r.iterations == 5 and r.residuals.shape == (5,)
    assert "no convergence" in r.message and "5 iterations" in r.message
    for x in (r.marginals, r.messages, r.edge_marginals, r.pair_correlations):
        assert np.all(np.isfinite(x))
    assert math.isfinite(r.log_z)
    np.testing.assert_allclose(r.marginals.sum(axis=1), 1.0, atol=1e-14)


def test_frustrated_parallel_bp_does_not_converge_at_all():
    r = graphs.belief_propagation(
        ISING, nx.complete_graph(4), 2.0, params={"J": -1.0, "h": 0.0}, max_iter=300, seed=0
    )
    assert not r.converged and r.residuals[-1] > 1.0


# --- bad input --------------------------------------------------------------------------------

OK = {"J": 1.0, "h": 0.0}


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf"), "hot"])
def test_bad_beta(beta):
    with pytest.raises(ValueError, match="beta must be a"):
        graphs.belief_propagation(ISING, nx.path_graph(3), beta, params=OK)


def test_missing_coupling_names_it():
    with pytest.raises(ValueError, match=r"edge \(0, 1\) has no attribute 'J'"):
        graphs.belief_propagation(ISING, nx.path_graph(3), 1.0, params={"h": 0.0})


def test_alphabet_of_one_state():
    single = PairwiseModel((1,), -J * si * sj, variables=(si, sj))
    with pytest.raises(ModelError, match="at least 2 states"):
        graphs.belief_propagation(single, nx.path_graph(3), 1.0, params=OK)
    with pytest.raises(ModelError, match="at least 2 states"):
        derive.belief_propagation(single)


def test_not_a_model():
    with pytest.raises(ModelError, match="PairwiseModel"):
        graphs.belief_propagation("ising", nx.path_graph(3), 1.0, params=OK)


def test_unknown_schedule():
    with pytest.raises(ValueError, match="schedule must be one of .*'flooding'"):
        graphs.belief_propagation(ISING, nx.path_graph(3), 1.0, params=OK, schedule="flooding")


def test_bad_init():
    G = nx.path_graph(3)  # 2 edges: 4 directed messages of 1 field
    with pytest.raises(ValueError, match=r"init messages must have shape \(4, 1\).*\(3, 1\)"):
        graphs.belief_propagation(ISING, G, 1.0, params=OK, init=np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        graphs.belief_propagation(SPIN1, G, 1.0, params={**OK, "D": 0.0}, init=np.zeros(4))
    with pytest.raises(ValueError, match="NaN or inf"):
        graphs.belief_propagation(ISING, G, 1.0, params=OK, init=[0.0, np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match="init must be 'random', 'uniform'"):
        graphs.belief_propagation(ISING, G, 1.0, params=OK, init="ferro")
    other = graphs.belief_propagation(ISING, nx.path_graph(4), 1.0, params=OK)
    with pytest.raises(ValueError, match=r"init messages must have shape \(4, 1\)"):
        graphs.belief_propagation(ISING, G, 1.0, params=OK, init=other)


@pytest.mark.parametrize("damping", [-0.1, 1.0, 1.5])
def test_damping_outside_unit_interval(damping):
    with pytest.raises(ValueError, match=r"damping must be in \[0, 1\)"):
        graphs.belief_propagation(ISING, nx.path_graph(3), 1.0, params=OK, damping=damping)


def test_max_iter_below_one():
    with pytest.raises(ValueError, match="max_iter must be at least 1"):
        graphs.belief_propagation(ISING, nx.path_graph(3), 1.0, params=OK, max_iter=0)


# --- the derived equations --------------------------------------------------------------------


def test_ising_cavity_bias_is_the_textbook_one():
    """Cavity fields of the Ising model (Mézard & Parisi, Eur. Phys. J. B 20, 217 (2001),
    section 2; Mézard & Montanari 2009, ch. 14): h_{i\\j} = h_i + sum_k u(J_ki, h_{k\\i}),
    u(J, h) = atanh(tanh(beta J) tanh(beta h)) / beta."""
    bp = derive.belief_propagation(ISING)
    (h_k,) = bp.neighbor
    U = bp.symbol("U")
    textbook = sp.atanh(sp.tanh(BETA * J) * sp.tanh(BETA * h_k)) / BETA
    assert sp.simplify(bp["U"] - textbook) == 0
    assert bp["U"].has(sp.atanh) and not bp["U"].has(derive.LogSumExp)  # closed, not LSE
    ((out, expr),) = bp.outputs.items()
    assert out.name == "h_{i \\to j}" and sp.simplify(expr - (U + h)) == 0


def _jacobian():
    """``derive.bp_jacobian`` (being renamed ``bp_stability`` in the working tree)."""
    fn = getattr(derive, "bp_jacobian", None) or derive.bp_stability
    return fn(ISING)


def test_ising_bp_jacobian_at_zero_field_is_tanh_beta_j():
    """dU/dh_{k\\i} at h = 0 is tanh(beta J): the paramagnetic stability factor, whence
    (c - 1) tanh(beta_c J) = 1 on a random regular graph (the Bethe lattice ferromagnet:
    Mézard & Montanari 2009, ch. 14; Mézard & Parisi, Eur. Phys. J. B 20, 217 (2001))."""
    jac = _jacobian()
    (h_k,) = jac.inputs
    M = jac["M_11"]
    assert sp.simplify(M.subs(h_k, 0) - sp.tanh(BETA * J)) == 0
    U = sp.atanh(sp.tanh(BETA * J) * sp.tanh(BETA * h_k)) / BETA
    assert sp.simplify(M - sp.diff(U, h_k)) == 0
