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


def _message_clamps(model, eqs, phi_states, rows):
    r"""A function that conditions the messages out of the observed people of a day.

    A person ``k`` known to be in state ``a``: :math:`P^S_{k\to i} = [a = S]`,
    :math:`\phi^b_{k\to i} = \theta_{k\to i} [b = a]` (in ``a`` for sure, and not yet
    transmitted with the probability the messages give), and, once ``k`` is known to have
    left ``S``, :math:`P^S_k(0) = 0` so that the cavity stays at zero.
    """
    names = [m.name for m in eqs.by_role("message")]
    c_theta, c_ps = names.index("theta"), names.index("P_S_cav")
    c_phi = {s: names.index(f"phi_{s}") for s in phi_states}
    S = model.contact[0][0]
    iS = model.index(S)
    col_ps0 = [s.name for s in eqs.arguments if eqs.roles[s] in ("data", "node_param")].index(
        "P_S0"
    )

    def apply(messages, node_values, clamp_row):
        known = clamp_row[rows]
        edges = np.nonzero(known >= 0)[0]
        if not edges.size:
            return
        state = known[edges]
        messages[edges, c_ps] = state == iS
        for s, c in c_phi.items():
            messages[edges, c] = np.where(state == model.index(s), messages[edges, c_theta], 0.0)
        left = np.nonzero((clamp_row >= 0) & (clamp_row != iS))[0]
        node_values[left, col_ps0] = 0.0

    return apply


def dmp(model, contacts, initial, params=None, observations=(), tau=0, delta=None, strict=False):
    r"""Dynamic message passing marginals on ``contacts`` (compiled from :func:`derive.dmp`).

    Messages live on the directed edges ``k -> i`` of the union of all contacts (a pair that
    never meets on a day has :math:`\lambda_{ki}(t) = 0` that day; several contacts of a
    pair on one day combine into :math:`1 - \prod (1 - \lambda)`). Exact when that union is
    a tree. Supports the unidirectional models of :func:`derive.dmp` (no return to ``S``).

    Memory: the messages, :math:`2 |E_\cup| (2 + m)` floats (``m`` the number of
    :math:`\phi` messages, 1 for SIR) for the current and next day, plus one probability per
    directed union edge for the current day: for SIR about :math:`72 |E_\cup|` bytes.

    Parameters
    ----------
    initial : array
        State indices (n,) or marginals (n, n_states) on the first day of the window.
    observations, tau, delta
        As :func:`ibmf`. The messages out of an observed person are conditioned on the
        observed state (a heuristic, not Bayesian conditioning: with observations DMP is
        no longer exact on trees).

    Returns
    -------
    EpidemicMarginals
    """
    _check(model, contacts)
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
    indptr, indices, reverse, rows, entry = _union(contacts, start, contacts.days)
    E = indices.size
    kern = numerics.compile(eqs)
    marg = numerics.compile(derive.dmp(model, "marginals"))
    P = np.ascontiguousarray(P, dtype=float)
    _apply(P, clamp[start])
    iS = model.index(S)
    msgs = eqs.by_role("message")
    messages = np.empty((E, len(msgs)))
    for c, m in enumerate(msgs):
        if m.name == "theta":
            messages[:, c] = 1.0
        elif m.name == "P_S_cav":
            messages[:, c] = P[rows, iS]
        else:
            messages[:, c] = P[rows, model.index(m.name[len("phi_") :])]
    node_cols = [s for s in eqs.arguments if eqs.roles[s] in ("data", "node_param")]
    node_values = np.stack(
        [P[:, iS] if s.name == "P_S0" else node[s.name] for s in node_cols], axis=1
    )
    new = np.empty_like(messages)
    deg = int(np.diff(indptr).max()) if E else 0
    scratch = np.empty((max(deg, 1), 2))
    lam_day = np.zeros((E, 1))
    out = np.empty((contacts.days - start + 1,) + P.shape)
    out[0] = P
    belief = np.empty((contacts.n, 1))
    marg_args = [s.name for s in derive.dmp(model, "marginals").arguments]
    log_escape = np.log1p(-np.minimum(pc, 1 - 1e-300))
    base = contacts.indptr[start, 0]
    clamp_messages = _message_clamps(model, eqs, phi_states, rows)
    clamp_messages(messages, node_values, clamp[start])
    for t in range(start, contacts.days):
        lo, hi = contacts.indptr[t, 0], contacts.indptr[t, -1]
        esc = np.bincount(entry[lo - base : hi - base], log_escape[lo:hi], minlength=E)
        lam_day[:, 0] = -np.expm1(esc)
        kern.module.contact_messages(
            indptr, indices, reverse, messages, node_values, lam_day, new, scratch
        )
        messages, new = new, messages
        clamp_messages(messages, node_values, clamp[t + 1])
        kern.module.contact_beliefs(
            indptr, indices, reverse, messages, node_values, lam_day, belief
        )
        values = {s: P[:, k] for k, s in enumerate(model.states)}
        values = {f"P_{s}": v for s, v in values.items()}
        values["P_S_next"] = belief[:, 0]
        values.update(node)
        nxt = marg.array(*[values[a] for a in marg_args]).T.copy()
        _apply(nxt, clamp[t + 1])
        out[t - start + 1] = P = nxt
    memory = 2 * messages.nbytes + lam_day.nbytes
    return _finish(out, model, start, "DMP", memory, strict)
