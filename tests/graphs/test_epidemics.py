"""The epidemic simulator, IBMF and DMP on temporal contacts.

DMP is exact on trees (Lokhov, Mézard, Zdeborová, PRE 91, 012811 (2015)) under the convention
of a day shared with the simulator; IBMF is not. Statistical tolerances: with R runs a
frequency has binomial standard error sqrt(p (1 - p) / R); we allow 5 of them plus 5 / R (a
frequency that is zero in the runs but not in the theory), so that even a few hundred
comparisons per example fail by chance with probability below 1e-4.
"""

import networkx as nx
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import graphs
from derive import Compartmental, InputError, ModelError
from graphs import contacts as C

lam, mu, eps = sp.symbols("lambda mu epsilon", positive=True)
SIR = Compartmental(("S", "I", "R"), spontaneous={("I", "R"): mu}, contact={("S", "I"): ("I", lam)})
SEIR = Compartmental(
    ("S", "E", "I", "R"),
    spontaneous={("E", "I"): eps, ("I", "R"): mu},
    contact={("S", "E"): ("I", lam)},
)


def _tolerance(p, runs):
    return 5 * np.sqrt(p * (1 - p) / runs) + 5 / runs


@st.composite
def tree_epidemics(draw):
    n = draw(st.integers(6, 12))
    G = nx.random_labeled_tree(n, seed=draw(st.integers(0, 2**31 - 1)))
    for u, v in G.edges():
        G.edges[u, v]["lambda"] = draw(st.floats(0.05, 0.9))
    days = draw(st.integers(2, 5))
    initial = np.array(draw(st.lists(st.sampled_from([0, 0, 0, 1, 2]), min_size=n, max_size=n)))
    initial[draw(st.integers(0, n - 1))] = 1
    return G, days, initial, draw(st.floats(0.0, 0.9))


@settings(max_examples=12)
@given(case=tree_epidemics(), seed=st.integers(0, 2**31 - 1))
def test_dmp_equals_simulation_on_trees(case, seed):
    G, days, initial, m = case
    runs = 4000
    contacts = C.static(G, days)
    sim = graphs.simulate(SIR, contacts, initial, {"mu": m}, runs=runs, seed=seed)
    d = graphs.dmp(SIR, contacts, initial, {"mu": m})
    gap = np.abs(d.marginals - sim.frequencies)
    assert np.all(gap <= _tolerance(d.marginals, runs))


@settings(max_examples=5)
@given(case=tree_epidemics(), e=st.floats(0.1, 0.9), seed=st.integers(0, 2**31 - 1))
def test_dmp_equals_simulation_for_seir_on_temporal_trees(case, e, seed):
    G, days, initial, m = case
    runs = 4000
    # day-to-day contacts: each edge of the tree present on a day with probability 1/2
    rng = np.random.default_rng(seed)
    days_graphs = [
        nx.Graph([(u, v, d) for u, v, d in G.edges(data=True) if rng.random() < 0.5])
        for _ in range(days)
    ]
    contacts = C.from_graphs(days_graphs, nodes=list(G))
    init = np.where(initial == 1, 2, np.where(initial == 2, 3, 0))  # I and R of SEIR
    sim = graphs.simulate(SEIR, contacts, init, {"mu": m, "epsilon": e}, runs=runs, seed=seed)
    d = graphs.dmp(SEIR, contacts, init, {"mu": m, "epsilon": e})
    assert np.all(np.abs(d.marginals - sim.frequencies) <= _tolerance(d.marginals, runs))


def test_ibmf_is_off_on_a_tree_where_dmp_is_exact():
    # the 30-node tree at lambda = 0.4, mu = 0.15: IBMF overestimates the spread (it counts
    # the back-and-forth infections a tree forbids); the simulation's standard error is
    # below 0.008 with 4000 runs, the gap is two orders larger
    G = nx.random_labeled_tree(30, seed=1)
    contacts = C.static(G, days=20, weight=0.4)
    initial = np.zeros(30, int)
    initial[0] = 1
    sim = graphs.simulate(SIR, contacts, initial, {"mu": 0.15}, runs=4000, seed=3)
    ib = graphs.ibmf(SIR, contacts, initial, {"mu": 0.15})
    d = graphs.dmp(SIR, contacts, initial, {"mu": 0.15})
    assert np.abs(ib.marginals - sim.frequencies).max() > 0.3
    assert np.all(np.abs(d.marginals - sim.frequencies) <= _tolerance(d.marginals, 4000))
    assert np.all(ib.marginals[-1, :, 0] <= d.marginals[-1, :, 0] + 1e-12)


def test_one_day_infection_probability():
    # a susceptible centre with 5 infected leaves: P(S -> I) = 1 - prod (1 - lambda_j)
    # (Baker et al., PNAS 2021); 40,000 runs: standard error 0.0025
    lams = [0.1, 0.2, 0.3, 0.05, 0.5]
    G = nx.star_graph(5)
    for k, l_ in enumerate(lams, 1):
        G.edges[0, k]["lambda"] = l_
    contacts = C.static(G, days=1)
    initial = np.array([0, 1, 1, 1, 1, 1])
    sim = graphs.simulate(SIR, contacts, initial, {"mu": 0.5}, runs=40_000, seed=11)
    p = 1 - np.prod(1 - np.array(lams))
    assert abs(sim.frequencies[1, 0, 1] - p) <= _tolerance(p, 40_000)
    assert abs(sim.frequencies[1, 1:, 2].mean() - 0.5) <= _tolerance(0.5, 200_000)


def test_simulation_is_reproducible_and_splits_across_processes():
    contacts = C.proximity(60, 5, lam=0.3, seed=1)
    initial = np.zeros(60, int)
    initial[:3] = 1
    a = graphs.simulate(SIR, contacts, initial, {"mu": 0.2}, runs=10, seed=7)
    b = graphs.simulate(SIR, contacts, initial, {"mu": 0.2}, runs=10, seed=7)
    first = graphs.simulate(SIR, contacts, initial, {"mu": 0.2}, runs=6, seed=7)
    rest = graphs.simulate(SIR, contacts, initial, {"mu": 0.2}, runs=4, seed=7, first_run=6)
    assert np.array_equal(a.frequencies, b.frequencies)
    assert np.allclose(a.frequencies * 10, first.frequencies * 6 + rest.frequencies * 4)
    other = graphs.simulate(SIR, contacts, initial, {"mu": 0.2}, runs=10, seed=8)
    assert not np.array_equal(a.frequencies, other.frequencies)


def test_observations_are_clamped():
    G = nx.path_graph(5)
    contacts = C.static(G, days=8, weight=0.5)
    initial = np.array([1, 0, 0, 0, 0])
    obs = [(3, "S", 4), (2, "I", 6), (1, "R", 5)]
    r = graphs.ibmf(SIR, contacts, initial, {"mu": 0.1}, observations=obs, tau=2)
    assert np.all(r.marginals[:5, 3, 0] == 1)  # negative at day 4: S on every day before
    assert np.all(r.marginals[4:7, 2, 1] == 1)  # positive at 6, tau = 2: I on [4, 6]
    assert np.all(r.marginals[5:, 1, 2] == 1)  # recovered at 5: R after
    assert r.marginals[5, 3, 0] < 1


def test_inference_window():
    contacts = C.static(nx.path_graph(4), days=6, weight=0.5)
    r = graphs.ibmf(SIR, contacts, np.array([1, 0, 0, 0]), {"mu": 0.1}, delta=3)
    assert r.start == 3 and r.marginals.shape == (4, 4, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"initial": np.array([0, 0, 5])}, "outside the model's states"),
        ({"params": {"mu": 0.1, "nu": 1}}, "unknown parameter"),
        ({"params": {}}, "no value for the parameter 'mu'"),
        ({"params": {"mu": 1.5}}, "outside"),
        ({"runs": 0}, "runs"),
    ],
)
def test_bad_simulation_input(kwargs, match):
    args = {"initial": np.array([1, 0, 0]), "params": {"mu": 0.1}, "runs": 10}
    args.update(kwargs)
    contacts = C.static(nx.path_graph(3), days=2, weight=0.5)
    with pytest.raises(InputError, match=match):
        graphs.simulate(SIR, contacts, args["initial"], args["params"], runs=args["runs"], seed=0)


def test_bad_observation_and_model():
    contacts = C.static(nx.path_graph(3), days=2, weight=0.5)
    with pytest.raises(InputError, match="unknown person"):
        graphs.ibmf(SIR, contacts, [1, 0, 0], {"mu": 0.1}, observations=[(7, "I", 1)])
    sis = Compartmental(("S", "I"), spontaneous={("I", "S"): mu}, contact={("S", "I"): ("I", lam)})
    with pytest.raises(ModelError, match="unidirectional"):
        graphs.dmp(sis, contacts, [1, 0, 0], {"mu": 0.1})


def test_dmp_conditions_the_messages_of_observed_people():
    # a positive test raises the risk of its contacts; a negative one keeps the person in S
    G = nx.path_graph(5)
    contacts = C.static(G, days=6, weight=0.5)
    prior = np.tile([0.99, 0.01, 0.0], (5, 1))
    free = graphs.dmp(SIR, contacts, prior, {"mu": 0.1})
    obs = graphs.dmp(SIR, contacts, prior, {"mu": 0.1}, observations=[(2, "I", 3), (4, "S", 6)])
    assert np.all(obs.marginals[:, 4, 0] == 1)
    assert np.all(obs.marginals[3, 2] == [0, 1, 0])
    assert obs.marginals[-1, 1, 0] < free.marginals[-1, 1, 0]


def test_linearised_ibmf_infects_at_least_as_much_in_one_day():
    # 1 - sum_j x_j <= prod_j (1 - x_j) for x_j in [0, 1] (Weierstrass product inequality)
    contacts = C.proximity(80, 1, lam=0.3, seed=4)
    prior = np.tile([0.7, 0.3, 0.0], (80, 1))
    lin = graphs.ibmf(SIR, contacts, prior, {"mu": 0.1}, form="linear")
    prod = graphs.ibmf(SIR, contacts, prior, {"mu": 0.1})
    assert np.all(lin.marginals[1, :, 0] <= prod.marginals[1, :, 0] + 1e-12)
    assert np.any(lin.marginals[1, :, 0] < prod.marginals[1, :, 0] - 1e-3)


def test_active_sweep_equals_the_union_sweep():
    # sweep="active" updates a pair's messages only between its first and last contact,
    # starting them from the sender's marginals and folding finished thetas into a frozen
    # product: the same arithmetic as sweeping every union edge every day (Lokhov, Mezard,
    # Zdeborova, PRE 91, 012811 (2015), eqs. (3)-(6)), reordered, so equal up to rounding,
    # here on a loopy proximity graph (pairs meeting on some days only), with tests and a
    # window, and for SEIR on directed contacts (pairs that meet in one direction only)
    contacts = C.proximity(120, 12, lam=0.2, seed=3)
    prior = np.tile([0.95, 0.05, 0.0], (120, 1))
    obs = [(5, "I", 6), (7, "S", 8), (9, "R", 10), (11, "I", 11)]
    for kw in ({}, dict(observations=obs, tau=3, delta=9)):
        fast = graphs.dmp(SIR, contacts, prior, {"mu": 0.1}, **kw)
        full = graphs.dmp(SIR, contacts, prior, {"mu": 0.1}, sweep="union", **kw)
        assert np.abs(fast.marginals - full.marginals).max() < 1e-12
    rng = np.random.default_rng(0)
    t = np.repeat(np.arange(8), 40)
    i = rng.integers(0, 30, t.size)
    j = (i + rng.integers(1, 30, t.size)) % 30
    directed = C.from_arrays(t, i, j, rng.uniform(0.05, 0.5, t.size), n=30, directed=True)
    init = np.zeros(30, int)
    init[:3] = 2
    params = {"mu": 0.1, "epsilon": 0.4}
    fast = graphs.dmp(SEIR, directed, init, params)
    full = graphs.dmp(SEIR, directed, init, params, sweep="union")
    assert np.abs(fast.marginals - full.marginals).max() < 1e-12
    with pytest.raises(InputError, match="sweep"):
        graphs.dmp(SIR, directed, np.zeros(30, int), {"mu": 0.1}, sweep="all")


def test_a_negative_test_resets_the_infection_pressure():
    # a person found susceptible on day 6 was infected by no one before: the next day it can
    # only catch the infection through that day's contacts, so P_S(7) >= 1 - lambda with one
    # infected contact (conditioning the incoming theta messages; clamping P_S alone let the
    # pressure of days 0..5, 1 - 0.5^6, fall on day 7)
    contacts = C.static(nx.path_graph(3), days=8, weight=0.5)
    initial = np.array([1, 0, 0])
    for sweep in ("active", "union"):
        r = graphs.dmp(SIR, contacts, initial, {"mu": 0.0}, observations=[(1, "S", 6)], sweep=sweep)
        assert np.all(r.marginals[:7, 1, 0] == 1)
        assert r.marginals[7, 1, 0] >= 0.5 - 1e-12
