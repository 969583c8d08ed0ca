r"""Generalized linear models: priors, channels, denoisers, state evolution, free entropy.

Teacher :math:`w^* \sim \prod_i P_0(w_i)`, data :math:`X_{\mu i} \sim N(0, 1/N)`,
labels :math:`y_\mu \sim P_\mathrm{out}(y \mid z_\mu)`, :math:`z = X w^*`,
:math:`\alpha = M/N`. Following tramp (Baker et al. 2020), everything derives
from two partition functions, here obtained symbolically:

.. math::
    Z_0(A, B) = \int dP_0(w)\, e^{B w - A w^2/2}, \qquad
    Z_\mathrm{out}(y, \omega, V) = \int dz\, P_\mathrm{out}(y \mid z)\, N(z; \omega, V),

with :math:`f_a = \partial_B \log Z_0`, :math:`f_v = \partial_B f_a`,
:math:`g_\mathrm{out} = \partial_\omega \log Z_\mathrm{out}`,
:math:`\partial g_\mathrm{out} = \partial_\omega g_\mathrm{out}`; the Gaussian
integrals go through :mod:`derive.gaussian`.

References
----------
Rangan, ISIT 2011 (GAMP); Krzakala et al., J. Stat. Mech. P08009 (2012);
Barbier, Krzakala, Macris, Miolane & Zdeborová, PNAS 116, 5451 (2019).
"""

import sympy as sp

from .equations import Equations
from .errors import InputError, ModelError
from .functions import GaussianExpectation, LogSumExp
from .gaussian import Phi, expectation, integrate_gaussian_weight, stable_log
from .model import Model, memoized
from .priors import A, Atom, B, Density, Prior, _check_ranges
from .simplify import boltzmann_average

__all__ = [
    "Prior",
    "Atom",
    "Density",
    "Channel",
    "GLM",
    "denoisers",
    "state_evolution",
    "free_entropy",
    "classification_errors",
    "mismatched_state_evolution",
    "A",
    "B",
    "OMEGA",
    "V",
    "Y",
]

#: Symbols of the denoisers' arguments.
OMEGA = sp.Symbol("omega", real=True)
V = sp.Symbol("V", positive=True)
Y = sp.Symbol("y", real=True)
ALPHA = sp.Symbol("alpha", positive=True)


class Channel(Model):
    r"""An output channel :math:`P_\mathrm{out}(y \mid z)`.

    Parameters
    ----------
    likelihood : sympy expression in ``y`` and ``z``
    y, z : Symbol
    support : tuple of numbers, optional
        The values of a discrete ``y``; ``None`` for ``y`` on the real line.
    ranges : dict, optional
        ``{parameter: (lo, hi)}``, the admissible values (checked with the signs declared
        on the symbols by :meth:`check_values`).
    output : tuple, optional
        ``(f(z), noise_var)`` for a channel ``y = f(z) + sqrt(noise_var) xi``: how
        ``numerics.teacher_student`` samples ``y`` on the real line.
    """

    def __init__(self, likelihood, y, z, support=None, *, ranges=None, output=None):
        self.likelihood = sp.sympify(likelihood)
        if not (isinstance(y, sp.Symbol) and isinstance(z, sp.Symbol)):
            raise ModelError(f"Channel needs the symbols y and z, got {y!r}, {z!r}")
        self.y, self.z = y, z
        self.support = None if support is None else tuple(sp.sympify(v) for v in support)
        self.ranges = tuple(
            sorted(
                (
                    (sp.sympify(k), sp.sympify(lo), sp.sympify(hi))
                    for k, (lo, hi) in dict(ranges or {}).items()
                ),
                key=str,
            )
        )
        self.output = None if output is None else tuple(sp.sympify(x) for x in output)
        self._freeze()
        self._check()

    def _content(self):
        return (self.likelihood, self.y, self.z, self.support, self.ranges, self.output)

    def check_values(self, values):
        """Raise InputError for parameter values outside their declared ranges or signs."""
        _check_ranges(self, values)

    def check_labels(self, y):
        """Raise InputError if the numbers ``y`` are not values of this channel's ``y``."""
        if self.support is None:
            return
        allowed = sorted(float(v) for v in self.support)
        bad = sorted({float(v) for v in y} - set(allowed))
        if bad:
            raise InputError(
                f"labels must be in {tuple(allowed)} for this channel; got the value(s) "
                f"{bad[:5]}" + (" (labels in {0, 1}? use 2 y - 1)" if set(bad) <= {0.0} else "")
            )

    @classmethod
    def gaussian(cls, noise_var):
        """:math:`y = z + \\sqrt{\\Delta}\\,\\xi`, ``noise_var > 0``."""
        y, z = sp.symbols("y z", real=True)
        d = sp.sympify(noise_var)
        return cls(
            sp.exp(-((y - z) ** 2) / (2 * d)) / sp.sqrt(2 * sp.pi * d),
            y,
            z,
            ranges={d: (0, sp.oo)} if d.is_Symbol else None,
            output=(z, d),
        )

    @classmethod
    def relu(cls, noise_var):
        """:math:`y = \\max(0, z) + \\sqrt{\\Delta}\\,\\xi`, ``noise_var > 0``."""
        y, z = sp.symbols("y z", real=True)
        d = sp.sympify(noise_var)
        gauss = lambda mean: sp.exp(-((y - mean) ** 2) / (2 * d)) / sp.sqrt(2 * sp.pi * d)  # noqa: E731
        return cls(
            sp.Heaviside(z) * gauss(z) + sp.Heaviside(-z) * gauss(0),
            y,
            z,
            ranges={d: (0, sp.oo)} if d.is_Symbol else None,
            output=(sp.Max(0, z), d),
        )

    @classmethod
    def sign(cls, flip=0):
        """:math:`y = \\mathrm{sign}(z)`, flipped with probability ``flip`` in [0, 1]."""
        y, z = sp.symbols("y z", real=True)
        eps = sp.sympify(flip)
        return cls(
            (1 - eps) * sp.Heaviside(y * z) + eps * sp.Heaviside(-y * z),
            y,
            z,
            support=(-1, 1),
            ranges={eps: (0, 1)} if eps.is_Symbol else None,
        )

    @classmethod
    def probit(cls, sigma=1):
        """:math:`P(y = \\pm 1 \\mid z) = \\Phi(y z / \\sigma)`, ``sigma > 0``."""
        y, z = sp.symbols("y z", real=True)
        sigma = sp.sympify(sigma)
        return cls(
            Phi(y * z / sigma),
            y,
            z,
            support=(-1, 1),
            ranges={sigma: (0, sp.oo)} if sigma.is_Symbol else None,
        )

    @classmethod
    def logistic(cls, beta=1):
        """:math:`P(y = \\pm 1 \\mid z) = 1 / (1 + e^{-\\beta y z})`, ``beta > 0``.

        The Gaussian rules do not close :math:`Z_\\mathrm{out}` here: it stays an
        expectation over ``z``, nested inside the state evolution's expectation over the
        teacher's field, and is computed by nested quadrature.
        """
        y, z = sp.symbols("y z", real=True)
        beta = sp.sympify(beta)
        return cls(
            1 / (1 + sp.exp(-beta * y * z)),
            y,
            z,
            support=(-1, 1),
            ranges={beta: (0, sp.oo)} if beta.is_Symbol else None,
        )

    @property
    def params(self):
        return tuple(sorted(self.likelihood.free_symbols - {self.y, self.z}, key=str))

    def noise_variance(self):
        """For ``y = z + noise`` with Gaussian noise: its variance, from ``-1 / d^2 log P / dy^2``."""
        if self.output is not None:
            if self.output[0] != self.z:
                raise ModelError(f"the channel {self.likelihood} is not y = z + Gaussian noise")
            return self.output[1]
        curvature = sp.simplify(
            sp.diff(sp.expand_log(sp.log(self.likelihood), force=True), self.y, 2)
        )
        if (
            self.support is not None
            or curvature.has(self.y)
            or curvature.has(self.z)
            or curvature == 0
        ):
            raise ModelError(f"the channel {self.likelihood} is not y = z + Gaussian noise")
        return sp.simplify(-1 / curvature)

    def likelihoods(self):
        """``P(y = v | z)`` for each ``v`` of a discrete support, as Equations in ``z``."""
        if self.support is None:
            raise ModelError("likelihoods() needs a channel with a discrete y")
        return Equations(
            "channel likelihood",
            "map",
            (self.z,),
            self.params,
            {
                sp.Symbol(f"P_{k}", real=True): self.likelihood.subs(self.y, v)
                for k, v in enumerate(self.support)
            },
            model=self,
        )

    def _check(self):
        if self.support is None:  # int dy P(y|z) = 1, through the Gaussian rules
            total = integrate_gaussian_weight(self.likelihood * sp.exp(self.y**2 / 2), self.y, 1, 0)
            if not total.has(GaussianExpectation):
                for zval in (-1.3, 0.7):
                    value = (
                        total.subs(self.z, zval)
                        .subs({p: sp.Rational(1, 5) for p in self.params})
                        .evalf()
                    )
                    if not value.is_number or abs(float(value) - 1) > 1e-9:
                        raise ModelError(
                            f"channel is not a distribution in y: its integral "
                            f"over y at z = {zval} is {value}, not 1"
                        )
            return
        if self.support is not None:
            total = sp.Add(*[self.likelihood.subs(self.y, v) for v in self.support])
            for zval in (-1.3, -0.2, 0.7, 2.1):
                value = total.subs(self.z, zval).doit()
                value = value.subs({p: sp.Rational(1, 5) for p in self.params})
                if not value.is_number or abs(float(value) - 1) > 1e-9:
                    raise ModelError(
                        f"channel is not a distribution in y: the sum over the "
                        f"support {self.support} at z = {zval} is {value}, not 1"
                    )

    def __repr__(self):
        return f"Channel({self.likelihood}, support={self.support})"


class GLM(Model):
    """A teacher-student generalized linear model: a prior and a channel."""

    def __init__(self, prior, channel):
        if not isinstance(prior, Prior):
            raise ModelError(f"GLM needs a Prior, got {type(prior).__name__}")
        if not isinstance(channel, Channel):
            raise ModelError(f"GLM needs a Channel, got {type(channel).__name__}")
        self.prior, self.channel = prior, channel
        self._freeze()

    def _content(self):
        return (self.prior, self.channel)

    @property
    def params(self):
        return tuple(dict.fromkeys(self.prior.params + self.channel.params))

    def check_values(self, values):
        """Raise InputError if ``{Symbol: float}`` values break a range of the prior or channel."""
        self.prior.check_values(values)
        self.channel.check_values(values)

    def __repr__(self):
        return f"GLM({self.prior!r}, {self.channel!r})"


def _on_support(expr, channel):
    """Simplify ``|y|`` and even powers of ``y`` when they are constant on a discrete support."""
    if channel.support is None:
        return expr
    y = channel.y
    absolute = {abs(v) for v in channel.support}
    if len(absolute) == 1:
        (a,) = absolute
        candidate = expr.replace(sp.Abs(y), a).replace(
            lambda e: e.is_Pow and e.base == y and e.exp.is_even, lambda e: a**e.exp
        )
        if all(sp.simplify((candidate - expr).subs(y, v)) == 0 for v in channel.support):
            return candidate
    return expr


def _log_zout(channel):
    z_out = expectation(channel.likelihood, channel.z, OMEGA, V)
    z_out = _on_support(z_out, channel)
    return stable_log(z_out).subs(channel.y, Y)


@memoized
def denoisers(glm):
    r"""The input and output denoisers of a GLM.

    .. math::
        f_a = \sum_k \pi_k m_k, \qquad
        f_v = \sum_k \pi_k v_k + \sum_{j<k} \pi_j \pi_k (m_j - m_k)^2

    over the pieces ``k`` of the tilted prior (see :mod:`derive.priors`), with
    :math:`\pi_k = e^{\ell_k - \log Z_0}`: the mixture mean and the law of total variance,
    which keeps the digits of a small posterior variance; a prior of at most three atoms
    keeps its closed form (``tanh`` for ``±1``).

    Returns
    -------
    Equations
        ``kind="map"`` with inputs ``A, B, y, omega, V`` and outputs
        ``f_a, f_v`` (input side) and ``g_out, dg_out`` (output side);
        observables ``log_Z0`` and ``log_Zout``.
    """
    f_a, f_v = _input_denoisers(glm.prior)
    log_z0 = LogSumExp(*glm.prior.log_partition())
    log_zout = _log_zout(glm.channel)
    g_out = sp.diff(log_zout, OMEGA)
    dg_out = sp.diff(g_out, OMEGA)
    params = glm.params
    return Equations(
        "GLM denoisers",
        "map",
        (A, B, Y, OMEGA, V),
        params,
        {
            sp.Symbol("f_a", real=True): f_a,
            sp.Symbol("f_v", real=True): f_v,
            sp.Symbol("g_out", real=True): g_out,
            sp.Symbol("dg_out", real=True): dg_out,
        },
        observables={
            sp.Symbol("log_Z0", real=True): log_z0,
            sp.Symbol("log_Zout", real=True): log_zout,
        },
        model=glm,
        description="f_a = d_B log Z0(A, B), f_v = d_B f_a, g_out = d_omega log "
        "Zout(y, omega, V), dg_out = d_omega g_out.",
    )


def _input_denoisers(prior):
    """``(f_a, f_v)``: the closed form of a few atoms, else the stable mixture moments."""
    comps = prior.components
    if all(isinstance(c, Atom) for c in comps) and len(comps) <= 3:
        values = [c.value for c in comps]
        weights = [stable_log(c.mass) + B * c.value - A * c.value**2 / 2 for c in comps]
        closed, method = boltzmann_average(values, [-x for x in weights], 1)
        if method == "closed form":
            return closed, sp.diff(closed, B)
    if all(isinstance(c, Atom) for c in comps):  # atoms: the derivatives of log Z0
        f_a = sp.diff(LogSumExp(*prior.log_partition()), B)
        return f_a, sp.diff(f_a, B)
    parts = prior.posterior_parts()
    if len(parts) == 1:
        return parts[0][1], parts[0][2]
    # weights exp(l_k - top) / total: the largest is exactly exp(0) = 1, so a dominant
    # component keeps its weight to the last digit (exp(l_k - LogSumExp) would carry the
    # rounding of l_k ~ B^2 / 2A, 1e-9 relative at A ~ 1e8)
    top = sp.Max(*[p[0] for p in parts], evaluate=False)
    scaled = [sp.exp(p[0] - top) for p in parts]
    total = sp.Add(*scaled)
    f_a = sp.Add(*[w * p[1] for w, p in zip(scaled, parts)]) / total
    f_v = sp.Add(*[w * p[2] for w, p in zip(scaled, parts) if p[2] != 0]) / total
    for j in range(len(parts)):
        for k in range(j + 1, len(parts)):
            gap = parts[j][1] - parts[k][1]
            if gap != 0:
                f_v += scaled[j] * scaled[k] * gap**2 / total**2
    return f_a, f_v


def _output_average(glm, integrand_of, q, rho):
    r""":math:`\mathbb{E}_\xi \int dy\, Z_\mathrm{out}\, F` at :math:`\omega = \sqrt{q}\xi`, :math:`V = \rho - q`."""
    xi = sp.Symbol("xi", real=True)
    log_zout = _log_zout(glm.channel)
    at = {OMEGA: sp.sqrt(q) * xi, V: rho - q}
    body = sp.exp(log_zout) * integrand_of(log_zout)
    if glm.channel.support is None:
        # int dy f(y) = sqrt(2 pi) E_{y ~ N(0,1)}[f(y) e^{y^2/2}]: closes when f is Gaussian in y
        summed = integrate_gaussian_weight(sp.powsimp(body * sp.exp(Y**2 / 2)), Y, 1, 0)
        if summed.has(GaussianExpectation):
            raise ModelError(
                "the y-integral of this continuous channel does not close under "
                f"the Gaussian rules (Zout = exp({log_zout}))"
            )
    else:
        summed = sp.Add(*[sp.powsimp(body.subs(Y, v)) for v in glm.channel.support])
    return _tidy(expectation(summed.subs(at), xi))


def _input_average(glm, integrand_of, q_hat):
    r""":math:`\mathbb{E}_{w_0, \xi}\, F(q̂, q̂ w_0 + \sqrt{q̂}\xi)` over the prior's atoms and Gaussian parts."""
    xi = sp.Symbol("xi", real=True)
    total = sp.S.Zero
    for part in glm.prior.parts():
        if isinstance(part, Atom):
            field = q_hat * part.value + sp.sqrt(q_hat) * xi
            total += part.mass * expectation(integrand_of(field), xi)
        else:  # B = q_hat w0 + sqrt(q_hat) xi is Gaussian with this mean and variance
            try:
                mean, var = part.gaussian_parameters()
            except ModelError:  # any other density: B's law by the Nishimori identity
                total += part.mass * part.field_average(integrand_of, q_hat, xi)
                continue
            total += part.mass * expectation(
                integrand_of(xi), xi, q_hat * mean, q_hat**2 * var + q_hat
            )
    return _tidy(total)


def _tidy(expr):
    """Simplify what closed; leave quadrature nodes as they are."""
    if expr.has(GaussianExpectation):
        return expr
    return sp.simplify(expr)


def state_evolution(glm):
    r"""Bayes-optimal state evolution of GAMP.

    .. math::
        \hat q = \alpha\, \mathbb{E}_\xi \int dy\, Z_\mathrm{out}\, g_\mathrm{out}^2
                 \big|_{\omega = \sqrt{q}\xi,\, V = \rho - q}, \qquad
        q = \mathbb{E}_{w_0,\xi}\, f_a(\hat q, \hat q w_0 + \sqrt{\hat q}\xi)^2

    Returns
    -------
    Equations
        ``kind="fixed_point"`` in ``(q, q_hat)``: outputs ``q_hat(q)`` and
        ``q(q_hat)`` (iterate them in turn); params ``alpha`` and the model's.
    """
    q = sp.Symbol("q", nonnegative=True)
    q_hat = sp.Symbol("q_hat", nonnegative=True)
    rho = glm.prior.second_moment
    eqs = denoisers(glm)
    g_out = eqs["g_out"]
    f_a = eqs["f_a"]
    q_hat_new = ALPHA * _output_average(glm, lambda log_z: g_out**2, q, rho)
    q_new = _input_average(
        glm, lambda field: f_a.subs({A: q_hat, B: field}, simultaneous=True) ** 2, q_hat
    )
    return Equations(
        "GAMP state evolution (Bayes-optimal)",
        "fixed_point",
        (q, q_hat),
        (ALPHA,) + glm.params,
        {q_hat: q_hat_new, q: q_new},
        model=glm,
        description=f"Bayes-optimal state evolution, rho = E w^2 = {rho}.",
    )


def free_entropy(glm):
    r"""Replica-symmetric free entropy :math:`\phi(q, \hat q)`.

    .. math::
        \phi = \psi_0(\hat q) + \alpha\,\psi_\mathrm{out}(q) - q\hat q/2, \quad
        \psi_0 = \mathbb{E}\log Z_0(\hat q, \hat q w_0 + \sqrt{\hat q}\xi), \quad
        \psi_\mathrm{out} = \mathbb{E}_\xi \int dy\, Z_\mathrm{out} \log Z_\mathrm{out}
    """
    q = sp.Symbol("q", nonnegative=True)
    q_hat = sp.Symbol("q_hat", nonnegative=True)
    rho = glm.prior.second_moment
    log_z0 = LogSumExp(*glm.prior.log_partition())
    psi0 = _input_average(
        glm, lambda field: log_z0.subs({A: q_hat, B: field}, simultaneous=True), q_hat
    )
    psi_out = _output_average(glm, lambda log_z: log_z, q, rho)
    phi = psi0 + ALPHA * psi_out - q * q_hat / 2
    return Equations(
        "RS free entropy",
        "map",
        (q, q_hat),
        (ALPHA,) + glm.params,
        {sp.Symbol("phi", real=True): phi},
        model=glm,
        observables={sp.Symbol("psi_0", real=True): psi0, sp.Symbol("psi_out", real=True): psi_out},
        description="phi = psi_0(q_hat) + alpha psi_out(q) - q q_hat / 2.",
    )


def classification_errors(glm):
    r"""Bayes-optimal and Gibbs generalisation errors at overlap ``q``, for a discrete ``y``.

    .. math::
        \epsilon_\mathrm{Bayes} = 1 - \mathbb{E}_\xi \max_y Z_\mathrm{out}(y, \sqrt{q}\xi, \rho - q),
        \qquad
        \epsilon_\mathrm{Gibbs} = 1 - \mathbb{E}_{z \sim N(0, \rho)} \sum_y P_\mathrm{out}(y \mid z)\,
        Z_\mathrm{out}(y, qz/\rho, \rho - q^2/\rho)

    (the second: a student drawn from the posterior has a field correlated ``q``
    with the teacher's). For the sign channel with ``rho = 1`` these are
    ``arccos(sqrt q)/pi`` and ``arccos(q)/pi``.
    """
    channel = glm.channel
    if channel.support is None:
        raise ModelError("classification errors need a channel with a discrete y")
    q = sp.Symbol("q", nonnegative=True)
    xi = sp.Symbol("xi", real=True)
    rho = glm.prior.second_moment
    z_out = sp.exp(_log_zout(channel))
    bayes = 1 - expectation(
        sp.Max(*[z_out.subs({Y: v, OMEGA: sp.sqrt(q) * xi, V: rho - q}) for v in channel.support]),
        xi,
    )
    z_t = sp.Symbol("z_t", real=True)
    agree = sp.Add(
        *[
            channel.likelihood.subs({channel.y: v, channel.z: z_t})
            * z_out.subs({Y: v, OMEGA: q * z_t / rho, V: rho - q**2 / rho})
            for v in channel.support
        ]
    )
    gibbs = 1 - expectation(agree, z_t, 0, rho)
    return Equations(
        "classification errors",
        "map",
        (q,),
        glm.params,
        {sp.Symbol("bayes_error", real=True): bayes, sp.Symbol("gibbs_error", real=True): gibbs},
        model=glm,
        description="Bayes-optimal and Gibbs generalisation errors at overlap q.",
    )


def _teacher_output_average(teacher, integrand, omega_t, v_t):
    r""":math:`\mathbb{E}_\xi \int dy\, Z^t_\mathrm{out}(y, \omega_t, V_t)\, F(y, \xi)` for an
    integrand ``F`` in ``Y`` and ``xi`` (``omega_t``, ``v_t`` may depend on ``xi``)."""
    xi = sp.Symbol("xi", real=True)
    z_t = sp.exp(_log_zout(teacher.channel)).subs({OMEGA: omega_t, V: v_t}, simultaneous=True)
    body = z_t * integrand
    if teacher.channel.support is None:
        summed = integrate_gaussian_weight(sp.powsimp(body * sp.exp(Y**2 / 2)), Y, 1, 0)
        if summed.has(GaussianExpectation):
            raise ModelError(
                "the y-integral of this continuous channel does not close under the Gaussian rules"
            )
    else:  # expanded first, so that products of exponentials merge into one (log domain)
        summed = sp.Add(
            *[
                sp.powsimp(sp.expand(body.subs(Y, v), power_exp=False, log=False))
                for v in teacher.channel.support
            ]
        )
    return _tidy(expectation(summed, xi))


def _teacher_input_average(teacher, integrand, m_hat, q_hat):
    r""":math:`\mathbb{E}_{w_0, \xi} F(w_0, \hat m w_0 + \sqrt{\hat q}\xi)`, ``F`` affine in ``w_0``.

    ``integrand`` is a function ``(w0, field) -> expression``. Over a Gaussian part of the
    teacher's prior, ``w0`` and the field are jointly Gaussian and ``w0`` is replaced by its
    conditional mean given the field.
    """
    xi = sp.Symbol("xi", real=True)
    w0 = sp.Symbol("w_0", real=True)
    total = sp.S.Zero
    for part in teacher.prior.parts():
        if isinstance(part, Atom):
            total += part.mass * expectation(
                integrand(part.value, m_hat * part.value + sp.sqrt(q_hat) * xi), xi
            )
            continue
        mean, var = part.gaussian_parameters()
        f = sp.expand(integrand(w0, xi))
        if not f.is_polynomial(w0) or sp.degree(f, w0) > 1:
            raise ModelError("the input average needs an integrand affine in the teacher's weight")
        field_mean, field_var = m_hat * mean, m_hat**2 * var + q_hat
        conditional = mean + m_hat * var / field_var * (xi - field_mean)
        total += part.mass * expectation(f.subs(w0, conditional), xi, field_mean, field_var)
    return _tidy(total)


def mismatched_state_evolution(teacher, student):
    r"""State evolution of GAMP run with the ``student``'s denoisers on the ``teacher``'s data.

    With :math:`\omega = \sqrt{q}\xi`, the teacher's field given it has mean
    :math:`(m/\sqrt q)\xi` and variance :math:`\rho - m^2/q`:

    .. math::
        \hat q = \alpha\,\mathbb{E}\, g_s^2,\quad
        \hat\chi = -\alpha\,\mathbb{E}\, \partial_\omega g_s,\quad
        \hat m = \alpha\,\mathbb{E}_\xi \int dy\, \partial_\omega Z^t_\mathrm{out}\, g_s

    (the first two under :math:`\int dy\, Z^t_\mathrm{out}(y, (m/\sqrt q)\xi, \rho - m^2/q)`),
    and with :math:`B = \hat m w_0 + \sqrt{\hat q}\xi`:
    :math:`m = \mathbb{E}\, w_0 f_a^s(\hat\chi, B)`, :math:`q = \mathbb{E} f_a^s(\hat\chi, B)^2`,
    :math:`\chi = \mathbb{E} f_v^s(\hat\chi, B)`. When the student is the teacher these reduce
    to :func:`state_evolution` (``m = q``, ``chi = rho - q``, all hats equal).

    References
    ----------
    Rangan, ISIT 2011; Gerbelot, Abbara & Krzakala, arXiv:2006.06581 (2020).

    Returns
    -------
    Equations
        ``kind="fixed_point"`` in ``(m, q, chi, m_hat, q_hat, chi_hat)``; the hats are
        functions of ``(m, q, chi)`` and ``(m, q, chi)`` of the hats (iterate in turn).
    """
    if not isinstance(student, GLM):
        raise ModelError(f"the student must be a GLM, got {type(student).__name__}")
    m, chi = sp.Symbol("m", real=True), sp.Symbol("chi", positive=True)
    q = sp.Symbol("q", positive=True)
    m_hat, q_hat, chi_hat = sp.symbols("m_hat q_hat chi_hat", nonnegative=True)
    xi = sp.Symbol("xi", real=True)
    rho = teacher.prior.second_moment
    s_eqs = denoisers(student)
    at_s = {OMEGA: sp.sqrt(q) * xi, V: chi}
    g_s, dg_s = (
        s_eqs["g_out"].subs(at_s, simultaneous=True),
        s_eqs["dg_out"].subs(at_s, simultaneous=True),
    )
    omega_t, v_t = m / sp.sqrt(q) * xi, rho - m**2 / q
    dz_t = sp.diff(sp.exp(_log_zout(teacher.channel)).subs(V, v_t), OMEGA).subs(OMEGA, omega_t)
    z_t_over = sp.exp(_log_zout(teacher.channel)).subs({OMEGA: omega_t, V: v_t}, simultaneous=True)
    ratio = sp.powsimp(dz_t / z_t_over)  # d_omega log Z^t, stable in the log domain
    hats = {
        m_hat: ALPHA * _teacher_output_average(teacher, ratio * g_s, omega_t, v_t),
        q_hat: ALPHA * _teacher_output_average(teacher, g_s**2, omega_t, v_t),
        chi_hat: -ALPHA * _teacher_output_average(teacher, dg_s, omega_t, v_t),
    }
    f_a = lambda field: s_eqs["f_a"].subs({A: chi_hat, B: field}, simultaneous=True)  # noqa: E731
    f_v = lambda field: s_eqs["f_v"].subs({A: chi_hat, B: field}, simultaneous=True)  # noqa: E731
    overlaps = {
        m: _teacher_input_average(teacher, lambda w, b: w * f_a(b), m_hat, q_hat),
        q: _teacher_input_average(teacher, lambda w, b: f_a(b) ** 2, m_hat, q_hat),
        chi: _teacher_input_average(teacher, lambda w, b: f_v(b), m_hat, q_hat),
    }
    params = tuple(dict.fromkeys(teacher.params + student.params))
    return Equations(
        "GAMP state evolution (mismatched)",
        "fixed_point",
        (m, q, chi, m_hat, q_hat, chi_hat),
        (ALPHA,) + params,
        {**hats, **overlaps},
        model=(teacher, student),
        description=f"GAMP with the student's denoisers on the teacher's data, "
        f"rho = E w0^2 = {rho}.",
    )
