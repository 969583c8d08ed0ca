r"""Replica-symmetric theory of a pairwise model with dense Gaussian couplings.

For a :class:`~derive.PairwiseModel` whose pair energy is bilinear,
:math:`e(s, s') = -K\, \sigma(s)\sigma(s')` with ``K`` an edge parameter, on the
complete graph with :math:`K_{ij} \sim N(J_0/N, J^2/N)`, the replica-symmetric
free energy per spin is

.. math::
    \beta f = \frac{\beta J_0 m^2}{2} + \frac{\beta^2 J^2}{4}(Q^2 - q^2)
              - \mathbb{E}_z \log \sum_a e^{x_a(z)}, \qquad
    x_a(z) = \beta (J_0 m + J\sqrt{q}\, z)\,\sigma(a) + \frac{\beta^2 J^2}{2}(Q - q)\,\sigma(a)^2
             - \beta \phi(a),

stationary at :math:`m = \mathbb{E}_z\langle\sigma\rangle`,
:math:`q = \mathbb{E}_z\langle\sigma\rangle^2`, :math:`Q = \mathbb{E}_z\langle\sigma^2\rangle`
(:math:`\langle\cdot\rangle` under the weights :math:`e^{x_a(z)}`). The
replica-symmetric solution is stable while
:math:`\beta^2 J^2\, \mathbb{E}_z (\langle\sigma^2\rangle - \langle\sigma\rangle^2)^2 < 1`
(de Almeida & Thouless). For Ising spins :math:`Q = 1` and this is the SK
model, :math:`m = \mathbb{E}_z \tanh \beta(J_0 m + J\sqrt{q} z + h)`; for spin-1
with a crystal field :math:`D s^2` it is the Ghatak--Sherrington model.

References
----------
Sherrington & Kirkpatrick, PRL 35, 1792 (1975); de Almeida & Thouless, J. Phys. A
11, 983 (1978); Ghatak & Sherrington, J. Phys. C 10, 3149 (1977); Mézard, Parisi &
Virasoro, *Spin Glass Theory and Beyond*, World Scientific (1987), ch. II.
"""

import sympy as sp

from .equations import Equations
from .errors import ModelError
from .functions import GaussianExpectation, LogSumExp
from .simplify import boltzmann_average
from .spins import BETA, PairwiseModel, _fields, _fresh

__all__ = ["replica_symmetric", "tap", "coupling_spread", "rs_symbols", "tap_symbols"]


def _bilinear(model):
    """``(sigma, kappa, K)`` with ``e(s, s') = -kappa K sigma(s) sigma(s')``, or a ModelError."""
    f_basis, g_basis, C, _, _ = _fields(model)
    x, y = model.variables
    why = None
    if len(f_basis) != 1 or len(g_basis) != 1 or (0, None) in C:
        why = "it is not a single product sigma(s_i) sigma(s_j)"
    else:
        f, g = f_basis[0], g_basis[0].subs(y, x)
        ratio = {
            sp.nsimplify(g.subs(x, a) / f.subs(x, a)) for a in model.alphabet if f.subs(x, a) != 0
        }
        zeros_match = all((f.subs(x, a) == 0) == (g.subs(x, a) == 0) for a in model.alphabet)
        coef = C[(0, 0)]
        params = coef.free_symbols & set(model.edge_params)
        if len(ratio) != 1 or not zeros_match:
            why = "the two sides are different functions of the state"
        elif len(params) != 1:
            why = f"its coefficient {coef} is not linear in one edge parameter"
        else:
            (K,) = params
            kappa = sp.simplify(coef / K * ratio.pop())
            if kappa.free_symbols or kappa == 0:
                why = f"its coefficient {coef} is not linear in one edge parameter"
    if why:
        raise ModelError(
            f"replica_symmetric needs a bilinear pair energy -K sigma(s_i) "
            f"sigma(s_j) with Gaussian couplings K; {model.pair_energy}: {why}"
        )
    return f_basis[0], kappa, K


def _spins(model, who):
    """The bilinear form of ``model`` for the derivation ``who``: ``(sigma values over the
    alphabet, kappa, names already taken)``; a ModelError if ``model`` is not pairwise."""
    if not isinstance(model, PairwiseModel):
        raise ModelError(f"{who} needs a PairwiseModel, got {type(model).__name__}")
    sigma, kappa, _ = _bilinear(model)
    x = model.variables[0]
    taken = {p.name for p in model.node_params} | {BETA.name}
    return [sigma.subs(x, a) for a in model.alphabet], kappa, taken


def coupling_spread(model):
    r"""``|kappa| max|sigma| (max sigma - min sigma)``: how fast the site weights change with ``z``.

    The field :math:`\beta |\kappa| J \sqrt{q}\, z\, \sigma(a)` separates the states by
    :math:`\beta J |\kappa| \sqrt{q} (\sigma_\max - \sigma_\min)` per unit of ``z``, with
    :math:`\sqrt{q} \le \max|\sigma|`; 2 for Ising spins with ``e = -K s s'``.
    Used to size the quadrature.
    """
    values, kappa, _ = _spins(model, "coupling_spread")
    return (
        sp.Abs(kappa) * sp.Max(*[sp.Abs(v) for v in values]) * (sp.Max(*values) - sp.Min(*values))
    )


def _symbols(model, who):
    """The symbols of the RS theory of ``model``, by meaning, renamed away from its node
    parameters, and the bilinear form ``(sigma values, kappa)``."""
    s_vals, kappa, taken = _spins(model, who)
    out = {"beta": BETA}
    out["J0"] = sp.Symbol(_fresh("J_0", taken), real=True)
    out["J"] = sp.Symbol(_fresh("J", taken), positive=True)
    out["m"] = sp.Symbol(_fresh("m", taken), real=True)
    out["q"] = sp.Symbol(_fresh("q", taken), nonnegative=True)
    out["z"] = sp.Symbol(_fresh("z", taken), real=True)
    if len({v**2 for v in s_vals}) > 1:
        out["Q"] = sp.Symbol(_fresh("Q", taken), nonnegative=True)
    return out, s_vals, kappa


def rs_symbols(model):
    r"""The symbols of :func:`replica_symmetric`, by meaning, so that a solver binds by name.

    Returns
    -------
    dict
        ``"beta"``, ``"J0"``, ``"J"`` (the inverse temperature and the couplings
        :math:`K_{ij} \sim N(J_0/N, J^2/N)`: params), ``"m"``, ``"q"`` and, where
        :math:`\sigma^2` is not constant on the alphabet, ``"Q"`` (the state), and ``"z"``
        (the Gaussian variable of the expectations). A name already used by a node
        parameter of the model gets primes appended.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, K, J = sp.symbols("s_i s_j K J", real=True)
    >>> model = PairwiseModel((-1, 1), -K * si * sj, -J * si, variables=(si, sj))
    >>> {k: v.name for k, v in rs_symbols(model).items()}
    {'beta': 'beta', 'J0': 'J_0', 'J': "J'", 'm': 'm', 'q': 'q', 'z': 'z'}
    """
    return _symbols(model, "rs_symbols")[0]


def _tap_symbols(model, who):
    sigma_vals, kappa, taken = _spins(model, who)
    out = {"beta": BETA}
    out["H"] = sp.Symbol(_fresh("H", taken), real=True)
    out["Lambda"] = sp.Symbol(_fresh("Lambda", taken), nonnegative=True)
    out["m"] = sp.Symbol(_fresh("m", taken), real=True)
    out["V"] = sp.Symbol(_fresh("V", taken), nonnegative=True)
    return out, sigma_vals, kappa


def tap_symbols(model):
    """The symbols of :func:`tap`, by meaning: ``"beta"``, the fields ``"H"`` and
    ``"Lambda"`` (inputs) and the moments ``"m"`` and ``"V"`` (outputs); a name already used
    by a node parameter of the model gets primes appended.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, K, H = sp.symbols("s_i s_j K H", real=True)
    >>> model = PairwiseModel((-1, 1), -K * si * sj, -H * si, variables=(si, sj))
    >>> {k: v.name for k, v in tap_symbols(model).items()}
    {'beta': 'beta', 'H': "H'", 'Lambda': 'Lambda', 'm': 'm', 'V': 'V'}
    """
    return _tap_symbols(model, "tap_symbols")[0]


def replica_symmetric(model):
    r"""RS saddle-point equations, free energy, energy, entropy and AT stability.

    Returns
    -------
    Equations
        ``kind="fixed_point"`` in ``(m, q)`` or ``(m, q, Q)`` (``Q`` only where
        :math:`\sigma^2` is not constant on the alphabet), role ``"state"``; params
        ``beta``, ``J_0``, ``J`` (role ``"param"``) and the model's node parameters
        (role ``"node_param"``: one value shared by every site); observables ``f`` (free energy
        per spin), ``u`` (energy per spin, :math:`\partial(\beta f)/\partial\beta`
        at the saddle point), ``s`` (entropy per spin) and ``AT``
        (:math:`\beta^2 J^2 \mathbb{E}_z(\langle\sigma^2\rangle - \langle\sigma\rangle^2)^2`,
        stable below 1), and ``Q`` itself when it is a constant. Expectations over
        ``z`` are :class:`GaussianExpectation` nodes.

    Raises
    ------
    ModelError
        If the pair energy is not bilinear.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, K, h = sp.symbols("s_i s_j K h", real=True)
    >>> sk = PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj))
    >>> print(replica_symmetric(sk)["m"])
    E_{z}[tanh(beta*(J*sqrt(q)*z + J_0*m + h))]
    """
    sym, s_vals, kappa = _symbols(model, "replica_symmetric")
    x = model.variables[0]
    J0, J, m, q, z = (sym[k] for k in ("J0", "J", "m", "q", "z"))
    sq_vals = [v**2 for v in s_vals]
    square_constant = "Q" not in sym
    Q = sq_vals[0] if square_constant else sym["Q"]
    # effective couplings kappa K: mean kappa J0 / N, standard deviation |kappa| J / sqrt(N)
    J0e, Je = kappa * J0, sp.Abs(kappa) * J
    field = J0e * m + Je * sp.sqrt(q) * z
    exponents = [
        BETA * field * s + BETA**2 * Je**2 / 2 * (Q - q) * s2 - BETA * model.field_energy.subs(x, a)
        for s, s2, a in zip(s_vals, sq_vals, model.alphabet)
    ]
    energies = [-e / BETA for e in exponents]
    mean, _ = boltzmann_average(s_vals, energies, BETA)
    square, _ = boltzmann_average(sq_vals, energies, BETA)
    E = lambda expr: GaussianExpectation(expr, z)  # noqa: E731
    outputs = {m: E(mean), q: E(mean**2)}
    if not square_constant:
        outputs[Q] = E(square)
    beta_f = BETA * J0e * m**2 / 2 + BETA**2 * Je**2 / 4 * (Q**2 - q**2) - E(LogSumExp(*exponents))
    u = sp.diff(beta_f, BETA)
    f = beta_f / BETA
    observables = {
        sp.Symbol("f", real=True): f,
        sp.Symbol("u", real=True): u,
        sp.Symbol("s", real=True): BETA * (u - f),
        sp.Symbol("AT", real=True): BETA**2 * Je**2 * E((square - mean**2) ** 2),
    }
    if square_constant:  # the self-overlap is not a variable, report its value
        observables[sp.Symbol("Q", real=True)] = Q
    state = tuple(outputs)
    return Equations(
        "replica-symmetric saddle point",
        "fixed_point",
        state,
        (BETA, J0, J) + model.node_params,
        outputs,
        observables=observables,
        model=model,
        roles={
            **{p: "param" for p in (BETA, J0, J)},
            **{p: "node_param" for p in model.node_params},
        },
        description="Replica-symmetric theory with couplings N(J_0/N, J^2/N) for "
        f"pair energy {model.pair_energy}, field energy "
        f"{model.field_energy} on the alphabet {model.alphabet}.",
    )


def tap(model):
    r"""The single-site law of the TAP equations of a bilinear model with dense couplings.

    Plefka's expansion to second order in the couplings (Plefka, J. Phys. A 15,
    1971 (1982)) gives each site the law

    .. math::
        P_i(a) \propto \exp\Big(\beta H_i\,\sigma(a) + \frac{\beta^2}{2}\Lambda_i\,\sigma(a)^2
        - \beta\phi_i(a)\Big), \quad
        H_i = \sum_j K_{ij} m_j - \beta m_i \sum_j K_{ij}^2 V_j, \quad
        \Lambda_i = \sum_j K_{ij}^2 V_j,

    with :math:`m_j = \langle\sigma\rangle_j` and :math:`V_j = \langle\sigma^2\rangle_j - m_j^2`.
    For Ising spins the :math:`\Lambda` term is a constant and
    :math:`m_i = \tanh\beta(h_i + \sum_j K_{ij} m_j - \beta m_i \sum_j K_{ij}^2 (1 - m_j^2))`
    (Thouless, Anderson & Palmer, Phil. Mag. 35, 593 (1977)). The local fields
    ``H`` and ``Lambda`` are sums over the dense neighbourhood; the solver
    (``numerics.tap``) forms them with matrix products and iterates them with
    time indices (Bolthausen, Commun. Math. Phys. 325, 333 (2014)).

    Returns
    -------
    Equations
        ``kind="map"``; inputs ``H``, ``Lambda`` (role ``"data"``); params ``beta``
        (role ``"param"``) and the node parameters (role ``"node_param"``: a value per
        site); outputs ``m`` and ``V``.
    """
    sym, sigma_vals, kappa = _tap_symbols(model, "tap")
    H, Lam, m, V = (sym[k] for k in ("H", "Lambda", "m", "V"))
    x = model.variables[0]
    s_vals = [kappa * s for s in sigma_vals]  # spins of the coupling K
    energies = [
        -(H * s + BETA / 2 * Lam * s**2) + model.field_energy.subs(x, a)
        for s, a in zip(s_vals, model.alphabet)
    ]
    mean, method = boltzmann_average(s_vals, energies, BETA)
    square, _ = boltzmann_average([s**2 for s in s_vals], energies, BETA)
    return Equations(
        "TAP site law",
        "map",
        (H, Lam),
        (BETA,) + model.node_params,
        {
            m: mean,
            V: sp.simplify(square - mean**2) if method == "closed form" else square - mean**2,
        },
        model=model,
        methods={m: method},
        roles={
            H: "data",
            Lam: "data",
            BETA: "param",
            **{p: "node_param" for p in model.node_params},
        },
        description="Site law exp(beta H sigma + beta^2 Lambda sigma^2 / 2 - beta "
        f"phi) of the TAP equations, for pair energy {model.pair_energy}"
        f" and field energy {model.field_energy}.",
    )
