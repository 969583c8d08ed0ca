"""Energy tables of a pairwise model on a graph, from the compiled energies."""

import numpy as np

import numerics
from derive import InputError, memoized
from derive.spins import field_energy, pair_energy

from ._common import alphabet_values
from .csr import _edge_columns, _node_columns, to_csr

__all__ = ["energy_tables"]


@memoized
def _energies(model):
    """The pair and field energies of ``model`` as Equations, once per model content."""
    return pair_energy(model), field_energy(model)


def energy_tables(model, G, params=None, csr=None):
    """``field[i, a] = phi(a; eta_i)`` and ``pair[k, a, b] = e(a, b; theta_k)``.

    Edges ``k`` are in ``list(G.edges())`` order, oriented as ``csr.edges[k]``;
    parameters come from node/edge attributes, falling back to ``params``.
    ``csr`` is ``to_csr(G)`` if the caller has just built it; None builds it.
    Returns ``(field, pair, csr)``; raises :class:`derive.InputError` if an
    energy is not finite.
    """
    values = alphabet_values(model)
    q = values.size
    if csr is None:
        csr = to_csr(G)
    defaults = {str(k): v for k, v in dict(params or {}).items()}
    pair_eqs, field_eqs = _energies(model)
    eta = _node_columns(G, csr, [p.name for p in field_eqs.params], defaults)
    theta = _edge_columns(G, csr, [p.name for p in pair_eqs.params], defaults)
    with np.errstate(all="ignore"):
        field = numerics.compile(field_eqs).array(values[None, :], *eta.T[:, :, None])[0]
        pair = numerics.compile(pair_eqs).array(
            values[None, :, None], values[None, None, :], *theta.T[:, :, None, None]
        )[0]
    field = np.ascontiguousarray(np.broadcast_to(field, (csr.n_nodes, q)))
    pair = np.ascontiguousarray(np.broadcast_to(pair, (csr.n_edges, q, q)))
    for name, table in (("field_energy", field), ("pair_energy", pair)):
        if not np.all(np.isfinite(table)):
            raise InputError(
                f"{name} is not finite for some state and parameter values "
                "(a parameter too large for float64?)"
            )
    return field, pair, csr
