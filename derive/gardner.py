r"""The Gardner volume of a perceptron: its replica-symmetric saddle point and capacity.

Patterns :math:`x^\mu \in \mathbb{R}^N` with iid :math:`N(0, 1)` entries, random labels
:math:`y^\mu = \pm 1`, :math:`\alpha = M/N`. The Gardner volume is the prior measure of the
weights that store every pattern with margin :math:`\kappa`,

.. math::
    V = \int dP_0(w)\, \delta\big(|w|^2 - N\rho\big)
        \prod_\mu \Theta\Big(\frac{y^\mu w \cdot x^\mu}{\sqrt N} - \kappa\Big),
    \qquad \rho = \mathbb{E}_{P_0} w^2

(the norm constraint is the sphere for the spherical perceptron, and automatic for
:math:`\pm 1` weights). It is a GLM without a teacher: the output "channel" is the
constraint :math:`\Theta(z - \kappa)` (the label is absorbed into the pattern), so that

.. math::
    Z_\mathrm{out}(\omega, V) = \mathbb{E}_{z \sim N(\omega, V)}\,\Theta(z - \kappa)
        = \Phi\big((\omega - \kappa)/\sqrt V\big)

comes out of :func:`derive.gaussian.expectation` (the indicator becomes an integration
limit), and the input side is the prior's :math:`Z_0(A, B)` of :mod:`derive.priors`.
The replica-symmetric free entropy (overlap :math:`q` between two solutions, conjugates
:math:`\hat q` and the norm multiplier :math:`\hat Q`) is

.. math::
    \phi = \tfrac12 \hat Q \rho + \tfrac12 q \hat q
        + \mathbb{E}_\xi \log Z_0(\hat Q + \hat q, \sqrt{\hat q}\,\xi)
        + \alpha\, \mathbb{E}_\xi \log Z_\mathrm{out}(\sqrt q\,\xi, \rho - q),

stationary where :math:`\hat q = \alpha\,\mathbb{E}\, g_\mathrm{out}^2`,
:math:`q = \mathbb{E} f_a^2` and :math:`\rho = \mathbb{E}(f_v + f_a^2)`.

* :func:`gardner` returns these saddle-point equations (any prior of atoms or Gaussian
  components), with :math:`\phi` and, for a prior of atoms, what the entropy of the
  solutions needs.
* :func:`gardner_capacity` takes, for the spherical perceptron, the limit
  :math:`q \to \rho` of the saddle point (Gardner 1988): with :math:`q = \rho(1 - \epsilon)`
  the conjugates are eliminated in closed form, :math:`\phi = (L_\mathrm{in} + \alpha
  L_\mathrm{out})/\epsilon + O(\log\epsilon)`, and the capacity is where the coefficient of
  :math:`1/\epsilon` changes sign, :math:`\alpha_c = -L_\mathrm{in}/L_\mathrm{out}`. The
  leading term of :math:`\log\Phi(x)` for :math:`|x| \to \infty` is
  :math:`-x^2\,\Theta(-x)/2`, and its Gaussian average closes by the indicator rule.

References
----------
E. Gardner, "The space of interactions in neural network models", J. Phys. A 21, 257
(1988); E. Gardner & B. Derrida, J. Phys. A 21, 271 (1988); W. Krauth & M. Mézard,
"Storage capacity of memory networks with binary couplings", J. Phys. France 50, 3057
(1989); A. Engel & C. Van den Broeck, *Statistical Mechanics of Learning* (CUP 2001), ch. 6.
"""

import sympy as sp

from .equations import Equations
from .errors import ModelError
from .functions import GaussianExpectation, LogSumExp
from .gaussian import LogPhi, expectation, stable_log
from .glm import _input_denoisers
from .model import memoized
from .priors import A, Atom, B, Density, Prior

__all__ = ["gardner", "gardner_capacity", "gardner_kind", "separability", "KAPPA"]

#: The margin.
KAPPA = sp.Symbol("kappa", real=True)
ALPHA = sp.Symbol("alpha", positive=True)
Q = sp.Symbol("q", nonnegative=True)
Q_HAT = sp.Symbol("q_hat", nonnegative=True)
NORM_HAT = sp.Symbol("Q_hat", real=True)
_XI = sp.Symbol("xi", real=True)
_Z = sp.Symbol("z", real=True)
_OMEGA = sp.Symbol("omega", real=True)
_V = sp.Symbol("V", positive=True)
_EPS = sp.Symbol("epsilon", positive=True)
_LAMBDA = sp.Symbol("Lambda", real=True)  # Q_hat + q_hat, the precision of the tilted prior


def gardner_kind(prior):
    """``"spherical"`` (one centred Gaussian density: the sphere ``|w|^2 = N rho``) or
    ``"discrete"`` (finitely many atoms, numbers); a :class:`ModelError` otherwise."""
    if not isinstance(prior, Prior):
        raise ModelError(f"the Gardner volume needs a derive.Prior, got {type(prior).__name__}")
    comps = prior.components
    if prior.params:
        raise ModelError(
            f"the Gardner volume needs a prior with numbers, not the parameters {prior.params}"
        )
    if all(isinstance(c, Atom) for c in comps):
        return "discrete"
    if len(comps) == 1 and isinstance(comps[0], Density):
        try:
            mean, _ = comps[0].gaussian_parameters()
        except ModelError:
            pass
        else:
            if mean != 0:
                raise ModelError(
                    f"the spherical perceptron needs a centred Gaussian prior, got mean {mean}"
                )
            return "spherical"
    raise ModelError(
        "the Gardner capacity is derived for the spherical perceptron (a centred Gaussian "
        "prior, read as the sphere |w|^2 = N E w^2) or for weights with finitely many values "
        f"(a prior of atoms, through the zero of the RS entropy); got {prior!r}"
    )


def _log_zout():
    r""":math:`\log Z_\mathrm{out}(\omega, V)` of the constraint :math:`\Theta(z - \kappa)`."""
    z_out = expectation(sp.Heaviside(_Z - KAPPA), _Z, _OMEGA, _V)
    if z_out.has(GaussianExpectation):  # pragma: no cover - the indicator rule closes it
        raise ModelError(f"the Gardner constraint did not close: {z_out}")
    return stable_log(z_out)


def _input_terms(prior):
    r"""``(psi_w, f_a, f_v)`` at :math:`A = \hat Q + \hat q`, :math:`B = \sqrt{\hat q}\,\xi`."""
    at = {A: NORM_HAT + Q_HAT, B: sp.sqrt(Q_HAT) * _XI}
    log_z0 = LogSumExp(*prior.log_partition()).subs(at, simultaneous=True)
    f_a, f_v = (f.subs(at, simultaneous=True) for f in _input_denoisers(prior))
    return log_z0, f_a, f_v


def _tidy(expr):
    return expr if expr.has(GaussianExpectation) else sp.simplify(expr)


@memoized
def gardner(prior):
    r"""The replica-symmetric saddle point of the Gardner volume with prior ``prior``.

    .. math::
        \hat q = \alpha\, \mathbb{E}_\xi\, g_\mathrm{out}(\sqrt q\,\xi, \rho - q)^2, \qquad
        q = \mathbb{E}_\xi\, f_a(\hat Q + \hat q, \sqrt{\hat q}\,\xi)^2, \qquad
        Q = \mathbb{E}_\xi\, \big[f_v + f_a^2\big](\hat Q + \hat q, \sqrt{\hat q}\,\xi),

    with :math:`g_\mathrm{out} = \partial_\omega \log Z_\mathrm{out}` of the constraint
    :math:`\Theta(z - \kappa)`; :math:`\hat Q` is fixed by :math:`Q = \rho` (for weights
    of one modulus, :math:`Q = \rho` whatever :math:`\hat Q`).

    Returns
    -------
    Equations
        ``kind="fixed_point"`` with state ``(q, q_hat, Q_hat)``, outputs ``q_hat(q)`` and
        ``q(q_hat, Q_hat)``, params ``alpha, kappa``; observables ``Q`` (the self-overlap,
        to be set to ``rho``), ``phi`` (the free entropy: the log of the prior measure of
        the solutions, per weight) and, for a prior of atoms ``{v: p_v}``, ``mean_log_mass``
        :math:`= \mathbb{E}\langle \log p_w \rangle`: the entropy
        :math:`\phi - \mathbb{E}\langle \log p_w \rangle` is the Shannon entropy of the
        measure on the solutions (the log of their number when the masses are equal), whose
        zero is the RS capacity of Gardner & Derrida (1988) and Krauth & Mézard (1989).
    """
    kind = gardner_kind(prior)
    rho = prior.second_moment
    log_zout = _log_zout()
    g_out = sp.diff(log_zout, _OMEGA)
    at_out = {_OMEGA: sp.sqrt(Q) * _XI, _V: rho - Q}
    q_hat_new = ALPHA * expectation(g_out.subs(at_out, simultaneous=True) ** 2, _XI)
    log_z0, f_a, f_v = _input_terms(prior)
    q_new = _tidy(expectation(f_a**2, _XI))
    norm = _tidy(expectation(f_v + f_a**2, _XI))
    psi_w = _tidy(expectation(log_z0, _XI))
    psi_out = expectation(log_zout.subs(at_out, simultaneous=True), _XI)
    phi = NORM_HAT * rho / 2 + Q * Q_HAT / 2 + psi_w + ALPHA * psi_out
    observables = {sp.Symbol("Q", real=True): norm, sp.Symbol("phi", real=True): phi}
    if kind == "discrete":
        # the entropy is phi - mean_log_mass: compiled once, not phi twice
        observables[sp.Symbol("mean_log_mass", real=True)] = _mean_log_mass(prior)
    return Equations(
        "Gardner volume, RS saddle point",
        "fixed_point",
        (Q, Q_HAT, NORM_HAT),
        (ALPHA, KAPPA),
        {Q_HAT: q_hat_new, Q: q_new},
        observables=observables,
        model=prior,
        description=f"RS saddle point of the Gardner volume, constraint Theta(z - kappa), "
        f"norm rho = E w^2 = {rho}; Q_hat is fixed by Q = rho.",
    )


def _mean_log_mass(prior):
    r""":math:`\mathbb{E}_\xi \sum_k \pi_k \log p_k` over the posterior weights of the atoms
    (exactly :math:`\log p` when every atom has the mass :math:`p`)."""
    masses = [c.mass for c in prior.components]
    if len(set(masses)) == 1:
        return sp.log(masses[0])
    at = {A: NORM_HAT + Q_HAT, B: sp.sqrt(Q_HAT) * _XI}
    logs = [t.subs(at, simultaneous=True) for t in prior.log_partition()]
    total = LogSumExp(*logs)
    return expectation(
        sp.Add(*[sp.exp(ell - total) * sp.log(m) for ell, m in zip(logs, masses)]), _XI
    )


def _leading(expr):
    r""":math:`\lim_{\epsilon \to 0^+} \epsilon\, \log\Phi(x(\epsilon))` for each ``LogPhi``:
    :math:`-s^2\,\Theta(-s)/2` with :math:`s = \lim \sqrt\epsilon\, x` (the leading term of
    :math:`\log\Phi(x) = -x^2/2 - \log(-x\sqrt{2\pi}) + \dots` for :math:`x \to -\infty`; it
    tends to 0 for :math:`x \to +\infty`)."""

    def lead(x):
        s = sp.simplify(sp.limit(sp.sqrt(_EPS) * x, _EPS, 0, "+"))
        return -(s**2) / 2 * sp.Heaviside(-s)

    if not isinstance(expr, LogPhi):
        raise ModelError(f"the q -> 1 limit expects log Phi of the constraint, got {expr}")
    return lead(expr.args[0])


def _eliminate_conjugates(phi_in, rho):
    r"""``{Lambda: ..., q_hat: ...}`` solving :math:`\partial_\Lambda \phi_\mathrm{in} =
    \partial_{\hat q} \phi_\mathrm{in}|_\Lambda = 0` at fixed ``q`` (:math:`\Lambda = \hat Q +
    \hat q`), one equation at a time, the one with fewer unknowns first (sympy ``solve`` of
    the pair at once took 30 s); the admissible root has :math:`\hat q > 0` and a normalisable
    tilted prior, :math:`\Lambda + 1/\rho > 0` (checked at :math:`q = \rho/3`)."""
    unknowns = {_LAMBDA, Q_HAT}
    equations = [sp.simplify(sp.diff(phi_in, x)) for x in (_LAMBDA, Q_HAT)]
    equations.sort(key=lambda e: len(e.free_symbols & unknowns))
    probe = {Q: rho / 3}
    admissible = {_LAMBDA: lambda v: v + 1 / rho, Q_HAT: lambda v: v}
    solution = {}
    for eq in equations:
        eq = sp.simplify(eq.subs(solution))
        left = sorted(eq.free_symbols & unknowns - set(solution), key=str)
        if len(left) != 1:
            raise ModelError(f"the conjugates of the Gardner volume did not eliminate at {eq}")
        (x,) = left
        roots = [
            r for r in sp.solve(eq, x) if admissible[x](r.subs(solution).subs(probe)).is_positive
        ]
        if len(roots) != 1:
            raise ModelError(f"the conjugates of the Gardner volume: no unique root of {eq} = 0")
        solution = {k: sp.simplify(v.subs(x, roots[0])) for k, v in solution.items()}
        solution[x] = roots[0]
    return {k: sp.simplify(v.subs(solution)) for k, v in solution.items()}


@memoized
def gardner_capacity(prior):
    r"""The capacity :math:`\alpha_c(\kappa)` of the spherical perceptron, derived as the
    :math:`q \to \rho` limit of the RS saddle point of :func:`gardner` (Gardner 1988).

    The input side is eliminated in closed form: :math:`\partial_{\hat Q}\phi =
    \partial_{\hat q}\phi = 0` are solved for :math:`(\hat Q, \hat q)` at fixed ``q``
    (sympy ``solve``), leaving :math:`\phi_\mathrm{in}(q)`. With :math:`q = \rho(1 - \epsilon)`,

    .. math::
        L_\mathrm{in} = \lim_{\epsilon\to 0} \epsilon\, \phi_\mathrm{in}, \qquad
        L_\mathrm{out} = \lim_{\epsilon\to 0} \epsilon\, \mathbb{E}_\xi
            \log\Phi\Big(\frac{\sqrt q\,\xi - \kappa}{\sqrt{\rho - q}}\Big)
        = -\mathbb{E}_\xi \Big[\frac{(\kappa - \sqrt\rho\,\xi)^2}{2\rho}\,
            \Theta(\kappa - \sqrt\rho\,\xi)\Big],

    and :math:`\alpha_c = -L_\mathrm{in}/L_\mathrm{out}`. For :math:`P_0 = N(0, 1)` this is
    Gardner's :math:`1/\int_{-\kappa}^\infty Dt\,(t + \kappa)^2` (2 at :math:`\kappa = 0`, Cover).

    Returns
    -------
    Equations
        ``kind="map"`` from ``kappa`` to ``alpha_c``; observables ``L_in`` and the terms
        ``L_out_k`` of :math:`L_\mathrm{out}` (their cancellation bounds the kernel's
        accuracy far in the negative-margin tail).
    """
    if gardner_kind(prior) != "spherical":
        raise ModelError(
            "the q -> 1 limit is the capacity of the spherical perceptron (a centred Gaussian "
            "prior); a prior of atoms has its capacity where the RS entropy vanishes "
            "(derive.gardner gives the entropy)"
        )
    rho = prior.second_moment
    log_z0, _, _ = _input_terms(prior)
    psi_w = expectation(log_z0, _XI)
    phi_in = (NORM_HAT * rho / 2 + Q * Q_HAT / 2 + psi_w).subs(NORM_HAT, _LAMBDA - Q_HAT)
    phi_q = sp.simplify(phi_in.subs(_eliminate_conjugates(phi_in, rho)))
    at = {Q: rho * (1 - _EPS)}
    l_in = sp.simplify(sp.limit(_EPS * phi_q.subs(at), _EPS, 0, "+"))
    log_zout = _log_zout().subs({_OMEGA: sp.sqrt(Q) * _XI, _V: rho - Q}).subs(at)
    l_out = expectation(_leading(sp.simplify(log_zout)), _XI)
    if l_out.has(GaussianExpectation) or not l_in.is_positive:
        raise ModelError(f"the q -> 1 limit did not close: L_in = {l_in}, L_out = {l_out}")
    l_out = sp.expand(l_out)
    terms = sp.Add.make_args(l_out)
    alpha_c = sp.Symbol("alpha_c", positive=True)
    observables = {sp.Symbol("L_in", real=True): l_in}
    observables.update({sp.Symbol(f"L_out_{k}", real=True): t for k, t in enumerate(terms)})
    return Equations(
        "Gardner capacity (spherical, q -> 1)",
        "map",
        (KAPPA,),
        (),
        {alpha_c: -l_in / l_out},
        observables=observables,
        model=prior,
        description=f"alpha_c = -L_in / L_out, the q -> rho limit of the RS saddle point of "
        f"the Gardner volume on the sphere |w|^2 = N rho, rho = {rho}.",
    )


#: The Candès–Sur variables: the label direction's field ``v``, the slope ``t``, and the
#: correlation ``r`` of the label's field with the best linear predictor from the inputs.
T_SLOPE = sp.Symbol("t", real=True)
V_FIELD = sp.Symbol("v", real=True)
R_CORR = sp.Symbol("r", positive=True)


def _label_channel(channel):
    """The teacher channel (random labels when None), checked to have labels ``±1``."""
    from .glm import Channel

    if channel is None:
        y, z = sp.symbols("y z", real=True)
        return Channel(sp.S.Half, y, z, support=(-1, 1))
    if not isinstance(channel, Channel):
        raise ModelError(f"the teacher must be a derive.Channel or None, got {channel!r}")
    if channel.support is None or sorted(float(v) for v in channel.support) != [-1.0, 1.0]:
        raise ModelError(
            f"linear separability needs labels y = ±1; the channel {channel!r} has "
            f"support {channel.support}"
        )
    return channel


@memoized
def _separability(channel, hidden):
    channel = _label_channel(channel)
    zs, c = sp.Symbol("z_s", real=True), sp.Symbol("c", real=True)
    ramp = expectation(sp.Heaviside(zs - c) * (zs - c) ** 2, zs)  # E (Z - c)_+^2
    if ramp.has(GaussianExpectation):  # pragma: no cover - the indicator rule closes it
        raise ModelError(f"E (Z - c)_+^2 did not close: {ramp}")
    if hidden:  # the label's field is r v + sqrt(1 - r^2) xi given the inputs' field v
        law = expectation(channel.likelihood, channel.z, R_CORR * V_FIELD, 1 - R_CORR**2)
    else:
        law = channel.likelihood.subs(channel.z, V_FIELD)
    terms = [(law.subs(channel.y, y), y) for y in channel.support]
    integrand = sp.Add(*[p * ramp.subs(c, T_SLOPE * y * V_FIELD) for p, y in terms])
    wrong = sp.Add(*[p * sp.Heaviside(-y * V_FIELD) for p, y in terms])
    params = ((R_CORR,) if hidden else ()) + channel.params
    return Equations(
        "Candès–Sur separability integrand",
        "map",
        (V_FIELD, T_SLOPE),
        params,
        {
            sp.Symbol("h_integrand", real=True): integrand,
            sp.Symbol("wrong_side", real=True): wrong,
        },
        model=channel,
        description="h(t) = E_v h_integrand(v, t), v ~ N(0, 1): E[(Z - t Y V)_+^2] given V = v; "
        "wrong_side: P(Y V < 0 | V = v)" + ("; labels through r v + sqrt(1 - r^2) xi" * hidden),
    )


def separability(channel=None, hidden=False):
    r"""The Candès–Sur function :math:`h(t) = \mathbb{E}\,(Z - tYV)_+^2` as an integrand in ``v``.

    Inputs :math:`x \sim N(0, \Sigma)` in dimension ``p``, ``n`` samples, labels
    :math:`Y = \pm 1` that depend on the inputs through one direction, :math:`V \sim N(0, 1)`
    the normalised field along it, :math:`Z \sim N(0, 1)` independent. The data are
    linearly separable (through the origin) with probability tending to one iff
    :math:`p/n > \min_t h(t)` (Candès & Sur, arXiv:1804.09753, theorem 1 without intercept).
    :math:`\mathbb{E}_Z (Z - c)_+^2` is closed by the indicator rule of
    :func:`derive.gaussian.expectation`; the label law given ``V = v`` is the ``channel``
    (``None``: random labels, probability 1/2 each) at ``z = v``, or, with ``hidden=True``,
    at ``z = r v + sqrt(1 - r^2) xi`` averaged over ``xi`` (a teacher acting on a latent
    field correlated ``r`` with ``V``: hidden-manifold data under the Gaussian equivalence).

    Returns
    -------
    Equations
        ``kind="map"`` from ``(v, t)``: ``h_integrand`` (so that
        :math:`h(t) = \mathbb{E}_{v \sim N(0,1)}\, h_\mathrm{integrand}(v, t)`) and
        ``wrong_side`` :math:`= P(Yv < 0 \mid V = v)`; params ``r`` (when ``hidden``) and the
        channel's.
    """
    return _separability(_label_channel(channel), bool(hidden))
