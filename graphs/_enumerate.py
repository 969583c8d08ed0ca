"""Exact enumeration of a pairwise model over a finite alphabet.

The model on ``n`` nodes with ``q`` states per node is

    P(s) = exp(-beta * E(s)) / Z,
    E(s) = sum_i field_table[i, s_i] + sum_k pair_table[k, s_u, s_v],

where edge ``k`` joins ``u = edges[k, 0]`` and ``v = edges[k, 1]``.
:func:`enumerate_states` (numba) visits all ``q**n`` configurations and
returns ``log Z``, the node and edge marginals and the mean energy exactly;
:func:`exact_tables` validates its inputs and refuses sizes that would not
finish.

Algorithm
---------
* Configurations are visited in reflected mixed-radix Gray-code order, so
  that exactly one node changes between consecutive configurations and the
  energy is updated incrementally from that node's field term and its
  incident edges (recomputed from scratch every 1024 steps to stop
  rounding drift).
* Weights are accumulated relative to a running reference ``m`` close to
  the running maximum of ``-beta * E`` (log-sum-exp style): whenever a
  weight exceeds the reference by more than ``e**300`` the accumulators are
  rescaled, so nothing overflows and the largest terms never underflow,
  at any ``beta``.
* Marginals are accumulated lazily: node ``j`` is digit ``j`` of the
  counter, and the weight collected since the last change of any digit
  ``>= l`` is flushed to the node ``l`` and to the edges whose lower
  endpoint is ``l`` only when such a change happens.  Per configuration
  this costs O(1) amortised instead of O(n + |E|), and it only adds
  positive numbers (no cancellation).
"""

import numba
import numpy as np

from derive.errors import InputError

__all__ = ["enumerate_states", "exact_tables"]

#: Rescale the accumulators when a weight exceeds the reference by e**300.
_RESCALE_LOG = 300.0
#: Recompute the energy from scratch every this many steps.
_REFRESH_STEPS = 1024


@numba.njit(cache=True)
def _energy(field_table, pair_table, eu, ev, s):
    e = 0.0
    for i in range(field_table.shape[0]):
        e += field_table[i, s[i]]
    for k in range(eu.shape[0]):
        e += pair_table[k, s[eu[k]], s[ev[k]]]
    return e


@numba.njit(cache=True)
def enumerate_states(field_table, pair_table, edges, beta):
    """Enumerate all configurations of a pairwise model (numba kernel).

    Parameters
    ----------
    field_table : ndarray of float64, shape (n, q)
        ``field_table[i, a]``: energy of node ``i`` in state ``a``.
    pair_table : ndarray of float64, shape (|E|, q, q)
        ``pair_table[k, a, b]``: energy of edge ``k = (u, v)`` with ``u`` in
        state ``a`` and ``v`` in state ``b``.
    edges : ndarray of int64, shape (|E|, 2)
        Endpoints of each edge.
    beta : float
        Inverse temperature.

    Returns
    -------
    log_z : float
        ``log sum_s exp(-beta * E(s))``.
    node_marginals : ndarray of float64, shape (n, q)
        ``P(s_i = a)``.
    edge_marginals : ndarray of float64, shape (|E|, q, q)
        ``P(s_u = a, s_v = b)`` for edge ``k = (u, v)``.
    mean_energy : float
        ``<E>``.

    Notes
    -----
    No validation is done here: use :func:`exact_tables`.  Energies must
    be finite.
    """
    n, q = field_table.shape
    n_edges = edges.shape[0]
    eu = np.empty(n_edges, dtype=np.int64)
    ev = np.empty(n_edges, dtype=np.int64)
    for k in range(n_edges):
        eu[k] = edges[k, 0]
        ev[k] = edges[k, 1]

    # Incident edges of every node (an edge with u == v is listed once).
    inc_ptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(n_edges):
        inc_ptr[eu[k] + 1] += 1
        if ev[k] != eu[k]:
            inc_ptr[ev[k] + 1] += 1
    for i in range(n):
        inc_ptr[i + 1] += inc_ptr[i]
    inc = np.empty(inc_ptr[n], dtype=np.int64)
    fill = inc_ptr[:n].copy()
    for k in range(n_edges):
        inc[fill[eu[k]]] = k
        fill[eu[k]] += 1
        if ev[k] != eu[k]:
            inc[fill[ev[k]]] = k
            fill[ev[k]] += 1

    # Edges grouped by level = lower endpoint (flushed with that digit).
    lvl_ptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(n_edges):
        lvl_ptr[min(eu[k], ev[k]) + 1] += 1
    for i in range(n):
        lvl_ptr[i + 1] += lvl_ptr[i]
    lvl = np.empty(n_edges, dtype=np.int64)
    fill = lvl_ptr[:n].copy()
    for k in range(n_edges):
        l = min(eu[k], ev[k])
        lvl[fill[l]] = k
        fill[l] += 1

    total = 1
    for _ in range(n):
        total *= q

    s = np.zeros(n, dtype=np.int64)
    direction = np.ones(n, dtype=np.int64)
    pending = np.zeros(n + 1)  # weight since the last change of digit >= l
    node_acc = np.zeros((n, q))
    edge_acc = np.zeros((n_edges, q, q))
    z_acc = 0.0
    e_acc = 0.0

    energy = _energy(field_table, pair_table, eu, ev, s)
    ref = -beta * energy
    for step in range(total):
        w = -beta * energy
        if w > ref + _RESCALE_LOG:
            r = np.exp(ref - w)
            z_acc *= r
            e_acc *= r
            pending *= r
            node_acc *= r
            edge_acc *= r
            ref = w
        p = np.exp(w - ref)
        z_acc += p
        e_acc += p * energy
        pending[0] += p
        if step == total - 1:
            break

        # Next reflected Gray-code move: lowest digit able to move.
        j = 0
        while True:
            nv = s[j] + direction[j]
            if nv >= 0 and nv < q:
                break
            direction[j] = -direction[j]
            j += 1

        # Flush levels 0..j before node j changes.
        for l in range(j + 1):
            t = pending[l]
            if t != 0.0:
                node_acc[l, s[l]] += t
                for idx in range(lvl_ptr[l], lvl_ptr[l + 1]):
                    k = lvl[idx]
                    edge_acc[k, s[eu[k]], s[ev[k]]] += t
                pending[l + 1] += t
                pending[l] = 0.0

        # Incremental energy update.
        old = s[j]
        delta = field_table[j, nv] - field_table[j, old]
        for idx in range(inc_ptr[j], inc_ptr[j + 1]):
            k = inc[idx]
            a_old = s[eu[k]]
            b_old = s[ev[k]]
            a_new = nv if eu[k] == j else a_old
            b_new = nv if ev[k] == j else b_old
            delta += pair_table[k, a_new, b_new] - pair_table[k, a_old, b_old]
        s[j] = nv
        if (step + 1) % _REFRESH_STEPS == 0:
            energy = _energy(field_table, pair_table, eu, ev, s)
        else:
            energy += delta

    # Final flush of every level.
    for l in range(n):
        t = pending[l]
        if t != 0.0:
            node_acc[l, s[l]] += t
            for idx in range(lvl_ptr[l], lvl_ptr[l + 1]):
                k = lvl[idx]
                edge_acc[k, s[eu[k]], s[ev[k]]] += t
            pending[l + 1] += t
            pending[l] = 0.0

    log_z = ref + np.log(z_acc)
    return log_z, node_acc / z_acc, edge_acc / z_acc, e_acc / z_acc


def _power_text(value):
    """``'2**24'`` for powers of two, else ``str(value)``."""
    if value > 0 and value & (value - 1) == 0:
        return f"{value} (2**{value.bit_length() - 1})"
    return str(value)


def exact_tables(field_table, pair_table, edges, beta, max_states=2**24):
    """Exact log partition function, marginals and energy of a small model.

    Parameters
    ----------
    field_table : array_like of float, shape (n, q)
        ``field_table[i, a]``: energy of node ``i`` in state ``a``.
    pair_table : array_like of float, shape (|E|, q, q)
        ``pair_table[k, a, b]``: energy of edge ``k = (u, v)`` with ``u`` in
        state ``a`` and ``v`` in state ``b``.
    edges : array_like of int, shape (|E|, 2)
        Endpoints (node indices in ``range(n)``) of each edge.
    beta : float
        Inverse temperature (finite; any sign).
    max_states : int, default 2**24
        Refuse to enumerate more than this many configurations.

    Returns
    -------
    log_z : float
        Log partition function ``log sum_s exp(-beta * E(s))`` with
        ``E(s) = sum_i field_table[i, s_i] + sum_k pair_table[k, s_u, s_v]``.
    node_marginals : ndarray of float64, shape (n, q)
        ``P(s_i = a)``.
    edge_marginals : ndarray of float64, shape (|E|, q, q)
        ``P(s_u = a, s_v = b)`` for edge ``k = (u, v)``.
    mean_energy : float
        ``<E>`` under ``P``.

    Raises
    ------
    derive.InputError
        If shapes or dtypes are inconsistent, a table entry or `beta` is not
        finite (hard constraints, i.e. infinite energies, are not
        supported), an edge endpoint is out of range, or ``q**n`` exceeds
        `max_states` (the message states the size).

    Examples
    --------
    Two Ising spins (states 0, 1 = spin -1, +1) coupled by ``J = 1``:

    >>> import numpy as np
    >>> spin = np.array([-1.0, 1.0])
    >>> field = np.zeros((2, 2))
    >>> pair = -np.outer(spin, spin)[None]          # E = -J s_u s_v
    >>> log_z, nm, em, e = exact_tables(field, pair, [[0, 1]], beta=0.5)
    >>> bool(np.isclose(log_z, np.log(4 * np.cosh(0.5))))
    True
    >>> nm.round(6).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    >>> bool(np.isclose(e, -np.tanh(0.5)))
    True
    >>> exact_tables(np.zeros((30, 2)), np.zeros((0, 2, 2)), np.zeros((0, 2), int), 1.0)
    Traceback (most recent call last):
        ...
    derive.errors.InputError: exact enumeration needs q**n = 2**30 states; the limit is max_states = 16777216 (2**24): use a smaller graph or Monte Carlo / belief propagation
    """
    field_table = np.asarray(field_table)
    pair_table = np.asarray(pair_table)
    edges = np.asarray(edges)
    for name, table in (("field_table", field_table), ("pair_table", pair_table)):
        if not (np.issubdtype(table.dtype, np.floating) or np.issubdtype(table.dtype, np.integer)):
            raise InputError(f"{name} must hold real numbers, got dtype {table.dtype}")
    if field_table.ndim != 2 or field_table.shape[0] < 1 or field_table.shape[1] < 1:
        raise InputError(
            f"field_table must have shape (n, q) with n, q >= 1, got {field_table.shape}"
        )
    n, q = field_table.shape
    if edges.size == 0:
        edges = edges.reshape(0, 2)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise InputError(f"edges must have shape (|E|, 2), got {edges.shape}")
    if not np.issubdtype(edges.dtype, np.integer):
        if edges.size:
            raise InputError(f"edges must hold integers, got dtype {edges.dtype}")
        edges = edges.astype(np.int64)
    m = edges.shape[0]
    if pair_table.shape != (m, q, q):
        raise InputError(
            f"pair_table must have shape (|E|, q, q) = ({m}, {q}, {q}), got {pair_table.shape}"
        )
    if m and (edges.min() < 0 or edges.max() >= n):
        bad = edges[(edges < 0).any(axis=1) | (edges >= n).any(axis=1)][0]
        raise InputError(f"edge {tuple(int(x) for x in bad)} has an endpoint outside range({n})")
    for name, table in (("field_table", field_table), ("pair_table", pair_table)):
        if not np.all(np.isfinite(table)):
            where = tuple(int(x) for x in np.argwhere(~np.isfinite(table))[0])
            raise InputError(
                f"{name}{list(where)} = {table[where]!r} is not finite: exact "
                "enumeration needs finite energies"
            )
    try:
        beta = float(beta)
    except (TypeError, ValueError):
        raise InputError(f"beta must be a real number, got {beta!r}") from None
    if not np.isfinite(beta):
        raise InputError(f"beta must be finite, got {beta!r}")
    max_states = int(max_states)
    if q**n > max_states:
        raise InputError(
            f"exact enumeration needs q**n = {q}**{n} states; the limit is "
            f"max_states = {_power_text(max_states)}: use a smaller graph or "
            "Monte Carlo / belief propagation"
        )
    log_z, node_marginals, edge_marginals, mean_energy = enumerate_states(
        np.ascontiguousarray(field_table, dtype=np.float64),
        np.ascontiguousarray(pair_table, dtype=np.float64),
        np.ascontiguousarray(edges, dtype=np.int64),
        beta,
    )
    return float(log_z), node_marginals, edge_marginals, float(mean_energy)
