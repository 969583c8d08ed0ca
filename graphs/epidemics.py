r"""Epidemics on temporal contacts: the stochastic simulator, IBMF and DMP marginals.

All three share the convention of a day of :mod:`derive.epidemics`: a person's transitions
depend on the states of day ``t``; contact transitions first (each contact ``j`` in the
transmitting state infects ``i`` independently with probability :math:`\lambda_{ji}(t)`),
then the spontaneous ones for those who did not move; the newly infected act from the next
day.

* :func:`simulate`: many stochastic runs at once (numba), frequencies of every state per
  person and day. Run ``r`` draws from its own child seed
  ``SeedSequence(seed, spawn_key=(r,))``, so a set of runs split across processes
  (``first_run=``) gives the same frequencies as one call.
* :func:`ibmf`: individual-based mean-field, compiled from :func:`derive.ibmf`.
* :func:`dmp`: dynamic message passing, compiled from :func:`derive.dmp`; exact when the
  union of the contacts is a tree (Lokhov, Mézard, Zdeborová, PRE 91, 012811 (2015)).
"""

import math
import numbers
from dataclasses import dataclass

import numba
import numpy as np
import sympy as sp

import derive
import numerics
from derive.epidemics import Compartmental
from derive.errors import InputError, ModelError

from .contacts import Contacts

__all__ = ["simulate", "ibmf", "dmp", "EpidemicSimulation", "EpidemicMarginals"]


@dataclass(kw_only=True, repr=False)
class EpidemicSimulation(numerics.SimulationResult):
    """Stochastic runs of a compartmental model on temporal contacts.

    Attributes
    ----------
    frequencies : ndarray, shape (days + 1, n, n_states)
        Fraction of the runs in which person ``i`` is in state ``a`` on day ``t``.
    states : tuple of str
    runs : int
    first_run : int
        Index of the first run (its child seed is ``SeedSequence(seed, spawn_key=(r,))``).
    """

    frequencies: np.ndarray = None
    states: tuple = ()
    runs: int = 0
    first_run: int = 0

    def standard_error(self):
        """Binomial standard error of each frequency: :math:`\\sqrt{f (1 - f) / R}`."""
        f = self.frequencies
        return np.sqrt(f * (1 - f) / self.runs)


@dataclass(kw_only=True, repr=False)
class EpidemicMarginals(numerics.Result):
    """Per-person marginals over time from IBMF or DMP.

    Attributes
    ----------
    marginals : ndarray, shape (days + 1, n, n_states)
        :math:`P^a_i(t)`, from the first day of the window.
    states : tuple of str
    start : int
        The day of ``marginals[0]`` (``days - delta`` with an inference window).
    method : str
    memory : int
        Bytes held by the messages (DMP) or the state (IBMF) during the run.
    """

    marginals: np.ndarray = None
    states: tuple = ()
    start: int = 0
    method: str = ""
    memory: int = 0


# --- inputs --------------------------------------------------------------------------------


def _check(model, contacts):
    if not isinstance(model, Compartmental):
        raise InputError(f"expected a derive.Compartmental model, got {type(model).__name__}")
    if not isinstance(contacts, Contacts):
        raise InputError(f"expected graphs.contacts.Contacts, got {type(contacts).__name__}")


def _initial(model, contacts, initial):
    """Initial marginals (n, n_states) from state indices or names (n,) or probabilities."""
    n, q = contacts.n, len(model.states)
    arr = np.asarray(initial)
    if arr.ndim == 1:
        if arr.shape[0] != n:
            raise InputError(f"initial has {arr.shape[0]} entries for {n} people")
        if arr.dtype.kind in "US":
            bad = sorted({s for s in arr.tolist() if s not in model.states})
            if bad:
                raise InputError(f"initial state(s) {bad} not among the states {model.states}")
            arr = np.array([model.states.index(s) for s in arr.tolist()])
        if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            raise InputError("initial states must be integers (indices into the states)")
        arr = arr.astype(np.int64)
        bad = arr[(arr < 0) | (arr >= q)]
        if bad.size:
            raise InputError(
                f"initial state(s) {sorted(set(bad.tolist()))} outside the model's states "
                f"0 .. {q - 1} {model.states}"
            )
        return np.eye(q)[arr], arr
    arr = np.asarray(initial, dtype=float)
    if arr.shape != (n, q):
        raise InputError(f"initial marginals must have shape ({n}, {q}), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(np.abs(arr.sum(1) - 1) > 1e-9):
        raise InputError("initial marginals must be probabilities that sum to 1 per person")
    return arr, None


def _params(model, contacts, params):
    """(edge values (n_entries, n_contact_params), node values dict name -> (n,) array)."""
    params = dict(params or {})
    names = {p.name: p for p in model.params}
    unknown = sorted(set(map(str, params)) - set(names))
    if unknown:
        raise InputError(
            f"unknown parameter(s) {unknown}; the model's parameters are {sorted(names)}"
        )
    params = {str(k): v for k, v in params.items()}
    node = {}
    for p in model.node_params:
        if p.name not in params:
            raise InputError(
                f"no value for the parameter {p.name!r} (a probability per person and day)"
            )
        v = np.broadcast_to(np.asarray(params[p.name], dtype=float), (contacts.n,))
        if v.shape != (contacts.n,) or not np.all(np.isfinite(v)):
            raise InputError(f"parameter {p.name!r} must be a finite number or one per person")
        node[p.name] = np.array(v)
    from_data = [p for p in model.contact_params if p.name not in params]
    if len(from_data) > 1:
        raise InputError(
            f"the contact data give one probability per contact, but {[p.name for p in from_data]}"
            " have no value: give all but one of them in params"
        )
    cols = []
    for p in model.contact_params:
        if p.name in params:
            v = params[p.name]
            if not isinstance(v, numbers.Real) or not np.isfinite(v):
                raise InputError(f"parameter {p.name!r} must be a finite number")
            cols.append(np.full(contacts.n_contacts, float(v)))
        else:
            cols.append(np.asarray(contacts.lam, dtype=float))
    edge = np.stack(cols, axis=1) if cols else np.zeros((contacts.n_contacts, 0))
    return edge, node


@derive.memoized
def _probability_equations(model):
    """Equations of the contact probabilities (per entry) and spontaneous ones (per person)."""
    contact = derive.Equations(
        "contact probabilities",
        "map",
        model.contact_params,
        [],
        [(sp.Symbol(f"p_{a}_{b}"), p) for a, b, _, p in model.contact] or [(sp.Symbol("p"), 0)],
    )
    T = model.spontaneous_matrix()
    q = len(model.states)
    spont = derive.Equations(
        "spontaneous probabilities",
        "map",
        model.node_params,
        [],
        [(sp.Symbol(f"T_{a}_{b}"), T[a][b]) for a in range(q) for b in range(q)],
    )
    return contact, spont


def _evaluate(eqs, columns, size):
    if not eqs.inputs:
        kern = numerics.compile(eqs)
        vals = np.array(kern.module.outputs(), dtype=float)
        return np.broadcast_to(vals[:, None], (len(vals), size))
    kern = numerics.compile(eqs)
    return kern.array(*columns)


def _probabilities(model, contacts, edge, node):
    """Per-entry contact probabilities (n_entries, K) and spontaneous T (n, q, q)."""
    ceqs, seqs = _probability_equations(model)
    pc = _evaluate(ceqs, [edge[:, k] for k in range(edge.shape[1])], contacts.n_contacts)
    pc = np.ascontiguousarray(pc.T[:, : len(model.contact)])
    T = _evaluate(seqs, [node[p.name] for p in model.node_params], contacts.n)
    q = len(model.states)
    T = np.ascontiguousarray(T.T.reshape(contacts.n, q, q))
    for what, arr in (("contact", pc), ("spontaneous", T)):
        bad = ~np.isfinite(arr) | (arr < -1e-12) | (arr > 1 + 1e-12)
        if np.any(bad):
            raise InputError(
                f"the {what} probabilities of these parameters fall outside [0, 1] "
                f"(e.g. {arr[bad][:3].tolist()})"
            )
    return np.clip(pc, 0, 1), np.clip(T, 0, 1)


# --- the simulator -------------------------------------------------------------------------


@numba.njit(cache=True)
def _day(ptr, indices, pc, t_from, t_to, t_via, T, state, new):
    """One day of every person, from ``state`` into ``new`` (numba's generator).

    ``ptr``: the day's row pointers (absolute offsets into ``indices`` and ``pc``).
    """
    q = T.shape[1]
    for i in range(state.shape[0]):
        a = state[i]
        b = a
        for k in range(t_from.shape[0]):
            if t_from[k] != a:
                continue
            for e in range(ptr[i], ptr[i + 1]):
                if state[indices[e]] == t_via[k] and np.random.random() < pc[e, k]:
                    b = t_to[k]
                    break
            if b != a:
                break
        if b == a and T[i, a, a] < 1.0:
            u = np.random.random()
            for c in range(q):
                if c != a:
                    u -= T[i, a, c]
                    if u < 0.0:
                        b = c
                        break
        new[i] = b


@numba.njit(cache=True)
def _seed(s):
    np.random.seed(s)


@numba.njit(cache=True)
def _simulate_runs(indptr, indices, pc, t_from, t_to, t_via, T, initial, seeds, freq):
    days = indptr.shape[0]
    n = initial.shape[0]
    state = np.empty(n, dtype=np.int64)
    new = np.empty(n, dtype=np.int64)
    for r in range(seeds.shape[0]):
        np.random.seed(seeds[r])
        for i in range(n):
            state[i] = initial[i]
            freq[0, i, state[i]] += 1.0
        for t in range(days):
            _day(indptr[t], indices, pc, t_from, t_to, t_via, T, state, new)
            for i in range(n):
                state[i] = new[i]
                freq[t + 1, i, state[i]] += 1.0
    return freq


def _child_seeds(seed, first_run, runs):
    ss = np.random.SeedSequence(seed)
    return ss.entropy, np.array(
        [
            np.random.SeedSequence(ss.entropy, spawn_key=(r,)).generate_state(1)[0]
            for r in range(first_run, first_run + runs)
        ],
        dtype=np.int64,
    )


def simulate(model, contacts, initial, params=None, runs=1000, seed=None, first_run=0):
    r"""Stochastic discrete-time runs of ``model`` on ``contacts``.

    Each day, a person in state ``a`` moves by the first contact transition ``a -> b``
    through ``c`` for which some contact ``j`` in state ``c`` transmits (each independently,
    with its probability), else by a spontaneous transition drawn with the probabilities
    :math:`T_{a\cdot}` of that person; the next day's states replace the current ones
    together. So :math:`P(S\to I) = 1 - \prod_{j \in I} (1 - \lambda_{ji}(t))`,
    :math:`P(I\to R) = \mu` (Baker et al., PNAS 118, e2106548118 (2021)).

    Parameters
    ----------
    model : derive.Compartmental
    contacts : graphs.contacts.Contacts
    initial : array of int, shape (n,)
        The state index (into ``model.states``) of each person on day 0 (or state names).
    params : mapping name -> value
        The model's parameters: per-person ones (a number or one per person); a contact
        probability symbol without a value takes the contacts' :math:`\lambda`.
    runs : int
    seed : int or None
        Run ``r`` (``first_run <= r < first_run + runs``) uses the child seed
        ``SeedSequence(seed, spawn_key=(r,))``: runs split across processes with
        ``first_run`` reproduce one big call.

    Returns
    -------
    EpidemicSimulation
        ``frequencies`` of shape ``(days + 1, n, n_states)``; their binomial standard error
        is :meth:`EpidemicSimulation.standard_error`.
    """
    _check(model, contacts)
    for name, v in (("runs", runs), ("first_run", first_run)):
        if not isinstance(v, numbers.Integral) or v < (1 if name == "runs" else 0):
            raise InputError(
                f"{name} must be a {'positive' if name == 'runs' else 'non-negative'}"
                f" integer, got {v!r}"
            )
    _, states0 = _initial(model, contacts, initial)
    if states0 is None:
        raise InputError("simulate needs one initial state per person, not marginals")
    edge, node = _params(model, contacts, params)
    pc, T = _probabilities(model, contacts, edge, node)
    idx = model.index
    t_from = np.array([idx(a) for a, *_ in model.contact], dtype=np.int64)
    t_to = np.array([idx(b) for _, b, *_ in model.contact], dtype=np.int64)
    t_via = np.array([idx(c) for _, _, c, _ in model.contact], dtype=np.int64)
    entropy, seeds = _child_seeds(seed, first_run, runs)
    freq = np.zeros((contacts.days + 1, contacts.n, len(model.states)))
    _simulate_runs(
        contacts.indptr, contacts.indices, pc, t_from, t_to, t_via, T, states0, seeds, freq
    )
    freq /= runs
    return EpidemicSimulation(
        frequencies=freq,
        states=model.states,
        runs=runs,
        first_run=first_run,
        seed=entropy if seed is None else seed,
        iterations=contacts.days,
        message=f"{runs} runs over {contacts.days} days",
    )


# --- observations --------------------------------------------------------------------------


def _clamps(model, contacts, observations, tau):
    """``clamp[t, i]``: the state person ``i`` is known to be in on day ``t``, or -1.

    An observation ``(i, state, t)``: the person was found in ``state`` on day ``t``. A state
    that cannot be re-entered (no transition into it, e.g. ``S``) holds on every earlier day;
    a transmitting state (a positive test) is clamped on ``[t - tau, t]``; a state with no
    transition out of it (``R``) holds on every later day.
    """
    days, n = contacts.days, contacts.n
    clamp = np.full((days + 1, n), -1, dtype=np.int64)
    if not observations:
        return clamp
    into = {b for _, b, _ in model.spontaneous} | {b for _, b, *_ in model.contact}
    out = {a for a, _, _ in model.spontaneous} | {a for a, *_ in model.contact}
    via = {c for *_, c, _ in model.contact}
    for obs in observations:
        try:
            i, s, t = obs
        except (TypeError, ValueError):
            raise InputError(f"an observation is (person, state, day), got {obs!r}") from None
        if not isinstance(i, numbers.Integral) or not 0 <= i < n:
            raise InputError(f"observation {obs!r} names an unknown person (0 .. {n - 1})")
        if s not in model.states:
            raise InputError(f"observation {obs!r}: unknown state; the states are {model.states}")
        if not isinstance(t, numbers.Integral) or not 0 <= t <= days:
            raise InputError(f"observation {obs!r}: day outside 0 .. {days}")
        a = model.index(s)
        lo, hi = t, t
        if s not in into:
            lo = 0
        elif s in via:
            lo = max(0, t - tau)
        if s not in out:
            hi = days
        clamp[lo : hi + 1, i] = a
    return clamp


def _apply(P, clamp_row):
    rows = np.nonzero(clamp_row >= 0)[0]
    if rows.size:
        P[rows] = 0.0
        P[rows, clamp_row[rows]] = 1.0


def _window(contacts, delta):
    if delta is None:
        return 0
    if not isinstance(delta, numbers.Integral) or not 1 <= delta <= contacts.days:
        raise InputError(f"delta must be an integer in 1 .. {contacts.days}, got {delta!r}")
    return contacts.days - delta


# --- IBMF ----------------------------------------------------------------------------------


def ibmf(
    model,
    contacts,
    initial,
    params=None,
    form="product",
    observations=(),
    tau=0,
    delta=None,
    strict=False,
):
    r"""Individual-based mean-field marginals on ``contacts`` (compiled from :func:`derive.ibmf`).

    .. math:: P^S_i(t+1) = P^S_i(t) \prod_{j \in \partial i(t)} (1 - \lambda_{ji}(t) P^I_j(t)),
              \quad P^R_i(t+1) = P^R_i(t) + \mu P^I_i(t)

    for SIR (the general form in :func:`derive.ibmf`); ``form="linear"`` is the linearised
    form of Baker et al. (2021).

    Parameters
    ----------
    initial : array
        State indices (n,) or marginals (n, n_states) on the first day of the window.
    observations : sequence of (person, state, day)
        Tests: a person found in a state on a day is clamped there (a negative, ``S``, on every
        earlier day too; a positive, in the transmitting state, on ``[day - tau, day]``; an
        absorbing state such as ``R`` on every later day).
    tau : int
        Assumed delay from infection to a positive test.
    delta : int, optional
        Inference window: run over the last ``delta`` days only, from ``initial``.

    Returns
    -------
    EpidemicMarginals
        ``marginals`` of shape ``(days - start + 1, n, n_states)``; memory: the state, O(n q).
    """
    _check(model, contacts)
    P, _ = _initial(model, contacts, initial)
    edge, node = _params(model, contacts, params)
    start = _window(contacts, delta)
    clamp = _clamps(model, contacts, observations, tau)
    eqs = derive.ibmf(model, form)
    kern = numerics.compile(eqs)
    node_values = (
        np.stack([node[p.name] for p in eqs.node_params], axis=1)
        if eqs.node_params
        else np.zeros((contacts.n, 0))
    )
    edge_values = np.ascontiguousarray(edge)
    out = np.empty((contacts.days - start + 1,) + P.shape)
    P = np.ascontiguousarray(P, dtype=float)
    _apply(P, clamp[start])
    out[0] = P
    for t in range(start, contacts.days):
        nxt = np.empty_like(P)
        kern.module.contact_map(
            contacts.indptr[t], contacts.indices, edge_values, P, node_values, nxt
        )
        _apply(nxt, clamp[t + 1])
        out[t - start + 1] = P = nxt
    return _finish(out, model, start, f"IBMF ({form})", 2 * P.nbytes, strict)


def _finish(out, model, start, method, memory, strict):
    bad = ~np.isfinite(out) | (out < -1e-9) | (out > 1 + 1e-9)
    ok = not np.any(bad)
    result = EpidemicMarginals(
        marginals=out,
        states=model.states,
        start=start,
        method=method,
        memory=memory,
        iterations=out.shape[0] - 1,
        converged=ok,
        message="" if ok else f"{int(bad.sum())} marginals are not probabilities",
    )
    return result.finish(strict)


# --- DMP -----------------------------------------------------------------------------------


def _message_clamps(model, eqs, phi_states):
    r"""A function that conditions the messages of the observed people of a day.

    A person ``k`` known to be in state ``a``: :math:`P^S_{k\to i} = [a = S]`,
    :math:`\phi^b_{k\to i} = \theta_{k\to i} [b = a]` (in ``a`` for sure, and not yet
    transmitted with the probability the messages give), and, once ``k`` is known to have
    left ``S``, :math:`P^S_k(0) = 0` so that the cavity stays at zero. A person ``i`` known
    to be susceptible was infected by no one so far: :math:`\theta_{k\to i} = 1` on every
    incoming message and :math:`P^S_i(0) = 1` (without this, the infection pressure that
    built up before a negative test would fall on the day after it). ``rows[e]`` is the
    sender of message ``e``, ``targets[e]`` its receiver. Returns the people known
    susceptible that day.
    """
    names = [m.name for m in eqs.by_role("message")]
    c_theta, c_ps = names.index("theta"), names.index("P_S_cav")
    c_phi = {s: names.index(f"phi_{s}") for s in phi_states}
    S = model.contact[0][0]
    iS = model.index(S)
    col_ps0 = [s.name for s in eqs.arguments if eqs.roles[s] in ("data", "node_param")].index(
        "P_S0"
    )

    def apply(messages, node_values, clamp_row, rows, targets):
        known = clamp_row[rows]
        edges = np.nonzero(known >= 0)[0]
        if edges.size:
            state = known[edges]
            messages[edges, c_ps] = state == iS
            for s, c in c_phi.items():
                messages[edges, c] = np.where(
                    state == model.index(s), messages[edges, c_theta], 0.0
                )
        messages[clamp_row[targets] == iS, c_theta] = 1.0
        left = np.nonzero((clamp_row >= 0) & (clamp_row != iS))[0]
        node_values[left, col_ps0] = 0.0
        susceptible = np.nonzero(clamp_row == iS)[0]
        node_values[susceptible, col_ps0] = 1.0
        return susceptible

    return apply


# --- DMP on the active edges only ----------------------------------------------------------


@numba.njit(cache=True)
def _directed_edges(indptr, indices, pc, n):
    """The directed edges ``s -> r`` with a contact of positive probability in the window.

    ``indptr``: the window's row pointers (days, n + 1), absolute into ``indices`` and ``pc``.
    Returns the edges grouped by receiver: ``ptr`` (n + 1), the sender, and the first and
    last day (relative to the window) of a contact of positive probability. One pass over
    the entries with a stamp per sender: O(entries + n).
    """
    days = indptr.shape[0]
    stamp = np.full(n, -1, dtype=np.int64)
    count = np.zeros(n + 1, dtype=np.int64)
    for r in range(n):
        for t in range(days):
            for e in range(indptr[t, r], indptr[t, r + 1]):
                if pc[e] > 0.0 and stamp[indices[e]] != r:
                    stamp[indices[e]] = r
                    count[r + 1] += 1
    ptr = np.cumsum(count)
    m = ptr[n]
    src = np.empty(m, dtype=np.int32)
    first = np.empty(m, dtype=np.int32)
    last = np.empty(m, dtype=np.int32)
    where = np.empty(n, dtype=np.int64)
    stamp[:] = -1
    for r in range(n):
        k = ptr[r]
        for t in range(days):
            for e in range(indptr[t, r], indptr[t, r + 1]):
                if pc[e] > 0.0:
                    s = indices[e]
                    if stamp[s] != r:
                        stamp[s] = r
                        where[s] = k
                        src[k] = s
                        first[k] = t
                        k += 1
                    last[where[s]] = t
    return ptr, src, first, last


@numba.njit(cache=True)
def _pairs(ptr, src, first, last, n):
    """The undirected pairs ``a < b`` of the directed edges and the window of each pair:
    from the first to the last day of a contact in either direction."""
    m = src.size
    ocount = np.zeros(n + 1, dtype=np.int64)
    for k in range(m):
        ocount[src[k] + 1] += 1
    optr = np.cumsum(ocount)
    fill = optr[:-1].copy()
    oedge = np.empty(m, dtype=np.int64)
    orecv = np.empty(m, dtype=np.int32)
    for r in range(n):
        for k in range(ptr[r], ptr[r + 1]):
            s = src[k]
            oedge[fill[s]] = k
            orecv[fill[s]] = r
            fill[s] += 1
    stamp = np.full(n, -1, dtype=np.int64)
    mark = np.empty(n, dtype=np.int64)
    pa = np.empty(m, dtype=np.int32)
    pb = np.empty(m, dtype=np.int32)
    pf = np.empty(m, dtype=np.int32)
    pl = np.empty(m, dtype=np.int32)
    c = 0
    for u in range(n):
        for k in range(ptr[u], ptr[u + 1]):  # x -> u, x > u
            x = src[k]
            if x > u:
                stamp[x] = u
                mark[x] = c
                pa[c], pb[c], pf[c], pl[c] = u, x, first[k], last[k]
                c += 1
        for q in range(optr[u], optr[u + 1]):  # u -> x, x > u
            x = orecv[q]
            k = oedge[q]
            if x > u:
                if stamp[x] == u:
                    j = mark[x]
                    pf[j] = min(pf[j], first[k])
                    pl[j] = max(pl[j], last[k])
                else:
                    pa[c], pb[c], pf[c], pl[c] = u, x, first[k], last[k]
                    c += 1
    return pa[:c].copy(), pb[:c].copy(), pf[:c].copy(), pl[:c].copy()


@numba.njit(cache=True)
def _layout(n, pa, pb, old_ab, old_ba):
    """The directed edges of the active pairs ``(pa[j], pb[j])`` as CSR arrays by sender.

    Returns ``(indptr, target, sender, reverse, old, new_ab, new_ba)``: ``old[x]`` is the
    position of edge ``x`` in the previous day's layout (``old_ab[j]`` / ``old_ba[j]`` of its
    pair, -1 for a pair that starts today), ``new_ab`` / ``new_ba`` the positions today.
    """
    m = pa.size
    count = np.zeros(n + 1, dtype=np.int64)
    for j in range(m):
        count[pa[j] + 1] += 1
        count[pb[j] + 1] += 1
    indptr = np.cumsum(count)
    fill = indptr[:-1].copy()
    target = np.empty(2 * m, dtype=np.int64)
    sender = np.empty(2 * m, dtype=np.int64)
    reverse = np.empty(2 * m, dtype=np.int64)
    old = np.empty(2 * m, dtype=np.int64)
    new_ab = np.empty(m, dtype=np.int64)
    new_ba = np.empty(m, dtype=np.int64)
    for j in range(m):
        a, b = pa[j], pb[j]
        x = fill[a]
        fill[a] += 1
        y = fill[b]
        fill[b] += 1
        target[x], sender[x], old[x], new_ab[j] = b, a, old_ab[j], x
        target[y], sender[y], old[y], new_ba[j] = a, b, old_ba[j], y
        reverse[x], reverse[y] = y, x
    return indptr, target, sender, reverse, old, new_ab, new_ba


@numba.njit(cache=True)
def _carry(previous, old, sender, P, init, messages):
    """Today's messages: yesterday's where the edge was active, else the sender's marginals
    (``init[c]``: the state whose marginal starts column ``c``, -1 for 1)."""
    for x in range(old.size):
        o = old[x]
        for c in range(messages.shape[1]):
            if o >= 0:
                messages[x, c] = previous[o, c]
            elif init[c] < 0:
                messages[x, c] = 1.0
            else:
                messages[x, c] = P[sender[x], init[c]]


@numba.njit(cache=True)
def _day_lambda(ptr, indices, pc, indptr, target, reverse, mark, out):
    """The day's probability on each active edge ``s -> r``: ``1 - prod (1 - lambda)`` over
    the day's contacts of the pair (``ptr``: the day's row pointers, by receiver)."""
    out[:] = 0.0
    for r in range(ptr.shape[0] - 1):
        if ptr[r] == ptr[r + 1]:
            continue
        for x in range(indptr[r], indptr[r + 1]):
            mark[target[x]] = x  # the edge r -> target
        for e in range(ptr[r], ptr[r + 1]):
            if pc[e] > 0.0:
                out[reverse[mark[indices[e]]], 0] += math.log1p(-min(pc[e], 1.0 - 1e-300))
    for x in range(out.shape[0]):
        out[x, 0] = -math.expm1(out[x, 0])


def _dmp_setup(model, contacts, initial, params, observations, tau, delta):
    """What both sweeps of :func:`dmp` share: equations, kernels, window, clamps, arrays."""
    eqs = derive.dmp(model)
    S, X, C, lam, phi_states = derive.epidemics._dmp_structure(model)
    if not (isinstance(lam, sp.Symbol)):
        raise ModelError(
            f"DMP reads the contact probability from the data: write it as one symbol, not {lam}"
        )
    P, _ = _initial(model, contacts, initial)
    edge, node = _params(model, contacts, params)
    start = _window(contacts, delta)
    clamp = _clamps(model, contacts, observations, tau)
    ceqs, _ = _probability_equations(model)
    pc = _evaluate(ceqs, [edge[:, k] for k in range(edge.shape[1])], contacts.n_contacts)[0]
    pc = np.ascontiguousarray(pc, dtype=float)
    P = np.ascontiguousarray(P, dtype=float)
    _apply(P, clamp[start])
    iS = model.index(S)
    msgs = eqs.by_role("message")
    init = np.array(
        [
            -1
            if m.name == "theta"
            else iS
            if m.name == "P_S_cav"
            else model.index(m.name[len("phi_") :])
            for m in msgs
        ],
        dtype=np.int64,
    )
    node_cols = [s for s in eqs.arguments if eqs.roles[s] in ("data", "node_param")]
    node_values = np.stack(
        [P[:, iS] if s.name == "P_S0" else node[s.name] for s in node_cols], axis=1
    )
    marg_eqs = derive.dmp(model, "marginals")
    return dict(
        eqs=eqs,
        kern=numerics.compile(eqs),
        marg=numerics.compile(marg_eqs),
        marg_args=[s.name for s in marg_eqs.arguments],
        node=node,
        P=P,
        start=start,
        clamp=clamp,
        pc=pc,
        init=init,
        node_values=node_values,
        col_ps0=[s.name for s in node_cols].index("P_S0"),
        c_theta=[m.name for m in msgs].index("theta"),
        clamp_messages=_message_clamps(model, eqs, phi_states),
    )


def _next_marginals(model, s, P, belief):
    """The marginals of day ``t + 1`` from those of day ``t`` and :math:`P^S(t+1)`."""
    values = {f"P_{st}": P[:, k] for k, st in enumerate(model.states)}
    values["P_S_next"] = belief[:, 0]
    values.update(s["node"])
    return s["marg"].array(*[values[a] for a in s["marg_args"]]).T.copy()


def dmp(
    model,
    contacts,
    initial,
    params=None,
    observations=(),
    tau=0,
    delta=None,
    sweep="active",
    strict=False,
):
    r"""Dynamic message passing marginals on ``contacts`` (compiled from :func:`derive.dmp`).

    Messages live on the directed edges ``k -> i`` of the union of all contacts (a pair that
    never meets on a day has :math:`\lambda_{ki}(t) = 0` that day; several contacts of a
    pair on one day combine into :math:`1 - \prod (1 - \lambda)`). Exact when that union is
    a tree. Supports the unidirectional models of :func:`derive.dmp` (no return to ``S``).

    ``sweep="active"`` (the default) updates the two messages of a pair only from its first
    to its last day of contact (of positive probability, either direction). Before its first
    contact :math:`\theta_{i\to k} = 1`, so the messages ``k -> i`` equal ``k``'s own
    marginals (:math:`P^S_{k\to i} = P^S_k`, :math:`\phi^a_{k\to i} = P^a_k`) and start from
    them; after its last contact :math:`\theta_{k\to i}` no longer changes and is folded
    into a frozen product :math:`F_i`, which multiplies :math:`P^S_i(0)` wherever the
    equations use it (:math:`P^S_{i\to j} = P^S_i(0) F_i \prod_{\text{active } l \ne j}
    \theta_{l\to i}`). The same numbers as ``sweep="union"`` -- every edge of the union every
    day -- up to rounding, in time and memory proportional to the active edges of a day
    instead of the whole union (daily random contacts are active for one day).

    Memory (``"active"``): the messages of the active edges, :math:`2 (2 + m)` floats per
    active directed edge (``m`` the number of :math:`\phi` messages, 1 for SIR), plus four
    32-bit integers per pair that ever meets and, while the pairs are found, five per
    directed edge; ``"union"``: :math:`2 |E_\cup| (2 + m)` floats plus one per directed
    union edge (about :math:`72 |E_\cup|` bytes for SIR).

    Parameters
    ----------
    initial : array
        State indices (n,) or marginals (n, n_states) on the first day of the window.
    observations, tau, delta
        As :func:`ibmf`. The messages out of an observed person are conditioned on the
        observed state (a heuristic, not Bayesian conditioning: with observations DMP is
        no longer exact on trees).
    sweep : {"active", "union"}
        Which edges are updated each day (see above).

    Returns
    -------
    EpidemicMarginals
    """
    _check(model, contacts)
    if sweep not in ("active", "union"):
        raise InputError(f"sweep must be 'active' or 'union', got {sweep!r}")
    s = _dmp_setup(model, contacts, initial, params, observations, tau, delta)
    run = _dmp_active if sweep == "active" else _dmp_union
    out, memory = run(model, contacts, s)
    return _finish(out, model, s["start"], "DMP", memory, strict)


def _dmp_active(model, contacts, s):
    n, start, days = contacts.n, s["start"], contacts.days
    P, clamp, pc, node_values = s["P"], s["clamp"], s["pc"], s["node_values"]
    kern, c_theta, col_ps0 = s["kern"], s["c_theta"], s["col_ps0"]
    width = s["init"].size
    window = np.ascontiguousarray(contacts.indptr[start:days])
    ptr, src, first, last = _directed_edges(window, contacts.indices, pc, n)
    pair_bytes = 5 * 4 * src.size + 8 * (n + 1)
    pa, pb, pf, pl = _pairs(ptr, src, first, last, n)
    del ptr, src, first, last
    pair_bytes = max(pair_bytes, 4 * 4 * pa.size)
    by_first = np.argsort(pf, kind="stable")
    pa, pb, pl = pa[by_first], pb[by_first], pl[by_first]
    first_ptr = np.searchsorted(pf[by_first], np.arange(days - start + 1))
    del pf, by_first
    frozen = np.ones(n)
    act_a = act_b = act_l = np.zeros(0, dtype=np.int32)  # the active pairs
    pos_ab = pos_ba = np.zeros(0, dtype=np.int64)
    messages = np.zeros((0, width))
    mark = np.empty(n, dtype=np.int64)
    belief = np.empty((n, 1))
    out = np.empty((days - start + 1,) + P.shape)
    out[0] = P
    none = np.zeros(0, dtype=np.int64)
    frozen[s["clamp_messages"](messages, node_values, clamp[start], none, none)] = 1.0
    peak = 0
    for t in range(start, days):
        d = t - start
        lo, hi = first_ptr[d], first_ptr[d + 1]
        act_a = np.concatenate([act_a, pa[lo:hi]])
        act_b = np.concatenate([act_b, pb[lo:hi]])
        act_l = np.concatenate([act_l, pl[lo:hi]])
        minus = np.full(hi - lo, -1, dtype=np.int64)
        old_ab, old_ba = np.concatenate([pos_ab, minus]), np.concatenate([pos_ba, minus])
        indptr, target, sender, reverse, old, pos_ab, pos_ba = _layout(
            n, act_a, act_b, old_ab, old_ba
        )
        previous = messages
        messages = np.empty((target.size, width))
        _carry(previous, old, sender, P, s["init"], messages)
        del previous
        lam_day = np.empty((target.size, 1))
        _day_lambda(
            contacts.indptr[t], contacts.indices, pc, indptr, target, reverse, mark, lam_day
        )
        degree = int(np.diff(indptr).max()) if target.size else 0
        scratch = np.empty((max(degree, 1), 2))
        folded = node_values.copy()
        folded[:, col_ps0] *= frozen
        new = np.empty_like(messages)
        kern.module.contact_messages(
            indptr, target, reverse, messages, folded, lam_day, new, scratch
        )
        messages = new
        peak = max(peak, 2 * messages.nbytes + lam_day.nbytes)
        frozen[s["clamp_messages"](messages, node_values, clamp[t + 1], sender, target)] = 1.0
        folded = node_values.copy()
        folded[:, col_ps0] *= frozen
        kern.module.contact_beliefs(indptr, target, reverse, messages, folded, lam_day, belief)
        nxt = _next_marginals(model, s, P, belief)
        _apply(nxt, clamp[t + 1])
        out[t - start + 1] = P = nxt
        # pairs whose last contact was today: theta is final, fold it into the receivers
        done = act_l <= d
        if np.any(done):
            np.multiply.at(frozen, act_b[done], messages[pos_ab[done], c_theta])
            np.multiply.at(frozen, act_a[done], messages[pos_ba[done], c_theta])
            keep = ~done
            act_a, act_b, act_l = act_a[keep], act_b[keep], act_l[keep]
            pos_ab, pos_ba = pos_ab[keep], pos_ba[keep]
    return out, peak + pair_bytes


def _union(contacts, lo, hi):
    """The union of the contacts of days ``lo .. hi - 1`` as directed CSR arrays.

    Returns ``(indptr, indices, reverse, rows, entry)``: edges ``k -> i`` sorted by ``k`` then
    ``i`` (``rows[e] = k``), the opposite edge, and the edge of each contact entry of the days
    (``j -> i`` for the entry of receiver ``i`` and contact ``j``).
    """
    n = contacts.n
    a, b = contacts.indptr[lo, 0], contacts.indptr[hi - 1, -1]
    recv = contacts.sources()[a:b]
    src = contacts.indices[a:b].astype(np.int64)
    both = np.concatenate([src * n + recv, recv * n + src])
    order = np.argsort(both, kind="stable")
    ordered = both[order]
    first = np.ones(ordered.size, dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    keys = ordered[first]
    inverse = np.empty(both.size, dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    entry = inverse[: src.size]  # the edge src -> recv of each entry
    rows, cols = keys // n, keys % n
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    # the edge set is symmetric: sorting the reversed keys lists the same keys
    reverse = np.empty(keys.size, dtype=np.int64)
    reverse[np.argsort(cols * n + rows, kind="stable")] = np.arange(keys.size)
    return indptr, cols, reverse, rows, entry


def _dmp_union(model, contacts, s):
    """Every directed edge of the union of the window's contacts, every day."""
    start, days = s["start"], contacts.days
    P, clamp, pc, node_values = s["P"], s["clamp"], s["pc"], s["node_values"]
    kern = s["kern"]
    indptr, indices, reverse, rows, entry = _union(contacts, start, days)
    E = indices.size
    messages = np.empty((E, s["init"].size))
    for c, k in enumerate(s["init"]):
        messages[:, c] = 1.0 if k < 0 else P[rows, k]
    new = np.empty_like(messages)
    deg = int(np.diff(indptr).max()) if E else 0
    scratch = np.empty((max(deg, 1), 2))
    lam_day = np.zeros((E, 1))
    out = np.empty((days - start + 1,) + P.shape)
    out[0] = P
    belief = np.empty((contacts.n, 1))
    log_escape = np.log1p(-np.minimum(pc, 1 - 1e-300))
    base = contacts.indptr[start, 0]
    s["clamp_messages"](messages, node_values, clamp[start], rows, indices)
    for t in range(start, days):
        lo, hi = contacts.indptr[t, 0], contacts.indptr[t, -1]
        esc = np.bincount(entry[lo - base : hi - base], log_escape[lo:hi], minlength=E)
        lam_day[:, 0] = -np.expm1(esc)
        kern.module.contact_messages(
            indptr, indices, reverse, messages, node_values, lam_day, new, scratch
        )
        messages, new = new, messages
        s["clamp_messages"](messages, node_values, clamp[t + 1], rows, indices)
        kern.module.contact_beliefs(
            indptr, indices, reverse, messages, node_values, lam_day, belief
        )
        nxt = _next_marginals(model, s, P, belief)
        _apply(nxt, clamp[t + 1])
        out[t - start + 1] = P = nxt
    return out, 2 * messages.nbytes + lam_day.nbytes
