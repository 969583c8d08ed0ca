"""Malformed input to a graph solver gives a cavitylab error naming it (issue 9 §8).

Each public graph solver is fed one malformed argument at a time, drawn by
hypothesis: not a graph, an empty/directed/multi graph or one with a self-loop, a
beta that is not a finite positive number, a ``params`` dict with an unknown key or
a non-finite value, a node or edge attribute that is not a finite number, energies
whose Boltzmann weights overflow float64, and the solver's own options out of range.
The call must raise a ``derive.CavitylabError`` (``InputError`` / ``ModelError``),
never return NaN and never leak a raw ``TypeError``/``IndexError``/``ZeroDivisionError``.
"""

import math

import networkx as nx
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import graphs
from derive import CavitylabError, InputError, ModelError, PairwiseModel

si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
PARAMS = {"J": 1.0, "h": 0.1}
SETTINGS = settings(deadline=None, max_examples=40)

not_a_number = st.sampled_from(
    [math.nan, math.inf, -math.inf, "strong", None, 1 + 2j, [1.0], {"J": 1}]
)
bad_beta = st.one_of(
    st.floats(max_value=0.0),
    st.sampled_from([math.nan, math.inf, "hot", None, 1j, [1.0]]),
)
not_a_graph = st.sampled_from(
    [
        [(0, 1), (1, 2)],
        None,
        {0: [1]},
        "path",
        nx.Graph(),
        nx.DiGraph([(0, 1)]),
        nx.MultiGraph([(0, 1), (0, 1)]),
        nx.Graph([(0, 1), (1, 1)]),
    ]
)
unknown_key = st.text(min_size=1, max_size=6).filter(lambda k: k not in ("J", "h"))
huge = st.floats(min_value=1e300, max_value=1.7e308)


def graph():
    return nx.cycle_graph(5)


@st.composite
def malformed_call(draw):
    """``(G, beta, params, what)``: a valid call with exactly one thing wrong."""
    G, beta, params = graph(), 1.0, dict(PARAMS)
    what = draw(
        st.sampled_from(
            ["graph", "beta", "key", "value", "params-type", "node", "edge", "huge", "model"]
        )
    )
    if what == "graph":
        G = draw(not_a_graph)
    elif what == "beta":
        beta = draw(bad_beta)
    elif what == "key":
        params[draw(unknown_key)] = 1.0
    elif what == "value":
        params[draw(st.sampled_from(["J", "h"]))] = draw(not_a_number)
    elif what == "params-type":
        params = draw(st.sampled_from([[1.0, 0.1], "J=1", 3.0]))
    elif what == "node":
        G.nodes[draw(st.integers(0, 4))]["h"] = draw(not_a_number)
    elif what == "edge":
        u = draw(st.integers(0, 4))
        G.edges[u, (u + 1) % 5]["J"] = draw(not_a_number)
    elif what == "huge":  # finite, but beta * energy is not representable
        params["J"] = draw(huge) * draw(st.sampled_from([1, -1]))
    return G, beta, params, what


def check(call, what):
    error = ModelError if what == "model" else InputError
    with pytest.raises(error) as info:
        call()
    assert str(info.value)  # a message naming the problem


@SETTINGS
@given(malformed_call())
def test_exact_refuses_malformed_input(case):
    G, beta, params, what = case
    model = "ising" if what == "model" else ISING
    check(lambda: graphs.exact(model, G, beta, params), what)


@SETTINGS
@given(
    malformed_call(),
    st.sampled_from(["none", "damping", "tol", "max_iter", "schedule", "init", "seed"]),
    st.data(),
)
def test_belief_propagation_refuses_malformed_input(case, option, data):
    G, beta, params, what = case
    model = "ising" if what == "model" else ISING
    kwargs = {}
    options = {
        "damping": st.sampled_from([1.0, -0.1, math.nan, "half", None]),
        "tol": st.sampled_from([0.0, -1e-9, math.nan, "tiny"]),
        "max_iter": st.sampled_from([0, -5, 2.5, "many", None]),
        "schedule": st.sampled_from(["flooding", None, 3]),
        "init": st.sampled_from(["ones", [1.0, 2.0], [[math.nan]] * 10, [["a"]] * 10]),
        "seed": st.sampled_from([-1, "s", 1.5]),
    }
    if option != "none":  # a second malformed argument: either one must be named
        kwargs[option] = data.draw(options[option])
    with pytest.raises(CavitylabError):
        graphs.belief_propagation(model, G, beta, params, **kwargs)


@SETTINGS
@given(
    malformed_call(),
    st.sampled_from(["none", "damping", "tol", "max_iter", "schedule", "init", "seed"]),
    st.data(),
)
def test_meanfield_refuses_malformed_input(case, option, data):
    G, beta, params, what = case
    model = "ising" if what == "model" else ISING
    options = {
        "damping": st.sampled_from([1.0, -0.1, math.nan, "half", None]),
        "tol": st.sampled_from([0.0, -1e-9, math.nan, "tiny"]),
        "max_iter": st.sampled_from([0, -5, 2.5, "many", None]),
        "schedule": st.sampled_from(["random", None, 3]),
        "init": st.sampled_from(["ones", [1.0, 2.0], [math.nan] * 5, ["a"] * 5]),
        "seed": st.sampled_from([-1, "s", 1.5]),
    }
    kwargs = {} if option == "none" else {option: data.draw(options[option])}
    with pytest.raises(CavitylabError):
        graphs.meanfield(model, G, beta, params, **kwargs)


@SETTINGS
@given(
    malformed_call(),
    st.sampled_from(["none", "sweeps", "burn_in", "n_blocks", "method", "init", "seed", "tol"]),
    st.data(),
)
def test_monte_carlo_refuses_malformed_input(case, option, data):
    G, beta, params, what = case
    model = "ising" if what == "model" else ISING
    options = {
        "sweeps": st.sampled_from([0, -10, 2.5, "long", None]),
        "burn_in": st.sampled_from([-1, 100, 1.5, "some"]),
        "n_blocks": st.sampled_from([1, 0, 2.5, "many"]),
        "method": st.sampled_from(["gibbs", None]),
        "init": st.sampled_from(["ones", [1.0, 1.0], [0.0] * 5, ["a"] * 5, [math.nan] * 5]),
        "seed": st.sampled_from([-1, "s", 1.5]),
        "tol": st.sampled_from([0.0, math.nan, "tiny"]),
    }
    kwargs = {"sweeps": 40, "n_blocks": 4}
    if option != "none":
        kwargs[option] = data.draw(options[option])
    with pytest.raises(CavitylabError):
        graphs.monte_carlo(model, G, beta, params, **kwargs)


@pytest.mark.parametrize("solver", ["exact", "belief_propagation", "meanfield", "monte_carlo"])
def test_the_message_names_the_problem(solver):
    run = getattr(graphs, solver)
    with pytest.raises(InputError, match=r"unknown parameter 'j'.*'J', 'h'"):
        run(ISING, graph(), 1.0, {"j": 1.0})
    with pytest.raises(InputError, match="expected a networkx Graph, got list"):
        run(ISING, [(0, 1)], 1.0, PARAMS)
    with pytest.raises(InputError, match="graph has no nodes"):
        run(ISING, nx.Graph(), 1.0, PARAMS)
    with pytest.raises(InputError, match="beta must be a finite positive number"):
        run(ISING, graph(), math.nan, PARAMS)
    with pytest.raises(InputError, match="Boltzmann weights are not representable"):
        run(ISING, graph(), 1.0, {"J": 1e308, "h": 0.0})
    G = graph()
    G.nodes[2]["h"] = math.nan
    with pytest.raises(InputError, match="node 2 has attribute 'h' = nan"):
        run(ISING, G, 1.0, PARAMS)
