r"""Solve the state evolution of a GLM, resolving its small quantities with relative precision.

The equations are :func:`derive.state_evolution`, :func:`derive.free_entropy` and
:func:`derive.classification_errors`. Near perfect recovery the quantities of interest are
small -- :math:`V = \rho - q` (the MSE), the generalisation error -- and the integrands of
the output side are sharp: at overlap ``q`` they vary on the scale
:math:`\sqrt{V/q}` in the Gaussian variable. Three things keep their digits:

* **the iteration variable is** :math:`V = \rho - q`: the output side is compiled as a
  function of ``V`` (substituted symbolically once, so that ``1 - q`` is ``V`` exactly) and
  the iteration stops on a criterion relative to ``V``: :math:`|\Delta V| \le` ``tol``
  :math:`\cdot\min(V, q)`;
* **every Gaussian expectation is stretched to the width of its integrand**: with
  :math:`t = s \sinh(c u)`, :math:`c = \operatorname{asinh}(L/s)/L` (:func:`stretch`),
  :math:`\mathbb{E}_t f(t) = \mathbb{E}_u[f(t(u))\, t'(u)\, e^{(u^2 - t^2)/2}]`: the
  trapezoid rule in ``u`` has nodes spaced :math:`\propto \sqrt{s^2 + t^2}`, dense at the
  scale ``s`` near 0 and relative everywhere else, for any ``s``. The output side uses
  :math:`s = \sqrt{V/\rho}`, the input side :math:`s = 1/\sqrt{1 + \hat q}`;
* **the free entropy keeps the limit** :math:`q \to \rho`: it is written
  :math:`\phi = F(\hat q) + V\hat q/2 + \alpha\psi_\mathrm{out}(V)` with
  :math:`F = \psi_0 - \rho\hat q/2`, and since :math:`F'(\hat q) = -V_\mathrm{in}(\hat q)/2`
  (Nishimori), :math:`F(\hat q) = F(\hat q_0) - \tfrac12\int_{\hat q_0}^{\hat q}
  V_\mathrm{in}(x)\,dx` above :math:`\hat q_0` =  :data:`Q_HAT_DIRECT`: no cancellation of
  two terms of order :math:`\hat q` (they cost :math:`10^{-4}` at the binary perceptron's
  informed point before).

Where ``V`` falls below the rounding floor of :math:`\rho - q` (:data:`FLOOR` times
``rho``) the fixed point is the point mass :math:`q = \rho` to the precision the input side
resolves: ``mse`` is reported as 0 and the free entropy and errors as their limit
:math:`V \to 0`, evaluated at :data:`LIMIT_V` ``rho`` (the message says so).

References
----------
Barbier, Krzakala, Macris, Miolane & Zdeborová, PNAS 116, 5451 (2019), eqs. (8)-(10);
Trefethen & Weideman, SIAM Review 56, 385 (2014) (trapezoid rule after a change of variable).
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from scipy.integrate import IntegrationWarning, quad

import derive
from derive import GaussianExpectation

from .compile import compile
from .errors import InputError
from .params import parameter_values
from .printer import trapezoid_half_width
from .results import Result

__all__ = [
    "state_evolution",
    "SEResult",
    "thresholds",
    "Thresholds",
    "input_mmse",
    "stretch",
    "order_for",
    "SE_ORDER",
    "ERROR_ORDER",
]

#: Trapezoid nodes (in the stretched variable) of the state-evolution kernels: spacing
#: h = 0.025, relative node spacing about 3.5% of |t| at any scale.
SE_ORDER = 961
#: Nodes of the error kernels (evaluated once per solution): their integrands have a kink
#: or a jump at 0, where the trapezoid rule is second order; an even count puts it midway.
ERROR_ORDER = 3840
#: Rounding floor of ``V = rho - q`` computed from a quadrature of ``q``, relative to rho.
FLOOR = 64 * np.finfo(float).eps
#: Node count of the second evaluation that checks the resolution of a fixed point.
CHECK_ORDER = 1441
#: Where the limit ``V -> 0`` (the point mass) is evaluated, relative to rho.
LIMIT_V = 1e-40
#: Below this ``q_hat``, ``F = psi_0 - rho q_hat / 2`` is evaluated directly.
Q_HAT_DIRECT = 8.0
#: Relative resolution of ``V`` (:meth:`_Bound.resolution`) beyond which a fixed point is
#: reported as not converged.
RESOLUTION = 1e-3

#: Node counts of the plain trapezoid rule used by the mismatched state evolution.
ORDER_LADDER = (241, 961, 3841, 15361, 61441)


def order_for(q, rho):
    """Smallest rung of :data:`ORDER_LADDER` whose spacing resolves ``sqrt((rho - q) / q)`` by 4."""
    scale = np.sqrt(max(rho - q, 1e-300) / max(q, 1e-12))
    for order in ORDER_LADDER:
        if 24.0 / (order - 1) <= scale / 4:
            return order
    return ORDER_LADDER[-1]


def _half_range():
    """The trapezoid rule's half-width at the node counts of state evolution (>= 241)."""
    return trapezoid_half_width(min(ORDER_LADDER + (SE_ORDER, CHECK_ORDER, ERROR_ORDER)))


def stretch(expr, scale, tag):
    r"""Rewrite every ``GaussianExpectation`` of ``expr`` in a variable stretched at ``scale``.

    .. math::
        \mathbb{E}_t f(t) = \mathbb{E}_u\big[f(t(u))\, t'(u)\, e^{(u^2 - t(u)^2)/2}\big],
        \qquad t(u) = s \sinh(c u),\quad c = \operatorname{asinh}(L/s)/L,

    so that ``u`` in ``[-L, L]`` (the trapezoid rule's range) covers ``t`` in ``[-L, L]``;
    nodes equally spaced in ``u`` are spaced :math:`c h \sqrt{s^2 + t^2}` in ``t``. For
    ``s -> infinity`` the map tends to the identity. Expectations that contain another
    expectation are left as they are.

    Parameters
    ----------
    expr : sympy expression
    scale : sympy expression
        ``s`` > 0, in the arguments of the compiled kernel.
    tag : str
        Names the new integration variables ``u_<tag><k>``.
    """
    L = _half_range()

    def rewrite(integrand, variables):
        if integrand.has(GaussianExpectation):
            return GaussianExpectation(integrand, variables)
        c = sp.asinh(L / scale) / L
        new, us, factor = integrand, [], sp.S.One
        for k, t in enumerate(variables):
            u = sp.Symbol(f"u_{tag}{k}", real=True)
            to = scale * sp.sinh(c * u)
            new = new.subs(t, to)
            factor *= scale * c * sp.cosh(c * u) * sp.exp((u**2 - to**2) / 2)
            us.append(u)
        return GaussianExpectation(new * factor, tuple(us))

    return expr.replace(GaussianExpectation, rewrite)


def shift_logsumexp(expr):
    r"""In every Gaussian expectation, rewrite :math:`e^{X + c\,\mathrm{LSE}(a_1, \dots, a_n)}`
    as :math:`e^{(X + c a_j) + c\,\mathrm{LSE}(a_1 - a_j, \dots, a_n - a_j)}` for an ``a_j``
    with which ``X + c a_j`` no longer depends on the integration variable (an identity).

    A posterior weight squared, :math:`e^{X}/Z^2`, is derived as ``exp(X - 2 LSE(...))``
    with ``X`` and ``2 a_j`` both of order ``A t^2``: at ``A ~ 1e10`` their difference has
    lost ten digits. After the shift the large terms cancel symbolically.
    """
    from derive import LogSumExp

    def shift(integrand, variables):
        bound = set(variables)

        def fix(arg):
            parts = [t.as_coeff_Mul() for t in sp.Add.make_args(arg)]
            lse = [(c, f) for c, f in parts if isinstance(f, LogSumExp) and c.is_number]
            if len(lse) != 1:
                return sp.exp(arg)
            c, f = lse[0]
            rest = arg - c * f
            if not rest.free_symbols & bound:
                return sp.exp(arg)
            for a in f.args:
                head = rest + c * a
                if not head.free_symbols & bound:  # the variable's terms cancel
                    return sp.exp(head + c * LogSumExp(*[b - a for b in f.args]))
            return sp.exp(arg)

        return GaussianExpectation(integrand.replace(sp.exp, fix), variables)

    return expr.replace(GaussianExpectation, shift)


# --- models by content ---------------------------------------------------------------------


def _content(glm):
    """A content key for a GLM: the model itself once it is a ``derive.Model``, else a tuple
    of its sympy expressions (the memo refuses identity-hashed arguments)."""
    if isinstance(glm, derive.Model):
        return glm
    if not isinstance(glm, derive.GLM):
        raise InputError(f"state evolution needs a derive.GLM, got {type(glm).__name__}")
    prior = tuple((p, tuple(c)) for p, c in glm.prior.components)
    ch = glm.channel
    return ("GLM", prior, (ch.likelihood, ch.y, ch.z, ch.support))


def _rebuild(key):
    if isinstance(key, derive.Model):
        return key
    _, prior, (likelihood, y, z, support) = key
    return derive.GLM(
        derive.Prior(components=[(p, c) for p, c in prior]),
        derive.Channel(likelihood, y, z, support=support),
    )


def _check_options(damping, tol, max_iter):
    """``damping`` in [0, 1), ``tol`` > 0, ``max_iter`` a positive integer, or InputError."""
    try:
        damping, tol = float(damping), float(tol)
    except (TypeError, ValueError):
        raise InputError(f"damping and tol must be numbers, got {damping!r}, {tol!r}") from None
    if not 0 <= damping < 1:
        raise InputError(f"damping must be in [0, 1), got {damping}")
    if not (np.isfinite(tol) and tol > 0):
        raise InputError(f"tol must be a positive number, got {tol}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter must be a positive integer, got {max_iter!r}")
    return damping, tol, int(max_iter)


def _check_alpha(alpha):
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise InputError(f"alpha must be a positive number, got {alpha!r}") from None
    if not np.isfinite(alpha) or alpha <= 0:
        raise InputError(f"alpha must be a positive number, got {alpha}")
    return alpha


class _Derived:
    """The state evolution of one GLM in ``V = rho - q``, stretched and compiled (lazily)."""

    def __init__(self, glm):
        self.glm = glm
        self.params = tuple(glm.params)
        eqs = derive.state_evolution(glm)
        q, q_hat = eqs.symbol("q"), eqs.symbol("q_hat")
        alpha = eqs.symbol("alpha")
        rho = glm.prior.second_moment
        V = sp.Symbol("V", positive=True)
        self.symbols = dict(q_hat=q_hat, V=V)
        s_out, s_in = sp.sqrt(V / rho), 1 / sp.sqrt(1 + q_hat)
        at_v = {q: rho - V}
        v_in = rho - eqs[q]
        #: a closed-form input side is exact to rounding relative to V: no floor
        self.exact_input = not v_in.has(GaussianExpectation)
        if self.exact_input:  # cancel rho - q symbolically (sqrt((1 + q_hat)^2) = 1 + q_hat)
            v_in = sp.simplify(
                v_in.replace(
                    lambda e: e.is_Pow and not e.exp.is_Integer,
                    lambda e: sp.Pow(sp.factor(e.base), e.exp),
                )
            )
        params = (alpha,) + tuple(glm.params)
        self.out_eqs = derive.Equations(
            "state evolution, output side in V = rho - q",
            "map",
            (V,),
            params,
            {q_hat: stretch(shift_logsumexp(eqs[q_hat].subs(at_v)), s_out, "o")},
        )
        self.in_eqs = derive.Equations(
            "state evolution, input side: V = rho - q(q_hat)",
            "map",
            (q_hat,),
            tuple(glm.params),
            {V: stretch(shift_logsumexp(v_in), s_in, "i"), sp.Symbol("rho", real=True): rho},
        )
        phi = derive.free_entropy(glm)
        self.psi_out_eqs = derive.Equations(
            "psi_out in V = rho - q",
            "map",
            (V,),
            tuple(glm.params),
            {sp.Symbol("psi_out", real=True): stretch(phi["psi_out"].subs(at_v), s_out, "o")},
        )
        self.psi0_eqs = derive.Equations(
            "psi_0",
            "map",
            (q_hat,),
            tuple(glm.params),
            {sp.Symbol("psi_0"): stretch(phi["psi_0"], s_in, "i")},
        )
        self.error_eqs = None
        if glm.channel.support is not None:
            err = derive.classification_errors(glm)
            self.error_eqs = derive.Equations(
                "classification errors in V = rho - q",
                "map",
                (V,),
                tuple(glm.params),
                {s: stretch(e.subs(at_v), s_out, "o") for s, e in err.outputs.items()},
            )
        self._kernels = {}

    def kernel(self, which, order=None):
        order = order or (ERROR_ORDER if which == "error" else SE_ORDER)
        if (which, order) not in self._kernels:
            eqs = getattr(self, f"{which}_eqs")
            self._kernels[which, order] = compile(eqs, order=order)
        return self._kernels[which, order]


@derive.memoized
def _derived(key):
    """One derivation per model content."""
    return _Derived(_rebuild(key))


class _Bound:
    """A derived state evolution with its parameter values bound by name."""

    def __init__(self, derived, values):
        self.d = derived
        self.values = values
        k_in = derived.kernel("in")
        self._in = k_in.module.outputs
        self._in_args = k_in.bind(values, q_hat=0.0)
        self._in_pos = k_in.arguments.index("q_hat")
        self.rho = float(self._in(*self._in_args)[1])
        if not np.isfinite(self.rho) or self.rho <= 0:
            raise InputError(
                f"the prior's second moment rho = E w^2 is {self.rho} at params {values}"
            )
        self.floor = 0.0 if derived.exact_input else FLOOR * self.rho
        self._out = {}

    def _call(self, which, order=None, **named):
        k = self.d.kernel(which, order)
        return k.module.outputs(*k.bind(self.values, **named))

    def q_hat(self, V, alpha, order=None):
        return self._call("out", order, V=V, alpha=alpha)[0]

    def resolution(self, V, alpha):
        """Relative disagreement of one SE step from ``V`` between :data:`SE_ORDER` and
        :data:`CHECK_ORDER` nodes (and the rounding floor relative to ``V``): how well the
        fixed point is resolved."""
        qh, qh_check = self.q_hat(V, alpha), self.q_hat(V, alpha, CHECK_ORDER)
        v, v_check = self.v_in(qh), self._call("in", CHECK_ORDER, q_hat=qh)[0]
        scale = max(abs(v), self.floor, 1e-300)
        return max(
            abs(qh - qh_check) / max(abs(qh), 1e-300), abs(v - v_check) / scale, self.floor / scale
        )

    def v_in(self, q_hat):
        args = list(self._in_args)
        args[self._in_pos] = q_hat
        return self._in(*args)[0]

    def psi_out(self, V):
        return self._call("psi_out", V=V)[0]

    def big_f(self, q_hat):
        r""":math:`F(\hat q) = \psi_0(\hat q) - \rho\hat q/2`, directly below :data:`Q_HAT_DIRECT`,
        above by :math:`F(\hat q_0) - \frac12\int_{\hat q_0}^{\hat q} V_\mathrm{in}(x)\,dx`
        (in ``log x``) up to where ``V_in`` reaches the rounding floor.

        Returns ``(F, note)``; ``note`` is empty or says what limited the integral."""
        if q_hat <= Q_HAT_DIRECT:
            return self._call("psi0", q_hat=q_hat)[0] - self.rho * q_hat / 2, ""
        q0 = Q_HAT_DIRECT
        base = self._call("psi0", q_hat=q0)[0] - self.rho * q0 / 2
        upper = q0
        while upper < q_hat:  # beyond where V_in reaches its rounding floor, it is 0
            upper = min(2 * upper, q_hat)
            if self.v_in(upper) <= self.floor:
                break
        integrand = lambda y: max(self.v_in(np.exp(y)), 0.0) * np.exp(y)  # noqa: E731
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IntegrationWarning)
            value, err = quad(
                integrand, np.log(q0), np.log(upper), epsabs=1e-13, epsrel=1e-11, limit=60
            )
        note = ""
        if caught and err > 1e-9:
            note = f"the integral of V_in in the free entropy is resolved to {err:.1g} only"
        return base - value / 2, note

    def free_entropy(self, V, alpha):
        r""":math:`\phi = F(\hat q) + V\hat q/2 + \alpha\,\psi_\mathrm{out}(V)` at
        :math:`\hat q = \hat q(V)`."""
        qh = self.q_hat(V, alpha)
        f, note = self.big_f(qh)
        return f + V * qh / 2 + alpha * self.psi_out(V), note

    def errors(self, V):
        if self.d.error_eqs is None:
            return None, None
        return tuple(float(x) for x in self._call("error", V=V))


def _bound(glm, params):
    d = _derived(_content(glm))
    return _Bound(d, {s.name: v for s, v in parameter_values(d.params, params).items()})


def input_mmse(glm, q_hat, params=None):
    r"""The input side's MMSE :math:`\rho - q(\hat q)` of the scalar channel
    :math:`B = \hat q w_0 + \sqrt{\hat q}\xi` (the derived input denoiser, stretched quadrature).

    Parameters
    ----------
    glm : derive.GLM
    q_hat : float
        Signal-to-noise ratio, >= 0.
    params : dict, optional
        The prior's and channel's parameters by name.
    """
    q_hat = float(q_hat)
    if not np.isfinite(q_hat) or q_hat < 0:
        raise InputError(f"q_hat must be a finite number >= 0, got {q_hat}")
    return float(_bound(glm, params).v_in(q_hat))


# --- results -----------------------------------------------------------------------------


@dataclass(kw_only=True, repr=False)
class SEResult(Result):
    """State evolution at one ``alpha``.

    Attributes
    ----------
    alpha : float
    overlap : float
        ``q``, the overlap of the Bayes-optimal estimator with the teacher (mismatched: the
        teacher-student overlap ``m``).
    q_hat : float
    mse : float
        ``V = rho - q`` (mismatched: ``rho - 2 m + q``), resolved with relative precision.
    free_entropy : float or None
        The replica-symmetric free entropy at the fixed point (Bayes-optimal only).
    generalization_error, gibbs_error : float or None
        For channels with a discrete ``y``: the Bayes-optimal error
        ``1 - E max_y Zout`` and the Gibbs error; for the sign channel at ``rho = 1``,
        ``arccos(sqrt q)/pi`` and ``arccos(q)/pi``.
    history : list of (q, q_hat)
    q, chi : float or None
        Mismatched state evolution only: the student's self-overlap and variance.
    """

    alpha: float = None
    overlap: float = None
    q_hat: float = None
    mse: float = None
    free_entropy: float = None
    generalization_error: float = None
    gibbs_error: float = None
    q: float = None
    chi: float = None
    history: list = field(default_factory=list, repr=False)


def state_evolution(
    glm,
    alpha,
    init="uninformed",
    params=None,
    tol=1e-10,
    max_iter=10_000,
    damping=0.0,
    student=None,
    strict=False,
):
    r"""Iterate Bayes-optimal state evolution at sample ratio ``alpha``.

    .. math::
        \hat q = \alpha\, \mathbb{E}_\xi \int dy\, Z_\mathrm{out}\, g_\mathrm{out}^2
                 \big|_{\omega = \sqrt{q}\xi,\, V = \rho - q}, \qquad
        V = \rho - \mathbb{E}_{w_0,\xi}\, f_a(\hat q, \hat q w_0 + \sqrt{\hat q}\xi)^2

    (Barbier et al., PNAS 116, 5451 (2019), eq. (10)), iterated on ``V = rho - q``.

    Parameters
    ----------
    glm : derive.GLM
    alpha : float
        ``M / N`` > 0.
    init : {"uninformed", "informed"} or float
        Starting overlap: 0, ``rho (1 - 1e-6)``, or a value of ``q`` in ``[0, rho)``.
    params : dict, optional
        Values of the prior's and channel's parameters by name (teacher's and student's);
        an unknown name is an error that lists the known ones.
    tol : float
        Relative tolerance: stop when :math:`|\Delta V| \le` ``tol`` :math:`\min(V, q)` (or
        when ``V`` changes by less than its rounding floor, :data:`FLOOR` ``rho``).
    max_iter : int
    damping : float
        In ``[0, 1)``: ``V <- (1 - damping) V_new + damping V``.
    student : derive.GLM, optional
        Run GAMP with the student's denoisers on the teacher's (``glm``'s) data: the
        mismatched state evolution of :func:`derive.mismatched_state_evolution`. Then
        ``overlap`` is the teacher-student overlap ``m``, ``mse = rho - 2 m + q`` and the
        result also has ``q`` and ``chi``.
    strict : bool
        Raise :class:`~numerics.ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    SEResult
        ``converged=False`` with the reason in ``message`` when the iteration did not meet
        its criterion, produced a non-finite value, or stopped at a ``V`` it cannot resolve
        to :data:`RESOLUTION` (relative).
    """
    alpha = _check_alpha(alpha)
    damping, tol, max_iter = _check_options(damping, tol, max_iter)
    if student is not None:
        result = _iterate_mismatched(glm, student, alpha, init, params, tol, max_iter, damping)
        return result.finish(strict)
    se = _bound(glm, params)
    return _iterate(se, alpha, _start(se, init), tol, max_iter, damping).finish(strict)


def _start(se, init):
    """The initial ``V`` for ``init``."""
    if isinstance(init, str):
        starts = {"uninformed": se.rho, "informed": 1e-6 * se.rho}
        if init not in starts:
            raise InputError(f"init must be 'uninformed', 'informed' or a number, got {init!r}")
        return starts[init]
    try:
        q = float(init)
    except (TypeError, ValueError):
        raise InputError(
            f"init must be 'uninformed', 'informed' or a number, got {init!r}"
        ) from None
    if not np.isfinite(q) or not 0 <= q < se.rho:
        raise InputError(f"init = {init!r} must be an overlap in [0, rho = {se.rho:.6g})")
    return se.rho - q


def _iterate(se, alpha, V, tol, max_iter, damping):
    """The fixed point of ``V -> V_in(q_hat(V))`` from ``V``, with its result."""
    rho = se.rho
    history, residuals = [], []
    converged, message, point_mass = False, "", False
    qh, it = np.nan, 0
    for it in range(1, int(max_iter) + 1):
        qh = se.q_hat(V, alpha)
        new = se.v_in(qh)
        if not (np.isfinite(qh) and np.isfinite(new)):
            message = f"non-finite value at iteration {it}: q_hat = {qh}, V = {new}"
            break
        new = min((1 - damping) * new + damping * V, rho)
        history.append((rho - max(new, 0.0), qh))
        if new <= se.floor:
            check = se._call("in", CHECK_ORDER, q_hat=qh)[0]
            converged = point_mass = check <= se.floor
            residuals.append(0.0)
            message = (
                f"point mass: V = rho - q fell below its rounding floor {se.floor:.2g} at "
                f"iteration {it}; mse reported as 0, the free entropy and the errors as their "
                f"limit V -> 0"
            )
            if not point_mass:
                message = (
                    f"unresolved: V fell to {new:.3g} at iteration {it} with {SE_ORDER} "
                    f"nodes, but is {check:.3g} with {CHECK_ORDER}"
                )
            V = 0.0 if point_mass else max(new, 0.0)
            break
        change = abs(new - V)
        scale = min(new, rho - new)
        residuals.append(change / max(scale, se.floor, 1e-300))
        V = new
        if change <= tol * scale:
            converged = True
            message = f"|dV| <= {tol:g} min(V, q) after {it} iterations"
            break
        if change <= se.floor:  # V cannot move by less than its rounding
            converged = True
            message = f"V stopped changing beyond its rounding floor {se.floor:.2g}"
            break
    else:
        message = (
            f"no convergence in {max_iter} iterations (last relative change {residuals[-1]:.3g})"
        )
    if converged and not point_mass:
        resolution = se.resolution(V, alpha)
        message += f"; V resolved to {resolution:.1g} (relative)"
        if not resolution <= RESOLUTION:
            converged = False
            message += (
                f" > {RESOLUTION:g}: the fixed point is not resolved (quadrature at "
                f"{SE_ORDER} and {CHECK_ORDER} nodes or rounding)"
            )
    v_eval = max(V, LIMIT_V * rho)
    try:
        phi, note = se.free_entropy(v_eval, alpha)
    except Exception:  # noqa: BLE001 - a failed evaluation is reported, not hidden
        phi, note = np.nan, "the free entropy could not be evaluated"
    if note:
        message += f"; {note}"
    gen, gibbs = se.errors(v_eval)
    if gen is not None and not (gen >= 0 and gibbs >= 0):
        converged = False
        message += f"; unresolved errors (Bayes {gen:.3g}, Gibbs {gibbs:.3g})"
    if not np.isfinite(phi):
        converged = False
        message += "; non-finite free entropy"
    result = SEResult(
        converged=bool(converged),
        iterations=it,
        residual=residuals[-1] if residuals else None,
        residuals=np.array(residuals),
        message=message,
        alpha=alpha,
        overlap=rho - V,
        q_hat=float(se.q_hat(v_eval, alpha)) if point_mass else float(qh),
        mse=V,
        free_entropy=float(phi),
        generalization_error=gen,
        gibbs_error=gibbs,
        history=history,
    )
    return result


# --- mismatched state evolution ----------------------------------------------------------


@derive.memoized
def _mismatched(teacher_key, student_key):
    return derive.mismatched_state_evolution(_rebuild(teacher_key), _rebuild(student_key))


def _iterate_mismatched(teacher, student, alpha, init, params, tol, max_iter, damping):
    eqs = _mismatched(_content(teacher), _content(student))
    symbols = tuple(dict.fromkeys(tuple(teacher.params) + tuple(student.params)))
    values = {s.name: v for s, v in parameter_values(symbols, params).items()}
    rho = _bound(teacher, {p.name: values[p.name] for p in teacher.params}).rho
    starts = {"uninformed": (1e-6, 1e-4), "informed": (rho * (1 - 1e-6), rho * (1 - 1e-6))}
    if init not in starts:
        raise InputError(f"init must be 'uninformed' or 'informed' with a student, got {init!r}")
    m, q = starts[init]
    chi = max(rho - q, 1e-6)
    values = {**values, "alpha": alpha}
    state_names = ("m", "q", "chi")
    hat_names = ("m_hat", "q_hat", "chi_hat")

    history, residuals, converged, message = [], [], False, ""
    hats = dict.fromkeys(hat_names, 0.0)
    it = 0
    for it in range(1, int(max_iter) + 1):
        width = min(chi, max(rho - m * m / q, 1e-300))  # the sharpest Gaussian in play
        k = compile(eqs, order=order_for(max(rho - width, 0.0), rho))
        now = dict(zip(state_names, (m, q, chi)))
        out = dict(zip(k.outputs, k.module.outputs(*k.bind(values, **now, **hats))))
        hats = {h: out[h] for h in hat_names}
        out = dict(zip(k.outputs, k.module.outputs(*k.bind(values, **now, **hats))))
        new = np.array([out[s] for s in state_names])
        new = (1 - damping) * new + damping * np.array([m, q, chi])
        new[1] = min(max(new[1], 1e-12), rho * 1e6)
        new[2] = max(new[2], 1e-14 * rho)
        bound = np.sqrt(rho * new[1]) * (1 - 1e-12)
        new[0] = float(np.clip(new[0], -bound, bound))
        history.append(tuple(new))
        if not np.all(np.isfinite(new)):
            message = f"non-finite (m, q, chi) = {tuple(new)} at iteration {it}"
            break
        change = float(np.max(np.abs(new - np.array([m, q, chi]))))
        residuals.append(change)
        m, q, chi = new
        if change < tol:
            converged, message = True, f"max change of (m, q, chi) < {tol:g}"
            break
    else:
        message = f"no convergence in {max_iter} iterations"
    return SEResult(
        converged=converged,
        iterations=it,
        residual=residuals[-1] if residuals else None,
        residuals=np.array(residuals),
        message=message,
        alpha=alpha,
        overlap=float(m),
        q_hat=float(hats["q_hat"]),
        mse=float(rho - 2 * m + q),
        history=history,
        q=float(q),
        chi=float(chi),
    )


from .thresholds import Thresholds, thresholds  # noqa: E402  (it builds on the above)
