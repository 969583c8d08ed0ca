"""Compressed sparse row (CSR) view of a networkx graph.

Message-passing and Monte Carlo kernels compiled with numba cannot walk a
networkx graph: they need flat integer arrays.  :func:`to_csr` converts an
undirected :class:`networkx.Graph` into a :class:`CSRGraph` holding

* the neighbours of every node as a CSR structure (``indptr``, ``indices``),
  one entry per *directed* edge ``i -> j``, sorted by source then target;
* an O(1) reverse-edge index (``reverse``), so that the cavity message
  ``j -> i`` is found from ``i -> j`` without a search;
* the undirected edge behind every directed edge (``edge_id``) and the
  endpoints of every undirected edge (``edges``), in ``list(G.edges())``
  order, so per-edge parameters line up with networkx edge attributes.

Nodes are numbered in ``list(G)`` order.  The conversion is vectorised with
numpy and is not cached: a networkx graph is mutable and has no version
counter, and a cache keyed on anything less than the full adjacency answered
for a graph that had been rewired (issue 9 §1).  Solvers build the CSR arrays
once per call and pass them down.

:func:`edge_values` and :func:`node_values` gather numeric node / edge
attributes into float64 arrays aligned with a :class:`CSRGraph`, and
:func:`directed_edge_values` spreads per-edge values onto directed edges.
"""

import itertools
import numbers
from dataclasses import dataclass

import networkx as nx
import numpy as np

from derive.errors import InputError

__all__ = [
    "CSRGraph",
    "to_csr",
    "edge_values",
    "node_values",
    "directed_edge_values",
]


@dataclass(frozen=True, eq=False, repr=False)
class CSRGraph:
    """Read-only CSR arrays of an undirected simple graph.

    Build instances with :func:`to_csr`; the constructor makes the arrays
    passed to it read-only (``flags.writeable = False``) in place.

    Attributes
    ----------
    nodes : tuple
        The nodes of the graph, in ``list(G)`` order; node ``i`` of the
        arrays below is ``nodes[i]``.
    indptr : ndarray of int64, shape (n + 1,)
        The directed edges leaving node ``i`` are
        ``indptr[i]:indptr[i + 1]``.
    indices : ndarray of int64, shape (2 * |E|,)
        Target node of each directed edge; edges are sorted by source, then
        by target.
    reverse : ndarray of int64, shape (2 * |E|,)
        For the directed edge ``e = (i -> j)``, ``reverse[e]`` is the
        position of ``(j -> i)``.
    edge_id : ndarray of int64, shape (2 * |E|,)
        Index, in ``list(G.edges())`` order, of the undirected edge behind
        each directed edge.
    edges : ndarray of int64, shape (|E|, 2)
        Endpoints (node indices) of the undirected edges, in
        ``list(G.edges())`` order and orientation.

    Examples
    --------
    >>> import networkx as nx
    >>> csr = to_csr(nx.path_graph(3))
    >>> csr.n_nodes, csr.n_edges
    (3, 2)
    >>> csr.indptr.tolist(), csr.indices.tolist()
    ([0, 1, 3, 4], [1, 0, 2, 1])
    >>> csr.reverse.tolist(), csr.edge_id.tolist()
    ([1, 0, 3, 2], [0, 0, 1, 1])
    >>> csr.degrees().tolist()
    [1, 2, 1]
    """

    nodes: tuple
    indptr: np.ndarray
    indices: np.ndarray
    reverse: np.ndarray
    edge_id: np.ndarray
    edges: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "nodes", tuple(self.nodes))
        for name in ("indptr", "indices", "reverse", "edge_id", "edges"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.int64)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        n, m = len(self.nodes), self.edges.shape[0]
        if self.indptr.shape != (n + 1,) or self.edges.shape != (m, 2):
            raise InputError(
                f"inconsistent CSR arrays: {n} nodes need indptr of shape "
                f"({n + 1},), got {self.indptr.shape}; edges must have shape "
                f"(|E|, 2), got {self.edges.shape}"
            )
        for name in ("indices", "reverse", "edge_id"):
            if getattr(self, name).shape != (2 * m,):
                raise InputError(
                    f"inconsistent CSR arrays: {name} must have shape "
                    f"({2 * m},) for {m} edges, got {getattr(self, name).shape}"
                )

    @property
    def n_nodes(self):
        """int: Number of nodes."""
        return len(self.nodes)

    @property
    def n_edges(self):
        """int: Number of undirected edges (half the directed edges)."""
        return self.edges.shape[0]

    def degrees(self):
        """Degree of every node.

        Returns
        -------
        ndarray of int64, shape (n,)
            ``degrees()[i]`` is the degree of ``nodes[i]``.

        Examples
        --------
        >>> import networkx as nx
        >>> to_csr(nx.star_graph(3)).degrees().tolist()
        [3, 1, 1, 1]
        """
        return np.diff(self.indptr)

    def __repr__(self):
        return f"CSRGraph(n_nodes={self.n_nodes}, n_edges={self.n_edges})"


def _check_graph(G):
    """Raise :class:`~derive.InputError` unless `G` is a non-empty undirected simple graph."""
    if not isinstance(G, nx.Graph):
        raise InputError(
            f"expected a networkx Graph, got {type(G).__name__}: build one with "
            "networkx (for instance nx.Graph(edge_list))"
        )
    if G.is_directed():
        raise InputError(
            f"expected an undirected nx.Graph, got a {type(G).__name__}: "
            "pairwise models are defined on undirected graphs; "
            "use G.to_undirected() if that is what you mean"
        )
    if G.is_multigraph():
        raise InputError(
            f"expected an nx.Graph, got a {type(G).__name__}: multigraphs "
            "are not supported; use nx.Graph(G) to merge parallel edges"
        )
    if len(G) == 0:
        raise InputError("graph has no nodes")


def _edge_array(G, nodes):
    """Endpoints of ``list(G.edges())`` as node indices, without iterating it.

    ``G.edges()`` yields, for each node ``a`` in order, the neighbours ``b``
    of ``a`` (adjacency order) not yielded as a source before, i.e. those
    with ``index(b) >= index(a)``.  The same selection made with numpy on
    the flattened adjacency is an order of magnitude faster.
    """
    n = len(nodes)
    adj = getattr(G, "_adj", None)
    if adj is None:  # pragma: no cover - every nx.Graph has _adj
        adj = G.adj
    degree = np.fromiter(map(len, adj.values()), dtype=np.int64, count=n)
    targets = itertools.chain.from_iterable(adj.values())
    total = int(degree.sum())
    if nodes == tuple(range(n)):
        dst = np.fromiter(targets, dtype=np.int64, count=total)
    else:
        index = {v: i for i, v in enumerate(nodes)}
        dst = np.fromiter(map(index.__getitem__, targets), dtype=np.int64, count=total)
    src = np.repeat(np.arange(n, dtype=np.int64), degree)
    keep = dst >= src
    return np.stack((src[keep], dst[keep]), axis=1)


def _build_csr(G):
    nodes = tuple(G)
    n = len(nodes)
    edges = _edge_array(G, nodes)
    m = edges.shape[0]
    u, v = edges[:, 0], edges[:, 1]

    loops = np.flatnonzero(u == v)
    if loops.size:
        node = nodes[u[loops[0]]]
        raise InputError(
            f"graph has a self-loop at node {node!r}: pairwise models need "
            "i != j; remove it with "
            "G.remove_edges_from(nx.selfloop_edges(G))"
        )

    # Directed edge d < m is u[d] -> v[d]; d >= m is its reverse.
    src = np.concatenate((u, v))
    dst = np.concatenate((v, u))
    order = np.argsort(src * n + dst, kind="stable")
    indices = dst[order]
    edge_id = np.where(order < m, order, order - m)
    position = np.empty(2 * m, dtype=np.int64)
    position[order] = np.arange(2 * m, dtype=np.int64)
    if m:
        reverse = position[(order + m) % (2 * m)]
    else:
        reverse = np.empty(0, dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return CSRGraph(nodes, indptr, indices, reverse, edge_id, edges)


def to_csr(G):
    """Convert an undirected networkx graph to CSR arrays.

    Parameters
    ----------
    G : networkx.Graph
        Undirected simple graph with hashable nodes (integers, strings,
        tuples, ...).  Isolated nodes are allowed.  Node ``i`` of the
        result is ``list(G)[i]``; undirected edge ``k`` is
        ``list(G.edges())[k]``.

    Returns
    -------
    CSRGraph
        Read-only arrays; see :class:`CSRGraph`.

    Raises
    ------
    derive.InputError
        If `G` is not a networkx graph, is directed, a multigraph, has no
        nodes, or has a self-loop (the message names the node).

    Notes
    -----
    Conversion takes O(|E| log |E|) time with vectorised numpy operations
    (about a second for a random regular graph with 10**6 nodes).  Nothing is
    cached: every call reads the graph as it is now, so an edit that keeps the
    numbers of nodes and edges (removing one edge and adding another) is seen.
    A solver converts once per call; to run many solvers on one graph that
    does not change, the conversion is a small fraction of the work.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.grid_2d_graph(2, 2)
    >>> csr = to_csr(G)
    >>> csr.nodes
    ((0, 0), (0, 1), (1, 0), (1, 1))
    >>> csr.edges.tolist()
    [[0, 2], [0, 1], [1, 3], [2, 3]]
    >>> G.remove_edge((0, 0), (0, 1)); G.add_edge((0, 0), (1, 1))
    >>> to_csr(G).edges.tolist()
    [[0, 2], [0, 3], [1, 3], [2, 3]]
    >>> to_csr(nx.Graph([(3, 3)]))
    Traceback (most recent call last):
        ...
    derive.errors.InputError: graph has a self-loop at node 3: pairwise models need i != j; remove it with G.remove_edges_from(nx.selfloop_edges(G))
    """
    _check_graph(G)
    return _build_csr(G)


class _Missing:
    """Sentinel type for an attribute that is absent and has no default."""

    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


def _is_real_type(t):
    return issubclass(t, numbers.Real)


def _as_names(names):
    if isinstance(names, str):
        return [names]
    names = list(names)
    for name in names:
        if not isinstance(name, str):
            raise InputError(f"attribute names must be strings, got {name!r}")
    return names


def _check_default(defaults, name):
    if name not in defaults:
        return _MISSING
    value = defaults[name]
    ok = _is_real_type(type(value))
    if ok:
        try:
            ok = bool(np.isfinite(float(value)))
        except (OverflowError, ValueError):
            ok = False
    if not ok:
        raise InputError(
            f"default for attribute {name!r} must be a finite real number, got {value!r}"
        )
    return value


def _to_float(column, name, kind, label):
    """Convert `column` to float64, naming the first bad entry on error."""
    if all(map(_is_real_type, set(map(type, column)))):
        try:
            arr = np.array(column, dtype=np.float64)
        except (OverflowError, ValueError):
            arr = None
        if arr is not None:
            bad = np.flatnonzero(~np.isfinite(arr))
            if not bad.size:
                return arr
            k = int(bad[0])
            raise InputError(
                f"{kind} {label(k)} has attribute {name!r} = "
                f"{column[k]!r}, which is not a finite real number"
            )
    for k, value in enumerate(column):
        if value is _MISSING:
            raise InputError(
                f"{kind} {label(k)} has no attribute {name!r} and no default was given in params"
            )
        ok = _is_real_type(type(value))
        if ok:
            try:
                ok = bool(np.isfinite(float(value)))
            except (OverflowError, ValueError):
                ok = False
        if not ok:
            raise InputError(
                f"{kind} {label(k)} has attribute {name!r} = {value!r}, "
                "which is not a finite real number"
            )
    raise AssertionError("unreachable")  # pragma: no cover


def _resolve_csr(G, csr, edges=True):
    """``to_csr(G)``, or `csr` after checking that it describes `G` as it is now.

    The nodes (and, if `edges`, the edges in ``list(G.edges())`` order) are
    compared with the graph's, so arrays built before an edit are refused
    rather than misaligned with the attributes read from `G`.
    """
    if csr is None:
        return to_csr(G)
    if not isinstance(csr, CSRGraph):
        raise InputError(f"csr must be a CSRGraph, got {type(csr).__name__}")
    _check_graph(G)
    nodes = tuple(G)
    stale = csr.nodes != nodes
    if not stale and edges:
        stale = not np.array_equal(_edge_array(G, nodes), csr.edges)
    if stale:
        raise InputError(
            f"csr ({csr.n_nodes} nodes, {csr.n_edges} edges) does not describe G as it is "
            f"now ({G.number_of_nodes()} nodes, {G.number_of_edges()} edges): the graph "
            "was edited after the arrays were built; rebuild them with to_csr(G)"
        )
    return csr


def _columns(data, names, defaults, kind, label, n):
    names = _as_names(names)
    defaults = {} if defaults is None else defaults
    out = np.empty((n, len(names)), dtype=np.float64)
    for c, name in enumerate(names):
        default = _check_default(defaults, name)
        column = [d.get(name, default) for d in data]
        out[:, c] = _to_float(column, name, kind, label)
    return out


def _edge_columns(G, csr, names, defaults=None):
    """:func:`edge_values` for a `csr` just built from `G` (no check that it matches)."""
    data = [d for _, _, d in G.edges(data=True)]
    nodes, ends = csr.nodes, csr.edges

    def label(k):
        return repr((nodes[ends[k, 0]], nodes[ends[k, 1]]))

    return _columns(data, names, defaults, "edge", label, csr.n_edges)


def _node_columns(G, csr, names, defaults=None):
    """:func:`node_values` for a `csr` just built from `G` (no check that it matches)."""
    data = [d for _, d in G.nodes(data=True)]
    nodes = csr.nodes

    def label(k):
        return repr(nodes[k])

    return _columns(data, names, defaults, "node", label, csr.n_nodes)


def edge_values(G, csr, names, defaults=None):
    """Gather numeric edge attributes into a float64 array.

    Parameters
    ----------
    G : networkx.Graph
        The graph `csr` was built from.
    csr : CSRGraph or None
        ``to_csr(G)``; None builds one.
    names : str or sequence of str
        Edge attribute names, one column each.
    defaults : mapping, optional
        ``defaults[name]`` is used on edges that lack attribute `name`.

    Returns
    -------
    ndarray of float64, shape (|E|, len(names))
        Row ``k`` holds the attributes of undirected edge ``k``
        (``list(G.edges())`` order, as ``csr.edges``).

    Raises
    ------
    derive.InputError
        If an edge lacks an attribute that has no default, if a value (or a
        default) is not a finite real number (strings, None, complex, NaN,
        inf), or if `csr` does not describe `G` as it is now.  The message names the
        attribute, an offending edge and the bad value.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.path_graph(3)
    >>> G.edges[0, 1]["J"] = 2.0
    >>> edge_values(G, to_csr(G), ["J"], defaults={"J": 1.0}).tolist()
    [[2.0], [1.0]]
    >>> edge_values(G, to_csr(G), ["J"])
    Traceback (most recent call last):
        ...
    derive.errors.InputError: edge (1, 2) has no attribute 'J' and no default was given in params
    """
    csr = _resolve_csr(G, csr, edges=True)
    return _edge_columns(G, csr, names, defaults)


def node_values(G, csr, names, defaults=None):
    """Gather numeric node attributes into a float64 array.

    Parameters
    ----------
    G : networkx.Graph
        The graph `csr` was built from.
    csr : CSRGraph or None
        ``to_csr(G)``; None builds one.
    names : str or sequence of str
        Node attribute names, one column each.
    defaults : mapping, optional
        ``defaults[name]`` is used on nodes that lack attribute `name`.

    Returns
    -------
    ndarray of float64, shape (n, len(names))
        Row ``i`` holds the attributes of node ``csr.nodes[i]``.

    Raises
    ------
    derive.InputError
        If a node lacks an attribute that has no default, if a value (or a
        default) is not a finite real number (strings, None, complex, NaN,
        inf), or if `csr` does not describe `G` as it is now.  The message names the
        attribute, an offending node and the bad value.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.path_graph(3)
    >>> G.nodes[2]["h"] = -0.5
    >>> node_values(G, to_csr(G), "h", defaults={"h": 0.0}).ravel().tolist()
    [0.0, 0.0, -0.5]
    >>> G.nodes[1]["h"] = "strong"
    >>> node_values(G, to_csr(G), "h", defaults={"h": 0.0})
    Traceback (most recent call last):
        ...
    derive.errors.InputError: node 1 has attribute 'h' = 'strong', which is not a finite real number
    """
    csr = _resolve_csr(G, csr, edges=False)
    return _node_columns(G, csr, names, defaults)


def directed_edge_values(csr, values):
    """Copy per-undirected-edge values onto the directed edges.

    Parameters
    ----------
    csr : CSRGraph
        The graph.
    values : array_like, shape (|E|, ...)
        One value (or row) per undirected edge, in ``csr.edges`` order.

    Returns
    -------
    ndarray, shape (2 * |E|, ...)
        ``values[csr.edge_id]``: the value of the undirected edge behind
        every directed edge, in CSR order.

    Raises
    ------
    derive.InputError
        If the first dimension of `values` is not ``csr.n_edges``.

    Examples
    --------
    >>> import networkx as nx
    >>> csr = to_csr(nx.path_graph(3))
    >>> directed_edge_values(csr, [10.0, 20.0]).tolist()
    [10.0, 10.0, 20.0, 20.0]
    """
    values = np.asarray(values)
    if values.ndim == 0 or values.shape[0] != csr.n_edges:
        raise InputError(
            f"values must have one entry per undirected edge (first "
            f"dimension {csr.n_edges}), got shape {values.shape}"
        )
    return values[csr.edge_id]
