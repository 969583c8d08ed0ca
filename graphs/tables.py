"""Energy tables of a pairwise model on a graph, from the compiled energies."""

import functools

import numpy as np

import numerics
from derive.spins import field_energy, pair_energy

from ._common import alphabet_values
from .csr import edge_values, node_values, to_csr

__all__ = ["energy_tables"]


@functools.lru_cache(maxsize=64)
def _energies(model):
    return pair_energy(model), field_energy(model)


def energy_tables(model, G, params=None):
    """``field[i, a] = phi(a; eta_i)`` and ``pair[k, a, b] = e(a, b; theta_k)``.

    Edges ``k`` are in ``list(G.edges())`` order, oriented as ``csr.edges[k]``;
    parameters come from node/edge attributes, falling back to ``params``.
    Returns ``(field, pair, csr)``.
    """
    values = alphabet_values(model)
    q = values.size
    csr = to_csr(G)
    defaults = {str(k): v for k, v in dict(params or {}).items()}
    pair_eqs, field_eqs = _energies(model)
    eta = node_values(G, csr, [p.name for p in field_eqs.params], defaults)
    theta = edge_values(G, csr, [p.name for p in pair_eqs.params], defaults)
    field = numerics.compile(field_eqs).array(values[None, :], *eta.T[:, :, None])[0]
    pair = numerics.compile(pair_eqs).array(
        values[None, :, None], values[None, None, :], *theta.T[:, :, None, None]
    )[0]
    field = np.ascontiguousarray(np.broadcast_to(field, (csr.n_nodes, q)))
    pair = np.ascontiguousarray(np.broadcast_to(pair, (csr.n_edges, q, q)))
    for name, table in (("field_energy", field), ("pair_energy", pair)):
        if not np.all(np.isfinite(table)):
            raise ValueError(f"{name} is not finite for some state and parameter values")
    return field, pair, csr
