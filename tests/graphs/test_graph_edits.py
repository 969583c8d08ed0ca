"""Every graph solver reads the graph as it is now (issue 9 §1).

A networkx graph is mutable and has no version counter. A cache keyed on the
numbers of nodes and edges answered for a graph that had been rewired without
changing them (``G.remove_edge(2, 3); G.add_edge(0, 3)``). Here each solver, run
once on ``G`` (so any cache would be primed), then run on the edited ``G``, must
give the same numbers as on a graph built afresh from the edited one.
"""

import networkx as nx
import numpy as np
import pytest
import sympy as sp

import graphs
from derive import InputError, PairwiseModel

si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
PARAMS = {"J": 1.0, "h": 0.0}
BETA = 0.7


def fresh_copy(G):
    """A graph built from scratch with the nodes, edges and attributes of ``G`` now."""
    H = nx.Graph()
    H.add_nodes_from(G.nodes(data=True))
    H.add_edges_from(G.edges(data=True))
    return H


def start_graph():
    G = nx.path_graph(6)
    G.nodes[0]["h"] = 0.8
    return G


def rewire(G):
    G.remove_edge(2, 3)
    G.add_edge(0, 3)


def reweight(G):
    G.edges[0, 1]["J"] = -1.5


def refield(G):
    G.nodes[0]["h"] = -0.4
    G.nodes[5]["h"] = 0.3


SOLVERS = {
    "exact": lambda G: graphs.exact(ISING, G, BETA, PARAMS).marginals,
    "belief_propagation": lambda G: (
        graphs.belief_propagation(ISING, G, BETA, PARAMS, init="uniform", tol=1e-12).marginals
    ),
    "meanfield": lambda G: (
        graphs.meanfield(ISING, G, BETA, PARAMS, init="zero-field", tol=1e-12).marginals
    ),
    "monte_carlo": lambda G: (
        graphs.monte_carlo(
            ISING, G, BETA, PARAMS, sweeps=200, seed=3, init=np.ones(G.number_of_nodes())
        ).marginals
    ),
}


@pytest.mark.parametrize(
    "edit", [rewire, reweight, refield], ids=["rewire", "edge-attr", "node-attr"]
)
@pytest.mark.parametrize("name", list(SOLVERS))
def test_solver_sees_the_edited_graph(name, edit):
    solve = SOLVERS[name]
    G = start_graph()
    before = solve(G)
    edit(G)
    after, fresh = solve(G), solve(fresh_copy(G))
    # Same arrays in the same order: the same floating-point operations, hence equal numbers
    # (Monte Carlo with the same seed and start runs the same chain).
    np.testing.assert_allclose(after, fresh, rtol=0, atol=1e-12)
    # The edit changes the answer, so the comparison above can fail.
    assert not np.allclose(before, after, atol=1e-6)


def test_stale_csr_is_refused():
    G = start_graph()
    csr = graphs.to_csr(G)
    rewire(G)
    with pytest.raises(InputError, match="edited"):
        graphs.csr.edge_values(G, csr, ["J"], {"J": 1.0})
