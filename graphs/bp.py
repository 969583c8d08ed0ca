"""Belief propagation of any pairwise model on a networkx graph, over flat message arrays.

The update is :func:`derive.belief_propagation`, compiled once; messages live in
one array of shape ``(2 |E|, n_fields)`` indexed by the directed edges of the
CSR graph, with the reverse-edge index giving the opposite message in O(1)
(the libDAI layout). The Bethe free entropy combines the site terms of the
same equations with :func:`derive.bethe_edge`.
"""

from dataclasses import dataclass

import numpy as np

import numerics
from derive import memoized
from derive.bp import belief_propagation as derive_bp
from derive.bp import bethe_edge

from ._common import (
    InputError,
    alphabet_values,
    as_float_array,
    check_beta,
    check_damping,
    check_energy_scale,
    check_int,
    check_model,
    check_params,
    check_tol,
    graph_arrays,
    seeded_rng,
)
from .csr import _edge_columns, to_csr
from .results import GraphResult
from .tables import energy_tables

__all__ = ["belief_propagation", "BPResult", "SCHEDULES"]

SCHEDULES = ("parallel", "sequential", "random", "residual")


@dataclass(kw_only=True, repr=False)
class BPResult(GraphResult):
    """Belief propagation on a graph.

    Attributes
    ----------
    log_z : float
        The Bethe free entropy :math:`\\sum_i \\log Z_i - \\sum_{(ij)} \\log Z_{ij}`
        (exact on trees).
    messages : ndarray, shape (2 n_edges, n_fields)
        Cavity fields per directed edge (CSR order); pass as ``init`` to warm-start.
    edges : list of tuple
        ``list(G.edges())``, the order of the edge arrays.
    edge_marginals : ndarray, shape (n_edges, q, q)
    pair_correlations : ndarray, shape (n_edges,)
        ``E[s_u s_v]`` per edge.
    residuals : ndarray
        Largest change of a message at each iteration (``residual``: the last one).
    beta : float
    """

    log_z: float = 0.0
    messages: np.ndarray = None
    edges: list = None
    edge_marginals: np.ndarray = None
    pair_correlations: np.ndarray = None
    beta: float = 0.0

    @property
    def free_energy(self):
        """Bethe free energy ``-log Z / beta``."""
        return -self.log_z / self.beta


@memoized
def _derived(model):
    """The BP equations of ``model`` and their kernel, derived once per model content."""
    eqs = derive_bp(model)
    return eqs, numerics.compile(eqs)


@memoized
def _bethe_kernel(model):
    """The compiled Bethe edge term of ``model``, derived once per model content."""
    return numerics.compile(bethe_edge(model))


def _forward_edges(csr):
    """For each undirected edge k = (u, v), the directed edge u -> v."""
    source = np.repeat(np.arange(csr.n_nodes), np.diff(csr.indptr))
    forward = np.empty(csr.n_edges, dtype=np.int64)
    mask = source == csr.edges[csr.edge_id, 0]
    forward[csr.edge_id[mask]] = np.nonzero(mask)[0]
    return forward


def _initial_messages(init, shape, rng):
    if isinstance(init, BPResult):
        init = init.messages
    if init is None or (isinstance(init, str) and init == "random"):
        return rng.uniform(-1.0, 1.0, size=shape)
    if isinstance(init, str):
        if init != "uniform":
            raise InputError(
                f"init must be 'random', 'uniform', an array or a BPResult, got {init!r}"
            )
        return np.zeros(shape)
    messages = as_float_array(init, "init")
    if messages.ndim == 1 and shape[1] == 1:
        messages = messages[:, None]
    if messages.shape != shape:
        raise InputError(
            f"init messages must have shape {shape} (directed edges x fields), got {messages.shape}"
        )
    if not np.all(np.isfinite(messages)):
        raise InputError("init messages contain NaN or inf")
    return messages


def belief_propagation(
    model,
    G,
    beta,
    params=None,
    schedule="parallel",
    damping=0.0,
    tol=1e-10,
    max_iter=1000,
    init=None,
    seed=None,
    strict=False,
):
    r"""Solve the BP equations of ``model`` on ``G``; marginals and the Bethe free entropy.

    .. math::
        h_{i\to j, r} = -[\phi_i(a_r) - \phi_i(a_0)] + \sum_{k \in \partial i \setminus j}
        U_r(h_{k\to i}; \theta_{ki})

    Parameters
    ----------
    model : derive.PairwiseModel
    G : networkx.Graph
        Edge parameters from edge attributes, node parameters from node
        attributes, falling back to ``params``; a missing value is an error
        (there is no silent default). Isolated nodes keep their field-only marginal.
    beta : float
        Inverse temperature, > 0.
    params : dict, optional
    schedule : {"parallel", "sequential", "random", "residual"}
        ``parallel``: all messages from the previous ones (flooding);
        ``sequential``: in place, node by node in node order; ``random``: in
        place in a fresh random node order each sweep; ``residual``: each
        iteration computes every candidate message and commits those of the
        nodes whose largest change is at least half the largest overall (a
        synchronous variant of residual BP, Elidan, McGraw & Koller, UAI 2006).
    damping : float in [0, 1)
        ``new = (1 - damping) * update + damping * old``.
    tol : float
        Converged when no message changes by more than ``tol``.
    max_iter : int
    init : {"random", "uniform"}, array, or BPResult
        Starting messages: random fields in [-1, 1] (default), zero fields, an
        array of shape ``(2 |E|, n_fields)``, or a previous result (warm start).
    seed : int or numpy.random.Generator, optional
        For the random initial messages and the ``random`` schedule.
    strict : bool
        Raise :class:`numerics.ConvergenceError` instead of returning
        ``converged=False``.

    Returns
    -------
    BPResult
        Non-convergence gives ``converged=False`` and a message; the returned
        messages and marginals are always finite (the last finite iterate).

    Examples
    --------
    >>> import networkx as nx, numpy as np, sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> r = belief_propagation(ising, nx.path_graph(3), 1.0, params={"J": 1.0, "h": 0.0})
    >>> r.converged, bool(np.isclose(r.log_z, np.log(2 * (2 * np.cosh(1.0))**2)))
    (True, True)
    """
    check_model(model)
    eqs, kernel = _derived(model)  # a model that cannot be derived from: ModelError first
    beta = check_beta(beta)
    params = check_params(model, params)
    if schedule not in SCHEDULES:
        raise InputError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    damping = check_damping(damping)
    tol = check_tol(tol)
    max_iter = check_int("max_iter", max_iter, 1)
    rng, _ = seeded_rng(seed)
    mod = kernel.module
    csr = to_csr(G)
    arrays = graph_arrays(G, eqs, params, beta, csr=csr)
    check_energy_scale(*energy_tables(model, G, params, csr=csr)[:2], beta)
    for what, values in (("an edge", arrays.edge_values), ("a node", arrays.node_values)):
        with np.errstate(over="ignore"):
            finite = np.all(np.isfinite(beta * values))
        if not finite:
            raise InputError(
                f"beta times {what} parameter overflows (beta = {beta}, largest "
                f"|value| = {np.abs(values).max():.3g}): the Boltzmann weights "
                "are not representable"
            )
    n_fields = len(eqs.outputs)
    messages = _initial_messages(init, (csr.indices.size, n_fields), rng)
    args = (csr.indptr, csr.indices, csr.reverse)
    degrees = np.diff(csr.indptr)
    scratch = np.empty((max(int(degrees.max(initial=0)), 1), len(eqs.aggregates)))
    out, incoming = np.empty_like(messages), np.empty_like(messages)
    edge_source = np.repeat(np.arange(csr.n_nodes), degrees)
    residuals, converged = [], False
    text = f"no convergence to tol={tol} in {max_iter} iterations"
    iterations = 0
    if schedule == "parallel":  # the generated driver, the one numerics.export writes
        run = mod.iterate(
            *args, arrays.node_values, arrays.edge_values, tol, max_iter, damping=damping,
            init=messages,
        )  # fmt: skip
        messages, converged, iterations = run["messages"], run["converged"], run["iterations"]
        residuals, text = list(run["residuals"]), run["message"]
    for iterations in range(1, int(max_iter) + 1) if schedule != "parallel" else ():
        previous = messages.copy()
        if schedule in ("sequential", "random"):
            order = (
                np.arange(csr.n_nodes) if schedule == "sequential" else rng.permutation(csr.n_nodes)
            )
            change = mod.message_sweep_ordered(
                *args, messages, arrays.node_values, arrays.edge_values, scratch, order, damping
            )
        else:
            change = mod.message_sweep(
                *args,
                messages,
                arrays.node_values,
                arrays.edge_values,
                scratch,
                incoming,
                out,
                damping,
            )
            per_node = np.zeros(csr.n_nodes)
            np.maximum.at(per_node, edge_source, np.abs(out - messages).max(axis=1))
            commit = per_node[edge_source] >= 0.5 * change
            messages[commit] = out[commit]
        residuals.append(change)
        if not (np.isfinite(change) and np.all(np.isfinite(messages))):
            messages = previous
            text = (
                f"messages became non-finite at iteration {iterations}; kept the last finite ones"
            )
            break
        if change < tol:
            converged, text = True, f"converged in {iterations} iterations"
            break
    observables = np.empty((csr.n_nodes, len(eqs.observables)))
    mod.graph_beliefs(*args, messages, arrays.node_values, arrays.edge_values, observables)
    q = len(model.alphabet)
    marginals, site_log_z = observables[:, :q], observables[:, q]
    edge_marginals, edge_log_z = _edge_terms(model, G, csr, messages, beta, params)
    values = alphabet_values(model)
    result = BPResult(
        nodes=csr.nodes,
        alphabet=values,
        marginals=marginals,
        log_z=float(site_log_z.sum() - edge_log_z.sum()),
        messages=messages,
        edges=[(csr.nodes[u], csr.nodes[v]) for u, v in csr.edges],
        edge_marginals=edge_marginals,
        pair_correlations=np.einsum("kab,a,b->k", edge_marginals, values, values),
        converged=converged,
        iterations=iterations,
        residual=float(residuals[-1]) if residuals else None,
        residuals=np.array(residuals, dtype=float),
        message=text,
        beta=beta,
    )
    return result.finish(strict)


def _edge_terms(model, G, csr, messages, beta, params):
    """Edge marginals and ``log Z_ij`` for every undirected edge, from both messages."""
    q = len(model.alphabet)
    kernel = _bethe_kernel(model)
    if csr.n_edges == 0:
        return np.zeros((0, q, q)), np.zeros(0)
    forward = _forward_edges(csr)
    backward = csr.reverse[forward]
    theta = _edge_columns(
        G,
        csr,
        [p.name for p in model.edge_params],
        {str(k): v for k, v in dict(params or {}).items()},
    )
    columns = [*messages[forward].T, *messages[backward].T, np.full(csr.n_edges, beta), *theta.T]
    log_z = kernel.array(*columns)[0]
    joint = kernel.array(*columns, observables=True).T.reshape(csr.n_edges, q, q)
    return joint, log_z
