r"""Compartmental epidemic models on contact graphs, in discrete time, and their derivations.

A :class:`Compartmental` model has states (``"S"``, ``"I"``, ``"R"``, ...), *spontaneous*
transitions ``a -> b`` with a probability per day (recovery ``I -> R`` with ``mu``), and
*contact* transitions ``a -> b`` through a contact with someone in state ``c`` (infection
``S -> I`` through an ``I``, with probability ``lambda`` per contact and day).

The convention of a day, shared by the simulator (``graphs.simulate``) and every derivation:
a person's transitions depend on the states at day ``t`` only. A person in state ``a`` first
undergoes the contact transitions out of ``a``, in the declared order: each contact ``j`` in
state ``c`` transmits independently with probability :math:`\lambda_{ji}(t)`; then, if it did
not move, the spontaneous transitions out of ``a`` (one of them, with their probabilities).
So the newly infected act from the next day, and recover at the earliest the day after.

:func:`ibmf` derives the individual-based mean-field (product form and the linearised form),
:func:`dmp` dynamic message passing (Lokhov, Mézard, Zdeborová, PRE 91, 012811 (2015);
Lokhov, Mézard, Ohta, Zdeborová, PRE 90, 012801 (2014)), exact on trees.
"""

import sympy as sp

from .equations import Equations
from .errors import ModelError
from .model import Model, memoized

__all__ = ["Compartmental", "ibmf", "dmp"]


def _prob(expr, where):
    try:
        p = sp.sympify(expr, strict=True) if not isinstance(expr, sp.Basic) else expr
    except (sp.SympifyError, TypeError):
        raise ModelError(
            f"{where}: probability {expr!r} is not a number or sympy expression"
        ) from None
    if p.is_number:
        if not p.is_real or p < 0 or p > 1:
            raise ModelError(f"{where}: probability {p} is outside [0, 1]")
    return p


class Compartmental(Model):
    r"""A discrete-time compartmental model: states, spontaneous and contact transitions.

    Parameters
    ----------
    states : sequence of str
        The compartments, e.g. ``("S", "I", "R")``; the index of a state in this tuple is
        how simulations and marginals refer to it.
    spontaneous : mapping (a, b) -> probability
        ``a -> b`` with that probability per day (a number in [0, 1] or a sympy expression
        whose symbols are parameters: one value, or one per person).
    contact : mapping (a, b) -> (c, probability)
        ``a -> b`` through each contact with someone in state ``c``, with that probability per
        contact and day. The symbols of a contact probability are read from the contact data
        (:math:`\lambda_{ji}(t)`) unless a value is given for them.

    Raises
    ------
    ModelError
        For an undeclared state, a transition from a state to itself, a probability outside
        [0, 1], spontaneous probabilities out of one state that add up to more than 1, or a
        symbol used both per contact and per person.

    Examples
    --------
    >>> lam, mu = sp.symbols("lambda mu", positive=True)
    >>> sir = Compartmental(("S", "I", "R"), spontaneous={("I", "R"): mu},
    ...                     contact={("S", "I"): ("I", lam)})
    >>> sir.params, sir.contact_params
    ((lambda, mu), (lambda,))
    """

    def __init__(self, states, spontaneous=None, contact=None):
        states = tuple(states)
        if not states or not all(isinstance(s, str) and s.isidentifier() for s in states):
            raise ModelError(f"states must be a non-empty sequence of names, got {states!r}")
        if len(set(states)) != len(states):
            raise ModelError(f"repeated state in {states}")
        self.states = states

        def check(a, b, what):
            for s in (a, b):
                if s not in states:
                    raise ModelError(
                        f"{what} transition {a} -> {b}: undeclared state {s!r}; "
                        f"the states are {states}"
                    )
            if a == b:
                raise ModelError(f"{what} transition {a} -> {b} from a state to itself")

        spont = []
        for key, p in dict(spontaneous or {}).items():
            try:
                a, b = key
            except (TypeError, ValueError):
                raise ModelError(f"spontaneous: key {key!r} is not a pair (a, b)") from None
            check(a, b, "spontaneous")
            spont.append((a, b, _prob(p, f"spontaneous {a} -> {b}")))
        spont.sort(key=lambda t: (states.index(t[0]), states.index(t[1])))
        cont = []
        for key, value in dict(contact or {}).items():
            try:
                (a, b), (c, p) = key, value
            except (TypeError, ValueError):
                raise ModelError(
                    f"contact: {key!r}: {value!r} is not (a, b): (via_state, probability)"
                ) from None
            check(a, b, "contact")
            if c not in states:
                raise ModelError(
                    f"contact transition {a} -> {b}: undeclared state {c!r} to catch it from; "
                    f"the states are {states}"
                )
            cont.append((a, b, c, _prob(p, f"contact {a} -> {b}")))
        for a in states:
            out = [p for s, _, p in spont if s == a]
            total = sp.Add(*out)
            if total.is_number and total > 1:
                raise ModelError(f"spontaneous probabilities out of {a} add up to {total} > 1")
        self.spontaneous = tuple(spont)
        self.contact = tuple(cont)
        per_contact = set().union(*(p.free_symbols for *_, p in cont))
        per_person = set().union(*(p.free_symbols for *_, p in spont))
        both = per_contact & per_person
        if both:
            raise ModelError(
                f"symbol(s) {sorted(map(str, both))} used both per contact and per person"
            )
        self.contact_params = tuple(sorted(per_contact, key=str))
        self.node_params = tuple(sorted(per_person, key=str))
        self.params = tuple(sorted(per_contact | per_person, key=str))
        self._freeze()

    def _content(self):
        return (self.states, self.spontaneous, self.contact)

    def index(self, state):
        """The index of ``state`` in :attr:`states`."""
        if state not in self.states:
            raise ModelError(f"unknown state {state!r}; the states are {self.states}")
        return self.states.index(state)

    def spontaneous_matrix(self):
        """``T[a][b]``: probability of the spontaneous move ``a -> b`` (``T[a][a]``: staying)."""
        n = len(self.states)
        T = [[sp.S.Zero] * n for _ in range(n)]
        for a, b, p in self.spontaneous:
            T[self.index(a)][self.index(b)] += p
        for a in range(n):
            T[a][a] = 1 - sp.Add(*T[a])
        return T

    def __repr__(self):
        sp_ = ", ".join(f"{a}->{b}: {p}" for a, b, p in self.spontaneous)
        co = ", ".join(f"{a}->{b} via {c}: {p}" for a, b, c, p in self.contact)
        return f"Compartmental({self.states}, spontaneous={{{sp_}}}, contact={{{co}}})"


def _P(state, suffix=""):
    return sp.Symbol(f"P_{state}{suffix}")


def _check_model(model):
    if not isinstance(model, Compartmental):
        raise ModelError(f"expected a Compartmental model, got {type(model).__name__}")


@memoized
def ibmf(model, form="product"):
    r"""Individual-based mean-field equations of a compartmental model, one day at a time.

    Each person's state is independent of the others' (the mean-field closure). For a contact
    transition ``a -> b`` through ``c`` with probability :math:`\lambda`, the probability of
    escaping all contacts of day ``t`` is

    .. math:: Q_i(t) = \prod_{j \in \partial i(t)} \left(1 - \lambda_{ji}(t) P^c_j(t)\right)

    (``form="product"``), or :math:`Q_i = \max(0, 1 - \sum_j \lambda_{ji} P^c_j)` (``form=
    "linear"``, the linearised form of Baker et al., PNAS 118, e2106548118 (2021)). Then, with
    the spontaneous probabilities :math:`T_{ab}`, following the convention of a day (contact
    transitions first, spontaneous ones for those who did not move):

    .. math:: P^a_i(t+1) = P^a_i Q^a_i T_{aa} + \sum_{b \ne a} P^b_i Q^b_i T_{ba}
              + \sum_{k: a' \to a} P^{a'}_i M^k_i,

    with :math:`Q^a` the product of the escape probabilities of the contact transitions out of
    ``a`` and :math:`M^k` the probability of moving by transition ``k`` (escaping the earlier
    ones). For SIR: :math:`P^S_i(t+1) = P^S_i(t) \prod_j (1 - \lambda_{ji} P^I_j(t))`,
    :math:`P^R_i(t+1) = P^R_i(t) + \mu P^I_i(t)`.

    Returns
    -------
    Equations
        ``kind="map"``: state ``P_a`` per person (role ``"state"``), one aggregate per contact
        transition (``Q_a_b``, a product, or ``L_a_b``, a sum, over the day's contacts), the
        neighbour's state ``P_a_j``, contact probabilities as edge parameters.
    """
    _check_model(model)
    if form not in ("product", "linear"):
        raise ModelError(f"form must be 'product' or 'linear', got {form!r}")
    states = model.states
    P = [_P(s) for s in states]
    Pj = [_P(s, "_j") for s in states]
    T = model.spontaneous_matrix()
    aggregates, ops, escape = [], {}, []
    for a, b, c, lam in model.contact:
        term = lam * Pj[model.index(c)]
        if form == "product":
            A = sp.Symbol(f"Q_{a}_{b}")
            aggregates.append((A, 1 - term))
            ops[A] = "product"
            escape.append((a, b, A))
        else:
            A = sp.Symbol(f"L_{a}_{b}")
            aggregates.append((A, term))
            escape.append((a, b, sp.Max(0, 1 - A)))
    n = len(states)
    stay = [sp.S.One] * n  # probability of escaping every contact transition out of a
    new = [sp.S.Zero] * n
    for a, b, Q in escape:
        ia, ib = model.index(a), model.index(b)
        new[ib] += P[ia] * stay[ia] * (1 - Q)
        stay[ia] *= Q
    for a in range(n):
        for b in range(n):
            new[b] += P[a] * stay[a] * T[a][b]
    outputs = [(P[a], new[a]) for a in range(n)]
    edge = model.contact_params
    return Equations(
        f"individual-based mean-field ({form})",
        "map",
        P + [A for A, _ in aggregates],
        list(edge) + list(model.node_params),
        outputs,
        aggregates=aggregates,
        neighbor=Pj,
        edge_params=edge,
        model=model,
        roles={p: "state" for p in P},
        operations=ops,
        description=(
            "Individual-based mean-field, discrete time: P_a(t+1) from P_a(t) and the "
            "aggregates over the contacts of day t (state P_a_j of each contact j)."
        ),
    )


def _dmp_structure(model):
    """(S, X, C, lambda, phi states) of a model DMP supports; ModelError otherwise."""
    if len(model.contact) != 1:
        raise ModelError(
            "DMP supports models with exactly one contact transition S -> X through C; "
            f"this model has {len(model.contact)}"
        )
    S, X, C, lam = model.contact[0]
    into = [f"{a} -> {b}" for a, b, _ in model.spontaneous if b == S]
    into += [f"{a} -> {b}" for a, b, *_ in model.contact if b == S]
    if into:
        raise ModelError(
            "DMP supports unidirectional dynamics only (no return to the susceptible state "
            f"{S}); this model has {', '.join(into)}"
        )
    out = [f"{a} -> {b}" for a, b, _ in model.spontaneous if a == S]
    if out:
        raise ModelError(
            f"DMP: the susceptible state {S} may only be left by contact; "
            f"this model has {', '.join(out)}"
        )
    if C == S:
        raise ModelError(f"DMP: the state {C} that transmits cannot be the susceptible state")
    # states from which C is reachable by spontaneous moves (C included)
    reach = {C}
    changed = True
    while changed:
        changed = False
        for a, b, _ in model.spontaneous:
            if b in reach and a not in reach:
                reach.add(a)
                changed = True
    if X not in reach:
        raise ModelError(f"DMP: the infected state {X} never reaches the transmitting state {C}")
    phi_states = tuple(s for s in model.states if s in reach)
    return S, X, C, lam, phi_states


@memoized
def dmp(model, part="messages"):
    r"""Dynamic message passing for a compartmental model, in discrete time.

    Supports unidirectional dynamics only: one contact transition ``S -> X`` through ``C``,
    no return to ``S`` and no spontaneous move out of ``S`` (SI, SIR, SEIR-like models);
    others are refused with a :class:`ModelError`. Exact on trees (and on temporal
    contacts whose union is a tree), under the convention of a day of this module.

    Messages on the directed contact edge ``k -> i``: :math:`\theta_{k\to i}(t)`, the
    probability that ``k`` has not infected ``i`` by ``t``; :math:`\phi^a_{k\to i}(t)`, that
    ``k`` is in state ``a`` and has not infected ``i`` (for the states ``a`` from which ``C``
    can be reached: for SIR just ``I``); :math:`P^S_{k\to i}(t)`, that ``k`` is susceptible,
    all in the graph without ``i`` (Lokhov, Mézard, Zdeborová, PRE 91, 012811 (2015),
    eqs. (3)-(6)):

    .. math::
        \theta_{k\to i}(t+1) &= \theta_{k\to i}(t) - \lambda_{ki}(t)\,\phi^C_{k\to i}(t), \\
        P^S_{k\to i}(t+1) &= P^S_k(0) \prod_{l \in \partial k \setminus i} \theta_{l\to k}(t+1),\\
        \phi^a_{k\to i}(t+1) &= \sum_b \phi^b_{k\to i}(t)\,(1 - \lambda_{ki}\delta_{bC})\,T_{ba}
            - \delta_{aX} \left[P^S_{k\to i}(t+1) - P^S_{k\to i}(t)\right],

    and :math:`P^S_i(t) = P^S_i(0) \prod_{k \in \partial i} \theta_{k\to i}(t)`. For SIR
    this is :math:`\phi(t+1) = (1-\lambda)(1-\mu)\phi(t) - \Delta P^S_{k\to i}`. Initially
    :math:`\theta = 1`, :math:`\phi^a_{k\to i}(0) = P^a_k(0)`,
    :math:`P^S_{k\to i}(0) = P^S_k(0)`.

    Parameters
    ----------
    part : {"messages", "marginals"}
        ``"messages"``: the message update (``kind="message"``; the aggregate
        ``Theta`` is the product of the *updated* :math:`\theta_{l\to k}(t+1)` over
        :math:`l \in \partial k \setminus i`, the neighbour symbol ``theta_n`` being the
        first message column after the update; the observable ``P_S`` is
        :math:`P^S_i(0)` times the product over all of :math:`\partial i`).
        ``"marginals"``: the other states of a person, from :math:`P^S(t+1)`:
        :math:`P^a(t+1) = \sum_b P^b(t) T_{ba} + \delta_{aX} (P^S(t) - P^S(t+1))`.
    """
    _check_model(model)
    S, X, C, lam, phi_states = _dmp_structure(model)
    T = model.spontaneous_matrix()
    idx = model.index
    if part == "marginals":
        P = [_P(s) for s in model.states]
        PS_new = sp.Symbol("P_S_next")
        outputs = []
        for a in model.states:
            if a == S:
                outputs.append((P[idx(a)], PS_new))
                continue
            expr = sp.Add(*(P[idx(b)] * T[idx(b)][idx(a)] for b in model.states if b != S))
            if a == X:
                expr += P[idx(S)] - PS_new
            outputs.append((P[idx(a)], expr))
        return Equations(
            "dynamic message passing: marginals",
            "map",
            P + [PS_new],
            list(model.node_params),
            outputs,
            model=model,
            roles={**{p: "state" for p in P}, PS_new: "data"},
            description="DMP: the marginals of a person from its susceptible probability.",
        )
    if part != "messages":
        raise ModelError(f"part must be 'messages' or 'marginals', got {part!r}")
    theta = sp.Symbol("theta")
    phi = {a: sp.Symbol(f"phi_{a}") for a in phi_states}
    PSc = sp.Symbol("P_S_cav")
    Theta = sp.Symbol("Theta")
    theta_n = sp.Symbol("theta_n")
    PS0 = sp.Symbol("P_S0")
    outputs = [(theta, theta - lam * phi[C]), (PSc, PS0 * Theta)]
    for a in phi_states:
        expr = sp.Add(
            *(
                phi[b] * (1 - lam if b == C else 1) * T[idx(b)][idx(a)]
                for b in phi_states
                if T[idx(b)][idx(a)] != 0
            )
        )
        if a == X:
            expr -= PS0 * Theta - PSc
        outputs.append((phi[a], expr))
    messages = [theta, PSc] + [phi[a] for a in phi_states]
    edge = model.contact_params
    return Equations(
        "dynamic message passing",
        "message",
        messages + [Theta, PS0],
        list(edge) + list(model.node_params),
        outputs,
        observables=[(_P(S), PS0 * Theta)],
        aggregates=[(Theta, theta_n)],
        neighbor=[theta_n],
        edge_params=edge,
        model=model,
        roles={**{m: "message" for m in messages}, PS0: "data"},
        operations={Theta: "product"},
        description=(
            "Dynamic message passing (Lokhov, Mezard, Zdeborova, PRE 91, 012811 (2015)) in "
            "discrete time: messages on the directed edge k -> i; Theta is the product over "
            "l in dk minus i of the updated theta_{l -> k}; P_S0 is P_S_k(0)."
        ),
    )
