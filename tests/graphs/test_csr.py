"""Tests of graphs.csr: networkx -> CSR arrays, reverse-edge index, cache."""

import math
from collections import Counter

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import InputError
from graphs.csr import (
    CSRGraph,
    directed_edge_values,
    edge_values,
    node_values,
    to_csr,
)

SETTINGS = settings(deadline=None, max_examples=30)


# --------------------------------------------------------------------------
# Graph strategies
# --------------------------------------------------------------------------


@st.composite
def gnp_graphs(draw):
    n = draw(st.integers(1, 25))
    p = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**31 - 1))
    return nx.gnp_random_graph(n, p, seed=seed)


@st.composite
def trees(draw):
    n = draw(st.integers(1, 25))
    seed = draw(st.integers(0, 2**31 - 1))
    return nx.random_labeled_tree(n, seed=seed)


@st.composite
def grids(draw):
    rows = draw(st.integers(1, 6))
    cols = draw(st.integers(1, 6))
    periodic = draw(st.booleans()) and rows > 2 and cols > 2
    return nx.grid_2d_graph(rows, cols, periodic=periodic)


@st.composite
def relabelled(draw, base):
    """Shuffle node labels into strings / tuples / sparse ints."""
    G = draw(base)
    kind = draw(st.sampled_from(["str", "tuple", "sparse", "same"]))
    nodes = list(G)
    perm = draw(st.permutations(range(len(nodes))))
    if kind == "str":
        mapping = {v: f"v{perm[i]}" for i, v in enumerate(nodes)}
    elif kind == "tuple":
        mapping = {v: ("x", perm[i]) for i, v in enumerate(nodes)}
    elif kind == "sparse":
        mapping = {v: 7 * perm[i] + 3 for i, v in enumerate(nodes)}
    else:
        return G
    return nx.relabel_nodes(G, mapping)


@st.composite
def with_isolated_and_edits(draw, base):
    """Add isolated nodes and edit edges so adjacency order is scrambled."""
    G = draw(base)
    nodes = list(G)
    for k in range(draw(st.integers(0, 3))):
        G.add_node(("isolated", k))
    edits = draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=6))
    for a, b in edits:
        u, v = nodes[a % len(nodes)], nodes[b % len(nodes)]
        if u == v:
            continue
        if G.has_edge(u, v):
            G.remove_edge(u, v)
        else:
            G.add_edge(u, v)
    return G


any_graph = st.one_of(
    relabelled(gnp_graphs()),
    relabelled(trees()),
    grids(),
    with_isolated_and_edits(relabelled(gnp_graphs())),
    with_isolated_and_edits(grids()),
)


def check_csr(G, csr):
    """All structural invariants of a CSRGraph against its networkx graph."""
    nodes = list(G)
    n, m = len(nodes), G.number_of_edges()
    index = {v: i for i, v in enumerate(nodes)}
    assert csr.nodes == tuple(nodes)
    assert (csr.n_nodes, csr.n_edges) == (n, m)
    for arr in (csr.indptr, csr.indices, csr.reverse, csr.edge_id, csr.edges):
        assert arr.dtype == np.int64
        assert not arr.flags.writeable
    assert csr.indptr.shape == (n + 1,)
    assert csr.indptr[0] == 0 and csr.indptr[-1] == 2 * m
    assert np.all(np.diff(csr.indptr) >= 0)
    assert csr.indices.shape == csr.reverse.shape == csr.edge_id.shape == (2 * m,)
    assert csr.edges.shape == (m, 2)

    src = np.repeat(np.arange(n), np.diff(csr.indptr))
    # Every directed edge of G appears exactly once.
    directed = Counter(zip(src.tolist(), csr.indices.tolist()))
    expected = Counter()
    for u, v in G.edges():
        expected[index[u], index[v]] += 1
        expected[index[v], index[u]] += 1
    assert directed == expected
    assert all(c == 1 for c in directed.values())
    # Sorted by source (and by target within a source).
    for i in range(n):
        row = csr.indices[csr.indptr[i] : csr.indptr[i + 1]]
        assert np.all(np.diff(row) > 0)

    # Reverse index.
    e = np.arange(2 * m)
    assert np.array_equal(csr.reverse[csr.reverse], e)
    assert np.array_equal(csr.indices[csr.reverse], src)
    assert np.array_equal(src[csr.reverse], csr.indices)
    if m:
        assert np.all(csr.reverse != e)

    # Undirected edges in list(G.edges()) order and orientation.
    listed = [(index[u], index[v]) for u, v in G.edges()]
    assert csr.edges.tolist() == [list(p) for p in listed]
    # edge_id: each undirected edge appears twice, once per orientation.
    assert np.array_equal(np.bincount(csr.edge_id, minlength=m), np.full(m, 2))
    ends = csr.edges[csr.edge_id]
    assert np.array_equal(np.sort(ends, axis=1), np.sort(np.stack((src, csr.indices), 1), axis=1))
    assert np.array_equal(csr.edge_id[csr.reverse], csr.edge_id)

    # Degrees.
    assert csr.degrees().tolist() == [G.degree(v) for v in nodes]


# --------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------


@SETTINGS
@given(any_graph)
def test_to_csr_invariants(G):
    check_csr(G, to_csr(G))


@SETTINGS
@given(relabelled(gnp_graphs()), st.data())
def test_to_csr_on_subgraph_view(G, data):
    keep = data.draw(st.lists(st.sampled_from(list(G)), min_size=1, unique=True))
    H = G.subgraph(keep)
    check_csr(H, to_csr(H))


@pytest.mark.parametrize(
    "G",
    [
        nx.empty_graph(5),
        nx.path_graph(1),
        nx.complete_graph(6),
        nx.petersen_graph(),
        nx.grid_2d_graph(3, 4, periodic=True),
        nx.random_regular_graph(3, 200, seed=1),
        nx.Graph([("b", "a"), ("c", "a")]),
    ],
    ids=["empty-edges", "single", "K6", "petersen", "torus", "rrg", "strings"],
)
def test_to_csr_fixed_graphs(G):
    check_csr(G, to_csr(G))


def test_grid_tuple_nodes():
    G = nx.grid_2d_graph(3, 3)
    csr = to_csr(G)
    assert csr.nodes[4] == (1, 1)
    assert csr.degrees()[4] == 4
    neighbours = {csr.nodes[j] for j in csr.indices[csr.indptr[4] : csr.indptr[5]]}
    assert neighbours == {(0, 1), (1, 0), (1, 2), (2, 1)}


def test_isolated_nodes_have_empty_rows():
    G = nx.Graph([(0, 1)])
    G.add_nodes_from(["lonely", 5])
    csr = to_csr(G)
    assert csr.degrees().tolist() == [1, 1, 0, 0]
    assert csr.indptr.tolist() == [0, 1, 2, 2, 2]


def test_arrays_are_read_only():
    csr = to_csr(nx.cycle_graph(4))
    with pytest.raises(ValueError, match="read-only"):
        csr.indices[0] = 3
    with pytest.raises(AttributeError):
        csr.indices = np.zeros(8, dtype=np.int64)
    assert repr(csr) == "CSRGraph(n_nodes=4, n_edges=4)"


def test_medium_random_regular_graph():
    G = nx.random_regular_graph(4, 20_000, seed=3)
    csr = to_csr(G)
    assert csr.n_edges == 40_000
    assert np.all(csr.degrees() == 4)
    e = np.arange(2 * csr.n_edges)
    assert np.array_equal(csr.reverse[csr.reverse], e)
    src = np.repeat(np.arange(csr.n_nodes), csr.degrees())
    assert np.array_equal(csr.indices[csr.reverse], src)


# --------------------------------------------------------------------------
# No cache: every call reads the graph as it is now
# --------------------------------------------------------------------------


def test_rewiring_that_keeps_the_counts_is_seen():
    G = nx.path_graph(6)
    first = to_csr(G)
    G.remove_edge(2, 3)
    G.add_edge(0, 3)
    rebuilt = to_csr(G)
    check_csr(G, rebuilt)
    assert rebuilt.edges.tolist() != first.edges.tolist()
    assert "_cavitylab_csr" not in G.graph  # nothing is written into the user's graph


def test_relabelling_that_keeps_the_counts_is_seen():
    H = nx.path_graph(3)
    to_csr(H)
    H.remove_node(2)
    H.add_edge(1, "new")
    assert to_csr(H).nodes == (0, 1, "new")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_self_loop_names_node():
    G = nx.path_graph(5)
    G.add_edge(3, 3)
    with pytest.raises(InputError, match=r"self-loop at node 3: pairwise models need i != j"):
        to_csr(G)
    H = nx.Graph([("a", "b"), ("b", "b")])
    with pytest.raises(InputError, match=r"self-loop at node 'b'"):
        to_csr(H)


@pytest.mark.parametrize(
    "G, word",
    [
        (nx.DiGraph([(0, 1)]), "DiGraph"),
        (nx.MultiGraph([(0, 1)]), "MultiGraph"),
        (nx.MultiDiGraph([(0, 1)]), "MultiDiGraph"),
    ],
)
def test_directed_and_multigraphs_refused(G, word):
    with pytest.raises(InputError, match=word):
        to_csr(G)


def test_empty_graph_and_non_graph_refused():
    with pytest.raises(InputError, match="no nodes"):
        to_csr(nx.Graph())
    with pytest.raises(InputError, match="networkx Graph"):
        to_csr([(0, 1)])


# --------------------------------------------------------------------------
# Attribute gathering
# --------------------------------------------------------------------------


def test_edge_values_with_defaults_and_order():
    G = nx.Graph()
    G.add_edge("a", "b", J=1.5, K=2)
    G.add_edge("b", "c", J=-0.5)
    G.add_edge("c", "a", J=np.float32(0.25), K=True)
    csr = to_csr(G)
    vals = edge_values(G, csr, ["J", "K"], defaults={"K": 7.0})
    assert vals.dtype == np.float64
    expected = [[d["J"], d.get("K", 7.0)] for _, _, d in G.edges(data=True)]
    np.testing.assert_array_equal(vals, np.asarray(expected, dtype=float))
    single = edge_values(G, None, "J")
    np.testing.assert_array_equal(single[:, 0], vals[:, 0])


@SETTINGS
@given(any_graph, st.data())
def test_edge_and_node_values_align_with_csr(G, data):
    csr = to_csr(G)
    for k, (u, v) in enumerate(G.edges()):
        if data.draw(st.booleans()):
            G.edges[u, v]["J"] = float(k) + 0.5
    for i, v in enumerate(G):
        G.nodes[v]["h"] = -float(i)
    J = edge_values(G, csr, ["J"], defaults={"J": -1.0})[:, 0]
    for k, (a, b) in enumerate(csr.edges.tolist()):
        u, v = csr.nodes[a], csr.nodes[b]
        assert J[k] == G.edges[u, v].get("J", -1.0)
    h = node_values(G, csr, ["h"])[:, 0]
    assert h.tolist() == [G.nodes[v]["h"] for v in csr.nodes]
    directed = directed_edge_values(csr, J)
    src = np.repeat(np.arange(csr.n_nodes), csr.degrees())
    for e in range(2 * csr.n_edges):
        u, v = csr.nodes[src[e]], csr.nodes[csr.indices[e]]
        assert directed[e] == G.edges[u, v].get("J", -1.0)


def test_missing_edge_attribute_names_edge():
    G = nx.path_graph(3)
    G.edges[1, 2]["J"] = 1.0
    with pytest.raises(
        InputError,
        match=r"edge \(0, 1\) has no attribute 'J' and no default was given in params",
    ):
        edge_values(G, to_csr(G), ["J"])


def test_missing_node_attribute_names_node():
    G = nx.Graph([("a", "b")])
    G.nodes["a"]["h"] = 0.1
    with pytest.raises(InputError, match=r"node 'b' has no attribute 'h'"):
        node_values(G, to_csr(G), ["h"])


@pytest.mark.parametrize(
    "bad, shown",
    [
        ("strong", "'strong'"),
        (None, "None"),
        (1 + 2j, r"\(1\+2j\)"),
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-np.inf, "-inf"),
        ("1.5", "'1.5'"),
        (10**400, "1000"),
    ],
    ids=["str", "None", "complex", "nan", "inf", "-inf", "numeric-str", "huge-int"],
)
def test_non_numeric_attributes_named(bad, shown):
    G = nx.path_graph(4)
    nx.set_edge_attributes(G, 1.0, "J")
    G.edges[2, 3]["J"] = bad
    with pytest.raises(InputError, match=rf"edge \(2, 3\) has attribute 'J' = {shown}"):
        edge_values(G, to_csr(G), ["J"])
    nx.set_node_attributes(G, 0.0, "h")
    G.nodes[1]["h"] = bad
    with pytest.raises(InputError, match=rf"node 1 has attribute 'h' = {shown}"):
        node_values(G, to_csr(G), ["h"])


def test_bad_default_refused():
    G = nx.path_graph(3)
    with pytest.raises(InputError, match=r"default for attribute 'J'.*nan"):
        edge_values(G, to_csr(G), ["J"], defaults={"J": math.nan})
    with pytest.raises(InputError, match=r"default for attribute 'h'.*'x'"):
        node_values(G, to_csr(G), ["h"], defaults={"h": "x"})


def test_stale_csr_refused():
    G = nx.path_graph(3)
    csr = to_csr(G)
    G.add_edge(0, 2, J=1.0)
    with pytest.raises(InputError, match="does not describe G"):
        edge_values(G, csr, ["J"], defaults={"J": 0.0})


def test_edge_values_on_graph_without_edges():
    G = nx.empty_graph(3)
    assert edge_values(G, to_csr(G), ["J"]).shape == (0, 1)
    assert directed_edge_values(to_csr(G), np.zeros(0)).shape == (0,)


def test_directed_edge_values_shape_checked():
    csr = to_csr(nx.path_graph(3))
    with pytest.raises(InputError, match="one entry per undirected edge"):
        directed_edge_values(csr, [1.0, 2.0, 3.0])
    rows = directed_edge_values(csr, np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert rows.tolist() == [[1.0, 2.0], [1.0, 2.0], [3.0, 4.0], [3.0, 4.0]]


def test_csrgraph_constructor_checks_shapes():
    with pytest.raises(InputError, match="inconsistent CSR arrays"):
        CSRGraph((0, 1), [0, 1], [1], [0], [0], [[0, 1]])
