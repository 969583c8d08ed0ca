"""Exact enumeration of a pairwise model on a small graph: the oracle of every test."""

from dataclasses import dataclass

import numpy as np

from derive import InputError

from ._common import (
    alphabet_values,
    check_beta,
    check_energy_scale,
    check_int,
    check_model,
    check_params,
)
from ._enumerate import exact_tables
from .csr import to_csr
from .results import GraphResult
from .tables import energy_tables

__all__ = ["exact", "ExactResult", "MAX_STATES"]

#: Largest number of configurations ``q**n`` that :func:`exact` enumerates.
MAX_STATES = 2**24


@dataclass(kw_only=True, repr=False)
class ExactResult(GraphResult):
    """Exact Gibbs averages.

    Enumeration does not iterate: ``converged`` is True and ``iterations`` 0 unless
    a quantity came out non-finite, which is reported (``converged=False``) with the
    reason in ``message``.

    Attributes
    ----------
    log_z : float
        ``log sum_s exp(-beta E(s))``.
    edges : list of tuple
        ``list(G.edges())``: the order of the edge arrays.
    edge_marginals : ndarray, shape (n_edges, q, q)
        ``P(s_u = a, s_v = b)`` for edge ``(u, v)``.
    pair_correlations : ndarray, shape (n_edges,)
        ``E[s_u s_v]`` per edge.
    energy : float
        Mean energy ``<E>``.
    beta : float
    """

    log_z: float = 0.0
    edges: list = None
    edge_marginals: np.ndarray = None
    pair_correlations: np.ndarray = None
    energy: float = 0.0
    beta: float = 0.0

    @property
    def free_energy(self):
        """``F = -log Z / beta``."""
        return -self.log_z / self.beta


def exact(model, G, beta, params=None, max_states=MAX_STATES, strict=False):
    r"""Exact Gibbs measure :math:`P(s) \propto e^{-\beta E(s)}` by enumerating every configuration.

    Parameters
    ----------
    model : derive.PairwiseModel
    G : networkx.Graph
        Parameters are read from node/edge attributes, falling back to ``params``.
    beta : float
        Inverse temperature, > 0.
    params : dict, optional
    max_states : int
        Refuse when ``q**n`` exceeds this (default ``2**24``, about 17 million).
    strict : bool
        Raise :class:`numerics.ConvergenceError` instead of returning a result with
        ``converged=False``.

    Returns
    -------
    ExactResult

    Raises
    ------
    derive.InputError
        Not a graph, an empty graph, ``beta <= 0`` or not finite, an unknown key in
        ``params``, a missing or non-finite parameter, energies whose Boltzmann
        weights overflow float64, or a graph too large.
    derive.ModelError
        ``model`` is not a :class:`derive.PairwiseModel`.

    Examples
    --------
    >>> import networkx as nx, numpy as np, sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J = sp.symbols("s_i s_j J", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, variables=(si, sj))
    >>> r = exact(ising, nx.path_graph(2), beta=0.5, params={"J": 1.0})
    >>> bool(np.isclose(r.log_z, np.log(4 * np.cosh(0.5))))
    True
    >>> bool(np.isclose(r.pair_correlations[0], np.tanh(0.5)))
    True
    """
    check_model(model)
    beta = check_beta(beta)
    params = check_params(model, params)
    max_states = check_int("max_states", max_states, 1)
    csr = to_csr(G)
    values = alphabet_values(model)
    q, n = values.size, csr.n_nodes
    if n and q**n > max_states:
        raise InputError(
            f"exact enumeration of {n} nodes with {q} states needs q**n = {q}**{n} "
            f"configurations; the limit is max_states = {max_states}: use a smaller "
            "graph, belief propagation or Monte Carlo"
        )
    field, pair, csr = energy_tables(model, G, params, csr=csr)
    check_energy_scale(field, pair, beta)
    log_z, marginals, edge_marginals, energy = exact_tables(
        field, pair, csr.edges, beta, max_states=max_states
    )
    correlations = np.einsum("kab,a,b->k", edge_marginals, values, values)
    finite = all(
        np.all(np.isfinite(x)) for x in (log_z, marginals, edge_marginals, energy, correlations)
    )
    message = (
        f"exact enumeration of {q}**{n} configurations"
        if finite
        else "exact enumeration gave a non-finite quantity (energies too large for float64)"
    )
    result = ExactResult(
        converged=bool(finite),
        message=message,
        nodes=csr.nodes,
        alphabet=values,
        marginals=marginals,
        log_z=float(log_z),
        edges=[(csr.nodes[u], csr.nodes[v]) for u, v in csr.edges],
        edge_marginals=edge_marginals,
        pair_correlations=correlations,
        energy=float(energy),
        beta=beta,
    )
    return result.finish(strict)
