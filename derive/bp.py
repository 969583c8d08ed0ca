r"""Belief propagation (the cavity method) for pairwise models, in the log domain.

The message from ``k`` to ``i`` is the cavity law of ``k`` in the graph without
the edge ``(k, i)``,

.. math::
    \psi_{k\to i}(s) \propto e^{-\beta\phi_k(s)} \prod_{l \in \partial k \setminus i}
    \sum_{s'} e^{-\beta e(s, s'; \theta_{lk})}\, \psi_{l\to k}(s'),

stored as cavity fields: :math:`\psi(a_0) \propto 1`, :math:`\psi(a_r) \propto
e^{\beta h_r}` for the other states :math:`a_r` (``r = 1 .. q-1``). For two states
there is one field, scaled by the spacing, :math:`\psi(s) \propto e^{\beta h (s - a_0)}`,
which for Ising spins is the textbook cavity field: :math:`\psi(s) \propto e^{\beta h s}`.

A neighbour ``k`` shifts the log-weights of site ``i`` by the cavity bias

.. math::
    u_{k\to i}(a) = \frac{1}{\beta}\log \sum_{s'} e^{-\beta e(a, s'; \theta) + \beta\ell_k(s')}
    - \frac{1}{\beta}\log \sum_{s'} e^{\beta\ell_k(s')},

with :math:`\ell_k` the message's log-weights over :math:`\beta`, and the new message is
:math:`h_{i\to j, r} = -[\phi_i(a_r) - \phi_i(a_0)] + \sum_{k \in \partial i\setminus j}
[u_{k\to i}(a_r) - u_{k\to i}(a_0)]` (divided by the spacing for two states).
For Ising spins sympy closes the bias to
:math:`\mathrm{atanh}(\tanh\beta J \tanh\beta h)/\beta` (see :func:`derive.simplify.log_ratio`).

References
----------
Mézard & Montanari, *Information, Physics, and Computation*, OUP (2009), ch. 14;
Yedidia, Freeman & Weiss, IEEE Trans. Inf. Theory 51, 2282 (2005).
"""

import sympy as sp

from .equations import Equations
from .errors import ModelError
from .functions import LogSumExp
from .simplify import boltzmann_average, log_ratio
from .spins import BETA, PairwiseModel, _fresh

__all__ = ["belief_propagation", "bethe_edge", "bp_stability"]


def _check(model):
    if not isinstance(model, PairwiseModel):
        raise ModelError(f"belief propagation needs a PairwiseModel, got {type(model).__name__}")
    if len(model.alphabet) < 2:
        raise ModelError(
            f"belief propagation needs an alphabet of at least 2 states, got "
            f"{model.alphabet}: a single state has nothing to infer"
        )


def _scale(model):
    """The spacing that turns a two-state log-ratio into a field; 1 for larger alphabets."""
    a = model.alphabet
    return a[1] - a[0] if len(a) == 2 else sp.S.One


def _message_symbols(model, who, taken):
    """Cavity-field symbols of one message, named ``h_{who}`` or ``h_{who,r}``."""
    q = len(model.alphabet)
    names = [f"h_{{{who}}}"] if q == 2 else [f"h_{{{who},{r}}}" for r in range(1, q)]
    return tuple(sp.Symbol(_fresh(n, taken), real=True) for n in names)


def _log_weights(model, fields):
    """``ell(a)`` of a message: 0 at the first state, ``scale * h_r`` at the others."""
    scale = _scale(model)
    return [sp.S.Zero] + [scale * h for h in fields]


def _bias_exponents(model, a, ell, theta_energy):
    """Exponents ``-beta e(a, s') + beta ell(s')`` over ``s'`` in the alphabet."""
    x, y = model.variables
    return [
        sp.factor(sp.expand(-BETA * theta_energy.subs({x: a, y: b}, simultaneous=True) + BETA * l))
        for b, l in zip(model.alphabet, ell)
    ]


def _aggregates(model, incoming, taken):
    """Symbols and summands: field shifts ``U_r`` and the base bias ``B``."""
    q = len(model.alphabet)
    a0 = model.alphabet[0]
    ell = _log_weights(model, incoming)
    base = _bias_exponents(model, a0, ell, model.pair_energy)
    labels = ["U"] if q == 2 else [f"U_{r}" for r in range(1, q)]
    shifts, methods = [], []
    for label, a in zip(labels, model.alphabet[1:]):
        expr, method = log_ratio(_bias_exponents(model, a, ell, model.pair_energy), base)
        expr = expr / (BETA * _scale(model))
        if method == "closed form":
            expr = sp.simplify(expr)
        shifts.append((sp.Symbol(_fresh(label, taken), real=True), expr))
        methods.append(method)
    norm = [sp.factor(BETA * l) for l in ell]
    expr, _ = log_ratio(base, norm)
    bias = (sp.Symbol(_fresh("B", taken), real=True), expr / BETA)
    return shifts, bias, methods


def belief_propagation(model):
    r"""The BP message update of a pairwise model, with node marginals and log Z_i.

    Returns
    -------
    Equations
        ``kind="message"``. The aggregates are *cavity* sums: for the message
        ``i -> j`` they run over :math:`k \in \partial i \setminus j`; for the
        observables (``P_a``, the marginal; ``log_Z_i``, the site term of the
        Bethe free entropy) over all of :math:`\partial i`. ``neighbor`` holds
        the fields of the incoming message :math:`k \to i`; the outputs, those of
        :math:`i \to j`.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> bp = belief_propagation(ising)
    >>> bp["U"]
    atanh(tanh(J*beta)*tanh(beta*h_{k \to i}))/beta
    >>> bp["h_{i \\to j}"]
    U + h
    """
    _check(model)
    taken = {p.name for p in model.params} | {BETA.name}
    incoming = _message_symbols(model, "k \\to i", taken)
    outgoing = _message_symbols(model, "i \\to j", taken)
    shifts, bias, methods = _aggregates(model, incoming, taken)
    x, _ = model.variables
    a0 = model.alphabet[0]
    scale = _scale(model)
    phi0 = model.field_energy.subs(x, a0)
    outputs, out_methods = {}, {}
    for h_out, (U, _), a, method in zip(outgoing, shifts, model.alphabet[1:], methods):
        outputs[h_out] = sp.expand(-(model.field_energy.subs(x, a) - phi0) / scale) + U
        out_methods[h_out] = method
    # site log-weights with all neighbours: ell_i(a0) = 0, ell_i(a_r) = -dphi_r + scale U_r
    ell = [sp.S.Zero] + [scale * expr for expr in outputs.values()]
    energies = [-l for l in ell]
    observables = {}
    for k, a in enumerate(model.alphabet):
        onehot = [int(k == r) for r in range(len(model.alphabet))]
        observables[sp.Symbol(f"P_{a}", real=True)] = boltzmann_average(
            onehot, energies, BETA, simplify_up_to=0
        )[0]
    log_z = -BETA * phi0 + BETA * bias[0] + LogSumExp(*[BETA * l for l in ell])
    observables[sp.Symbol(_fresh("log_Z_i", taken), real=True)] = log_z
    return Equations(
        "belief propagation",
        "message",
        tuple(s for s, _ in shifts) + (bias[0],),
        (BETA,) + model.params,
        outputs,
        observables=observables,
        aggregates=shifts + [bias],
        neighbor=incoming,
        edge_params=model.edge_params,
        model=model,
        methods=out_methods,
        description="Belief propagation in cavity fields: h_{i->j} = -[phi(a_r) - phi(a_0)] + "
        "sum_{k in di minus j} [u_{k->i}(a_r) - u_{k->i}(a_0)], "
        f"for pair energy {model.pair_energy} and field energy "
        f"{model.field_energy} on the alphabet {model.alphabet}; aggregates over "
        "di minus j for the messages and over di for the observables.",
    )


def bethe_edge(model):
    r"""The edge term of the Bethe free entropy and the edge marginal.

    .. math::
        \log Z_{ij} = \log \sum_{a,b} \psi_{i\to j}(a)\, \psi_{j\to i}(b)\, e^{-\beta e(a, b; \theta_{ij})},
        \qquad -\beta F_\mathrm{Bethe} = \sum_i \log Z_i - \sum_{(ij)} \log Z_{ij}

    Returns
    -------
    Equations
        ``kind="map"``; inputs: the fields of ``i -> j`` then of ``j -> i``;
        params: ``beta`` and the edge parameters (plain arguments here);
        outputs: ``log_Z_ij``; observables: ``P_ab``, the joint law of ``(s_i, s_j)``.
    """
    _check(model)
    taken = {p.name for p in model.params} | {BETA.name}
    hij = _message_symbols(model, "i \\to j", taken)
    hji = _message_symbols(model, "j \\to i", taken)
    x, y = model.variables
    li, lj = _log_weights(model, hij), _log_weights(model, hji)
    pairs = [(a, b) for a in model.alphabet for b in model.alphabet]
    exponents = [
        sp.factor(
            sp.expand(
                BETA
                * (
                    li[model.alphabet.index(a)]
                    + lj[model.alphabet.index(b)]
                    - model.pair_energy.subs({x: a, y: b}, simultaneous=True)
                )
            )
        )
        for a, b in pairs
    ]
    joint = LogSumExp(*exponents)
    log_z = joint - LogSumExp(*[BETA * l for l in li]) - LogSumExp(*[BETA * l for l in lj])
    observables = {
        sp.Symbol(f"P_{a},{b}", real=True): sp.exp(x_ab - joint)
        for (a, b), x_ab in zip(pairs, exponents)
    }
    return Equations(
        "Bethe edge term",
        "map",
        hij + hji,
        (BETA,) + model.edge_params,
        {sp.Symbol("log_Z_ij", real=True): log_z},
        observables=observables,
        model=model,
        description="log Z_ij = log sum_ab psi_ij(a) psi_ji(b) exp(-beta e(a, b)); "
        "the Bethe free entropy is sum_i log Z_i - sum_ij log Z_ij.",
    )


def bp_stability(model):
    r"""Linearisation of the cavity bias with respect to the incoming message.

    .. math:: M_{rs}(h; \theta) = \frac{\partial U_r(h; \theta)}{\partial h_s},
              \qquad U_r = [u_{k\to i}(a_r) - u_{k\to i}(a_0)] / \mathrm{scale}

    At a homogeneous paramagnetic fixed point :math:`h^*` of a random regular
    graph of degree ``c``, a perturbation grows when
    :math:`(c - 1)\,\rho(\mathbb{E}_\theta M) > 1` (ferromagnetic instability) or
    :math:`(c - 1)\,\rho(\mathbb{E}_\theta M\otimes M) > 1` (spin-glass
    instability), :math:`\rho` the spectral radius (Mézard & Parisi, EPJB 20, 217
    (2001); Mézard & Montanari (2009), ch. 14).

    Returns
    -------
    Equations
        ``kind="map"``; inputs: the fields of the incoming message; params
        ``beta`` and the edge parameters; outputs ``M_rs`` row by row;
        observables: the biases ``U_r`` themselves.
    """
    _check(model)
    taken = {p.name for p in model.params} | {BETA.name}
    incoming = _message_symbols(model, "k \\to i", taken)
    shifts, _, _ = _aggregates(model, incoming, taken)
    outputs = {}
    for r, (_, expr) in enumerate(shifts, start=1):
        for s, h in enumerate(incoming, start=1):
            outputs[sp.Symbol(f"M_{r}{s}", real=True)] = sp.diff(expr, h)
    return Equations(
        "BP linearisation",
        "map",
        incoming,
        (BETA,) + model.edge_params,
        outputs,
        observables=dict(shifts),
        model=model,
        description="Jacobian of the cavity bias U(h) with respect to the fields "
        "h of the incoming message.",
    )
