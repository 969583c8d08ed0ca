r"""Temporal contact data: who met whom on which day, with which transmission probability.

A :class:`Contacts` holds, for each day ``t = 0 .. days - 1``, a CSR structure over the
*receiving* person ``i``: the entries ``e`` in ``indptr[t, i] : indptr[t, i + 1]`` are the
contacts of ``i`` on day ``t``, ``indices[e] = j`` the other person and ``lam[e]`` the
probability :math:`\lambda_{ji}(t)` that ``j``, if infectious, infects ``i`` through that
contact. An undirected contact is two entries, one per direction. Day ``t``'s contacts act on
the transition from day ``t`` to day ``t + 1``.

Constructors: :func:`static` (a networkx graph repeated every day), :func:`from_graphs` (one
graph per day), :func:`from_csv` (rows ``t,i,j[,lambda]``), :func:`from_arrays`; generators:
:func:`proximity` (the 2D proximity model of Baker et al., PNAS 118, e2106548118 (2021),
arXiv:2009.09422) and :func:`openabm_like` (households, workplace small-worlds and random
negative-binomial contacts, after Hinch et al., PLoS Comput. Biol. 17, e1009146 (2021)).
"""

import csv
import math
import numbers
from pathlib import Path

import networkx as nx
import numba
import numpy as np

from derive.errors import InputError

__all__ = [
    "Contacts",
    "from_arrays",
    "static",
    "from_graphs",
    "from_csv",
    "proximity",
    "openabm_like",
]


def _as_int_array(values, what):
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"{what} must be a 1-d array, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_float = np.asarray(arr, dtype=float)
        if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
            raise InputError(f"{what} must hold integers")
    return arr.astype(np.int64)


def _check_lam(lam):
    lam = np.asarray(lam, dtype=float)
    bad = ~np.isfinite(lam) | (lam < 0) | (lam > 1)
    if np.any(bad):
        raise InputError(
            f"contact probabilities must lie in [0, 1]; got {lam[bad][:5].tolist()} "
            f"({int(bad.sum())} outside)"
        )
    return lam


class Contacts:
    """Daily contact lists as CSR arrays; validated, read-only.

    Parameters
    ----------
    n : int
        Number of people, numbered ``0 .. n - 1``.
    indptr : array of int, shape (days, n + 1)
        Row pointers of each day into ``indices`` and ``lam`` (absolute offsets).
    indices : array of int, shape (n_entries,)
        The contact ``j`` of each entry.
    lam : array of float, shape (n_entries,)
        :math:`\\lambda_{ji}(t)` of each entry, in ``[0, 1]``.
    nodes : sequence, optional
        The label of each person (networkx node names); default ``range(n)``.

    Raises
    ------
    InputError
        For an unknown person (an index outside ``0 .. n - 1``), a probability outside
        ``[0, 1]``, or inconsistent row pointers.

    Examples
    --------
    >>> import networkx as nx
    >>> c = static(nx.path_graph(3), days=2, weight=0.5)
    >>> c.n, c.days, c.day(0)[1].tolist()
    (3, 2, [1, 0, 2, 1])
    """

    def __init__(self, n, indptr, indices, lam, nodes=None):
        if not isinstance(n, numbers.Integral) or n < 1:
            raise InputError(f"the number of people must be a positive integer, got {n!r}")
        indptr = np.asarray(indptr, dtype=np.int64)
        if indptr.ndim != 2 or indptr.shape[1] != n + 1:
            raise InputError(f"indptr must have shape (days, {n + 1}), got {indptr.shape}")
        indices = _as_int_array(indices, "indices")
        lam = _check_lam(lam)
        if lam.shape != indices.shape:
            raise InputError(f"lam {lam.shape} and indices {indices.shape} differ in shape")
        flat = indptr.ravel()
        if indptr.size and (
            indptr[0, 0] != 0 or indptr[-1, -1] != indices.size or np.any(np.diff(flat) < 0)
        ):
            raise InputError("indptr must rise from 0 to the number of entries")
        if indptr.shape[0] > 1 and np.any(indptr[1:, 0] != indptr[:-1, -1]):
            raise InputError("indptr: each day must start where the previous one ends")
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            bad = indices[(indices < 0) | (indices >= n)]
            raise InputError(
                f"contacts name unknown individual(s) {sorted(set(bad.tolist()))[:5]}; "
                f"the people are 0 .. {n - 1}"
            )
        nodes = tuple(range(n)) if nodes is None else tuple(nodes)
        if len(nodes) != n:
            raise InputError(f"{len(nodes)} node labels for {n} people")
        for arr in (indptr, indices, lam):
            arr.flags.writeable = False
        self.n, self.indptr, self.indices, self.lam, self.nodes = (
            int(n),
            indptr,
            indices,
            lam,
            nodes,
        )

    @property
    def days(self):
        """Number of days of contacts."""
        return self.indptr.shape[0]

    @property
    def n_contacts(self):
        """Number of (directed) contact entries over all days."""
        return self.indices.size

    def day(self, t):
        """``(indptr, indices, lam)`` of day ``t``, with ``indptr`` relative to the day."""
        if not 0 <= t < self.days:
            raise InputError(f"day {t} outside 0 .. {self.days - 1}")
        ptr = self.indptr[t]
        return ptr - ptr[0], self.indices[ptr[0] : ptr[-1]], self.lam[ptr[0] : ptr[-1]]

    def sources(self):
        """The receiving person ``i`` of every entry (same order as ``indices``)."""
        counts = np.diff(self.indptr, axis=1).ravel()
        return np.repeat(np.tile(np.arange(self.n), self.days), counts)

    def with_lam(self, lam):
        """The same contacts with other probabilities (``lam``: a number or one per entry)."""
        lam = np.broadcast_to(np.asarray(lam, dtype=float), self.indices.shape)
        return Contacts(self.n, self.indptr, self.indices, np.array(lam), self.nodes)

    def window(self, lo, hi):
        """The contacts of days ``lo .. hi - 1`` (day ``lo`` becomes day 0)."""
        if not 0 <= lo < hi <= self.days:
            raise InputError(f"window {lo} .. {hi} outside the days 0 .. {self.days}")
        a, b = self.indptr[lo, 0], self.indptr[hi - 1, -1]
        return Contacts(
            self.n, self.indptr[lo:hi] - a, self.indices[a:b], self.lam[a:b], self.nodes
        )

    def mean_degree(self):
        """Mean number of contacts per person per day."""
        return self.n_contacts / (self.n * self.days)

    def __repr__(self):
        return f"Contacts(n={self.n}, days={self.days}, contacts={self.n_contacts})"


@numba.njit(cache=True)
def _daily_csr(t, r, s, lam, n, days):
    """Entries sorted by day, receiver and sender, and the daily row pointers.

    ``t`` is sorted: a stable counting sort by ``(t, r)`` and an insertion sort of each
    ``(t, r)`` bucket by sender (buckets hold a person's contacts of one day): O(entries).
    """
    m = t.size
    flat = np.zeros(days * n + 1, dtype=np.int64)
    for k in range(m):
        flat[t[k] * n + r[k] + 1] += 1
    for k in range(days * n):
        flat[k + 1] += flat[k]
    fill = flat[:-1].copy()
    out_s = np.empty(m, dtype=np.int64)
    out_l = np.empty(m)
    for k in range(m):
        b = t[k] * n + r[k]
        out_s[fill[b]] = s[k]
        out_l[fill[b]] = lam[k]
        fill[b] += 1
    for b in range(days * n):
        for x in range(flat[b] + 1, flat[b + 1]):
            key, val = out_s[x], out_l[x]
            y = x - 1
            while y >= flat[b] and out_s[y] > key:
                out_s[y + 1] = out_s[y]
                out_l[y + 1] = out_l[y]
                y -= 1
            out_s[y + 1] = key
            out_l[y + 1] = val
    indptr = np.empty((days, n + 1), dtype=np.int64)
    for d in range(days):
        for i in range(n + 1):
            indptr[d, i] = flat[d * n + i]
    return indptr, out_s, out_l


def from_arrays(t, i, j, lam, n=None, days=None, directed=False, nodes=None):
    """Contacts from flat arrays: entry ``k`` is a contact of ``i[k]`` and ``j[k]`` on day ``t[k]``.

    Parameters
    ----------
    t, i, j : array of int
        Day and the two people of each contact; ``t`` must be non-negative and sorted
        (non-decreasing).
    lam : float or array of float
        Transmission probability of each contact, in ``[0, 1]``.
    n : int, optional
        Number of people (default: the largest index + 1).
    days : int, optional
        Number of days (default: the last day + 1).
    directed : bool
        If True, the contact ``(i, j)`` lets ``i`` infect ``j`` only; else both ways.

    Raises
    ------
    InputError
        Negative or unsorted days, unknown people, a person in contact with themself,
        probabilities outside [0, 1].
    """
    t = _as_int_array(t, "t")
    i = _as_int_array(i, "i")
    j = _as_int_array(j, "j")
    if not (t.size == i.size == j.size):
        raise InputError(f"t, i, j differ in length: {t.size}, {i.size}, {j.size}")
    lam = _check_lam(np.broadcast_to(np.asarray(lam, dtype=float), t.shape))
    if t.size and t.min() < 0:
        raise InputError(f"negative day {int(t.min())} in the contacts")
    if t.size > 1 and np.any(np.diff(t) < 0):
        k = int(np.argmax(np.diff(t) < 0))
        raise InputError(f"days are not sorted: day {t[k + 1]} comes after day {t[k]}")
    top = max(int(i.max()), int(j.max())) + 1 if t.size else 1
    if n is None:
        n = top
    for name, arr in (("i", i), ("j", j)):
        bad = arr[(arr < 0) | (arr >= n)]
        if bad.size:
            raise InputError(
                f"contacts name unknown individual(s) {sorted(set(bad.tolist()))[:5]} "
                f"(column {name}); the people are 0 .. {n - 1}"
            )
    if np.any(i == j):
        k = int(np.argmax(i == j))
        raise InputError(f"a contact of person {i[k]} with themself on day {t[k]}")
    last = int(t.max()) + 1 if t.size else 0
    days = last if days is None else int(days)
    if days < last:
        raise InputError(f"contacts on day {last - 1} but days={days}")
    if days < 1:
        raise InputError("no days of contacts")
    # entries: receiver r, source s (s may infect r)
    if directed:
        tt, r, s, ll = t, j, i, lam
    else:
        tt, r, s, ll = (
            np.concatenate([t, t]),
            np.concatenate([j, i]),
            np.concatenate([i, j]),
            np.concatenate([lam, lam]),
        )
    indptr, s, ll = _daily_csr(tt, r, s, ll, n, days)
    return Contacts(n, indptr, s, ll, nodes)


def _weights(G, weight):
    edges = list(G.edges(data=True))
    if isinstance(weight, str):
        missing = [(u, v) for u, v, d in edges if weight not in d]
        if missing:
            raise InputError(f"edge(s) {missing[:3]} have no attribute {weight!r}")
        return np.array([float(d[weight]) for _, _, d in edges])
    if isinstance(weight, numbers.Real):
        return np.full(len(edges), float(weight))
    raise InputError(f"weight must be an edge attribute name or a number, got {weight!r}")


def _graph_arrays(G, weight, index):
    if G.is_directed() or G.is_multigraph():
        raise InputError("contact graphs must be simple undirected networkx graphs")
    unknown = [v for v in G if v not in index]
    if unknown:
        raise InputError(f"contact graph names unknown individual(s) {unknown[:5]}")
    lam = _weights(G, weight)
    ij = np.array([(index[u], index[v]) for u, v in G.edges()], dtype=np.int64).reshape(-1, 2)
    return ij[:, 0], ij[:, 1], lam


def static(G, days, weight="lambda"):
    """The contacts of the networkx graph ``G`` every day for ``days`` days.

    Parameters
    ----------
    G : networkx.Graph
    days : int
    weight : str or float
        The edge attribute holding :math:`\\lambda_{ij}`, or one number for every edge.
    """
    return from_graphs([G] * _days(days), weight=weight, nodes=list(G))


def _days(days):
    if not isinstance(days, numbers.Integral) or days < 1:
        raise InputError(f"days must be a positive integer, got {days!r}")
    return int(days)


def from_graphs(graphs, weight="lambda", nodes=None):
    """One networkx graph per day (day ``t`` is ``graphs[t]``).

    ``nodes`` lists the people (default: every node of every graph, in order of first
    appearance); a graph naming someone outside ``nodes`` is an InputError.
    """
    graphs = list(graphs)
    if not graphs:
        raise InputError("from_graphs needs at least one graph")
    if nodes is None:
        nodes = list(dict.fromkeys(v for G in graphs for v in G))
    index = {v: k for k, v in enumerate(nodes)}
    ts, iis, jjs, ls = [], [], [], []
    for t, G in enumerate(graphs):
        i, j, lam = _graph_arrays(G, weight, index)
        ts.append(np.full(i.size, t))
        iis.append(i)
        jjs.append(j)
        ls.append(lam)
    return from_arrays(
        np.concatenate(ts),
        np.concatenate(iis),
        np.concatenate(jjs),
        np.concatenate(ls),
        n=len(nodes),
        days=len(graphs),
        nodes=nodes,
    )


def from_csv(path, n=None, days=None, lam=None, directed=False):
    """Contacts from a CSV file with columns ``t,i,j`` and optionally ``lambda``.

    A header row is optional. Without a ``lambda`` column, ``lam`` gives every contact's
    probability. ``i``, ``j`` are integers ``0 .. n - 1``.

    Raises
    ------
    InputError
        An unreadable row, unknown people (with ``n`` given), negative or unsorted days,
        probabilities outside [0, 1], or no probability at all.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"no contact file {path}")
    rows = []
    with path.open(newline="") as f:
        for k, row in enumerate(csv.reader(f)):
            if not row or not "".join(row).strip():
                continue
            if k == 0 and not row[0].strip().lstrip("-").isdigit():
                continue  # header
            if len(row) not in (3, 4):
                raise InputError(f"{path}: row {k + 1} has {len(row)} columns, not t,i,j[,lambda]")
            try:
                rows.append([float(x) for x in row])
            except ValueError:
                raise InputError(f"{path}: row {k + 1} is not numeric: {row}") from None
    if not rows:
        raise InputError(f"{path}: no contacts")
    width = {len(r) for r in rows}
    if len(width) > 1:
        raise InputError(f"{path}: rows of both 3 and 4 columns")
    data = np.array(rows)
    if data.shape[1] == 4:
        probs = data[:, 3]
    elif lam is None:
        raise InputError(f"{path} has no lambda column: give lam=")
    else:
        probs = lam
    return from_arrays(data[:, 0], data[:, 1], data[:, 2], probs, n=n, days=days, directed=directed)


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


@numba.njit(cache=True)
def _close_pairs(x, y, cell, side, cutoff):
    """All pairs closer than ``cutoff``, from a grid of cells of side ``cell``."""
    n = x.size
    m = max(1, int(side // cell))
    cx = np.minimum((x / side * m).astype(np.int64), m - 1)
    cy = np.minimum((y / side * m).astype(np.int64), m - 1)
    key = cx * m + cy
    order = np.argsort(key)
    start = np.full(m * m + 1, n, dtype=np.int64)
    for k in range(n - 1, -1, -1):
        start[key[order[k]]] = k
    for c in range(m * m - 1, -1, -1):
        start[c] = min(start[c], start[c + 1])
    cap = 64 * n + 16
    pi = np.empty(cap, dtype=np.int64)
    pj = np.empty(cap, dtype=np.int64)
    pd = np.empty(cap)
    count = 0
    c2 = cutoff * cutoff
    for a in range(n):
        i = order[a]
        for dx in range(-1, 2):
            for dy in range(-1, 2):
                gx, gy = cx[i] + dx, cy[i] + dy
                if gx < 0 or gy < 0 or gx >= m or gy >= m:
                    continue
                c = gx * m + gy
                for b in range(start[c], start[c + 1]):
                    j = order[b]
                    if j <= i:
                        continue
                    d2 = (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2
                    if d2 < c2:
                        if count == pi.size:
                            pi = np.concatenate((pi, np.empty(pi.size, dtype=np.int64)))
                            pj = np.concatenate((pj, np.empty(pj.size, dtype=np.int64)))
                            pd = np.concatenate((pd, np.empty(pd.size)))
                        pi[count] = i
                        pj[count] = j
                        pd[count] = math.sqrt(d2)
                        count += 1
    return pi[:count], pj[:count], pd[:count]


def proximity(n, days, lam=0.02, scale=1.1, tol=1e-4, seed=None):
    r"""The 2D proximity model: fixed positions, contacts redrawn every day.

    ``n`` positions uniform in a square of side :math:`\sqrt{n}`; each day, each pair
    ``i, j`` is in contact, independently, with probability :math:`e^{-d_{ij}/\ell}`,
    :math:`\ell` = ``scale`` (1.1: about 7.4 contacts a day). Pairs farther than
    :math:`\ell \ln(1/\mathrm{tol})` (where the probability is below ``tol``) are never in
    contact: with the default this drops about 0.1 % of the contacts. Candidate pairs are
    found once with a grid of cells of that side (linear in ``n``).

    Reference: Baker, Biazzo, Braunstein, Catania, Dall'Asta, Ingrosso, Krzakala, Mazza,
    Mézard, Muntoni, Refinetti, Sarao Mannelli, Zdeborová, PNAS 118, e2106548118 (2021).

    Parameters
    ----------
    n, days : int
    lam : float
        Transmission probability of every contact.
    seed : int or numpy.random.Generator
    """
    n = _days(n)
    days = _days(days)
    if not (0 < tol < 1) or not scale > 0:
        raise InputError(f"need 0 < tol < 1 and scale > 0, got tol={tol}, scale={scale}")
    rng = _rng(seed)
    side = math.sqrt(n)
    x, y = rng.uniform(0, side, n), rng.uniform(0, side, n)
    cutoff = scale * math.log(1 / tol)
    pi, pj, pd = _close_pairs(x, y, cutoff, side, cutoff)
    p = np.exp(-pd / scale)
    ts, iis, jjs = [], [], []
    for t in range(days):
        on = rng.random(p.size) < p
        ts.append(np.full(int(on.sum()), t))
        iis.append(pi[on])
        jjs.append(pj[on])
    return from_arrays(
        np.concatenate(ts), np.concatenate(iis), np.concatenate(jjs), lam, n=n, days=days
    )


def openabm_like(
    n,
    days,
    lam=0.01,
    household_sizes=(0.29, 0.35, 0.15, 0.14, 0.05, 0.02),
    work_size=20,
    work_degree=6,
    work_rewire=0.1,
    work_daily=0.5,
    random_mean=7.0,
    random_dispersion=1.0,
    seed=None,
):
    """An OpenABM-like contact network: households, workplace small-worlds, random contacts.

    After Hinch et al., 'OpenABM-Covid19', PLoS Comput. Biol. 17, e1009146 (2021), simplified
    to one age group:

    * households: sizes drawn from ``household_sizes`` (probabilities of sizes 1, 2, ...);
      all members meet every day;
    * workplaces: groups of ``work_size`` people, each a Watts--Strogatz small world of
      degree ``work_degree`` and rewiring ``work_rewire``; each edge is active on a day with
      probability ``work_daily``;
    * random contacts: each person draws a daily number of random contacts from a negative
      binomial of mean ``random_mean`` and dispersion ``random_dispersion``; the stubs are
      paired uniformly at random (self-pairs dropped).

    With the defaults a person has about 12 contacts a day. Every contact has probability
    ``lam``.
    """
    n = _days(n)
    days = _days(days)
    rng = _rng(seed)
    probs = np.asarray(household_sizes, dtype=float)
    if np.any(probs < 0) or probs.sum() <= 0:
        raise InputError("household_sizes must be non-negative probabilities")
    probs = probs / probs.sum()
    sizes = []
    total = 0
    while total < n:
        s = int(rng.choice(len(probs), p=probs)) + 1
        s = min(s, n - total)
        sizes.append(s)
        total += s
    hi, hj = [], []
    start = 0
    for s in sizes:
        members = np.arange(start, start + s)
        a, b = np.triu_indices(s, 1)
        hi.append(members[a])
        hj.append(members[b])
        start += s
    hi, hj = np.concatenate(hi), np.concatenate(hj)
    perm = rng.permutation(n)
    wi, wj = [], []
    for g in range(0, n, work_size):
        members = perm[g : g + work_size]
        k = min(work_degree, len(members) - 1 - (len(members) - 1) % 2)
        if len(members) < 3 or k < 2:
            continue
        W = nx.watts_strogatz_graph(len(members), k, work_rewire, seed=int(rng.integers(2**31)))
        e = np.array(W.edges(), dtype=np.int64).reshape(-1, 2)
        wi.append(members[e[:, 0]])
        wj.append(members[e[:, 1]])
    wi = np.concatenate(wi) if wi else np.zeros(0, np.int64)
    wj = np.concatenate(wj) if wj else np.zeros(0, np.int64)
    r = random_dispersion
    ts, iis, jjs = [], [], []
    for t in range(days):
        on = rng.random(wi.size) < work_daily
        stubs_n = rng.negative_binomial(r, r / (r + random_mean), n)
        stubs = rng.permutation(np.repeat(np.arange(n), stubs_n))
        half = stubs.size // 2
        ri, rj = stubs[:half], stubs[half : 2 * half]
        keep = ri != rj
        i = np.concatenate([hi, wi[on], ri[keep]])
        j = np.concatenate([hj, wj[on], rj[keep]])
        ts.append(np.full(i.size, t))
        iis.append(i)
        jjs.append(j)
    return from_arrays(
        np.concatenate(ts), np.concatenate(iis), np.concatenate(jjs), lam, n=n, days=days
    )
