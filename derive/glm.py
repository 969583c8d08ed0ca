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
from .errors import ModelError
from .functions import GaussianExpectation, LogSumExp
from .gaussian import Phi, expectation, integrate_gaussian_weight, stable_log
from .simplify import boltzmann_average

__all__ = [
    "Prior",
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
A = sp.Symbol("A", nonnegative=True)
B = sp.Symbol("B", real=True)
OMEGA = sp.Symbol("omega", real=True)
V = sp.Symbol("V", positive=True)
Y = sp.Symbol("y", real=True)
ALPHA = sp.Symbol("alpha", positive=True)


class Prior:
    r"""A prior :math:`P_0(w)`: atoms and continuous components with weights.

    Build it with :meth:`discrete`, :meth:`gaussian`, :meth:`gauss_bernoulli`,
    :meth:`mixture`, or ``Prior(density, w)`` for any symbolic density. The
    named constructors only build densities: every prior goes through the same
    derivation.

    Examples
    --------
    >>> import sympy as sp
    >>> Prior.discrete({-1: sp.Rational(1, 2), 1: sp.Rational(1, 2)}).second_moment
    1
    """

    def __init__(self, density=None, w=None, *, components=None):
        if components is None:
            if density is None or w is None:
                raise ModelError("Prior(density, w) needs a density and its variable")
            components = [(sp.S.One, ("density", sp.sympify(density), w))]
        self.components = [(sp.sympify(p), c) for p, c in components]
        self._check()

    @classmethod
    def discrete(cls, masses):
        """Atoms ``{value: mass}``."""
        masses = dict(masses)
        if not masses:
            raise ModelError("a discrete prior needs at least one atom")
        return cls(components=[(sp.sympify(p), ("atom", sp.sympify(v))) for v, p in masses.items()])

    @classmethod
    def gaussian(cls, mean=0, var=1):
        """:math:`N(\\mu, \\sigma^2)`."""
        w = sp.Symbol("w", real=True)
        mean, var = sp.sympify(mean), sp.sympify(var)
        return cls(sp.exp(-((w - mean) ** 2) / (2 * var)) / sp.sqrt(2 * sp.pi * var), w)

    @classmethod
    def gauss_bernoulli(cls, rho, mean=0, var=1):
        """:math:`(1 - \\rho)\\,\\delta(w) + \\rho\\, N(\\mu, \\sigma^2)`."""
        rho = sp.sympify(rho)
        return cls.mixture([(1 - rho, cls.discrete({0: 1})), (rho, cls.gaussian(mean, var))])

    @classmethod
    def mixture(cls, parts):
        """``[(weight, Prior), ...]``: the weighted sum of the components."""
        comps = []
        for weight, prior in parts:
            comps += [(sp.sympify(weight) * p, c) for p, c in prior.components]
        return cls(components=comps)

    @property
    def params(self):
        out = set()
        for p, c in self.components:
            out |= p.free_symbols
            out |= (c[1].free_symbols - {c[2]}) if c[0] == "density" else c[1].free_symbols
        return tuple(sorted(out, key=str))

    def _moment(self, k):
        total = sp.S.Zero
        for p, c in self.components:
            if c[0] == "atom":
                total += p * c[1] ** k
            else:
                _, f, w = c
                total += p * integrate_gaussian_weight(f * w**k * sp.exp(w**2 / 2), w, 1, 0)
        return sp.simplify(total)

    @property
    def mass(self):
        return self._moment(0)

    @property
    def second_moment(self):
        r""":math:`\rho = \mathbb{E} w^2`."""
        return self._moment(2)

    def _check(self):
        for p, c in self.components:
            if p.is_number and p < 0:
                raise ModelError(f"prior has a negative mass {p} on {c}")
        total = self.mass
        if total.has(GaussianExpectation):
            raise ModelError(
                "cannot check that the prior normalises: its density does not close "
                "under the Gaussian rules"
            )
        if sp.simplify(total - 1) != 0:
            raise ModelError(f"prior does not normalise: its total mass is {total}, not 1")

    def parts(self):
        """The components as ``(weight, "atom", value)`` or ``(weight, "gaussian", mean, var)``.

        Raises ModelError for a continuous component that is not Gaussian.
        """
        out = []
        for p, c in self.components:
            if c[0] == "atom":
                out.append((p, "atom", c[1]))
                continue
            _, f, w = c
            log_f = sp.expand(sp.log(f), force=True)
            poly = sp.Poly(log_f, w) if log_f.is_polynomial(w) else None
            if poly is None or poly.degree() != 2:
                raise ModelError(
                    "this operation handles priors made of atoms and Gaussian "
                    f"components; {f} is neither"
                )
            var = sp.simplify(-1 / (2 * poly.coeff_monomial(w**2)))
            out.append((p, "gaussian", sp.simplify(poly.coeff_monomial(w) * var), var))
        return out

    def log_partition(self):
        r""":math:`\log Z_0(A, B)` as a ``LogSumExp`` over components (stable)."""
        logs = []
        for p, c in self.components:
            if c[0] == "atom":
                logs.append(stable_log(p) + B * c[1] - A * c[1] ** 2 / 2)
            else:
                _, f, w = c
                logs.append(stable_log(p) + stable_log(_gaussian_weight(f, w)))
        return logs

    def __repr__(self):
        return f"Prior({self.components})"


def _gaussian_weight(f, w):
    """``int dw f(w) exp(B w - A w^2 / 2)`` through the Gaussian rules (A must be > 0 there)."""
    Apos = sp.Symbol("A", positive=True)
    value = integrate_gaussian_weight(f, w, Apos, B)
    return sp.simplify(value).subs(Apos, A)


class Channel:
    r"""An output channel :math:`P_\mathrm{out}(y \mid z)`.

    Parameters
    ----------
    likelihood : sympy expression in ``y`` and ``z``
    y, z : Symbol
    support : tuple of numbers, optional
        The values of a discrete ``y``; ``None`` for ``y`` on the real line.
    """

    def __init__(self, likelihood, y, z, support=None):
        self.likelihood = sp.sympify(likelihood)
        self.y, self.z = y, z
        self.support = None if support is None else tuple(sp.sympify(v) for v in support)
        self._check()

    @classmethod
    def gaussian(cls, noise_var):
        """:math:`y = z + \\sqrt{\\Delta}\\,\\xi`."""
        y, z = sp.symbols("y z", real=True)
        d = sp.sympify(noise_var)
        return cls(sp.exp(-((y - z) ** 2) / (2 * d)) / sp.sqrt(2 * sp.pi * d), y, z)

    @classmethod
    def sign(cls, flip=0):
        """:math:`y = \\mathrm{sign}(z)`, flipped with probability ``flip``."""
        y, z = sp.symbols("y z", real=True)
        eps = sp.sympify(flip)
        return cls(
            (1 - eps) * sp.Heaviside(y * z) + eps * sp.Heaviside(-y * z), y, z, support=(-1, 1)
        )

    @classmethod
    def probit(cls, sigma=1):
        """:math:`P(y = \\pm 1 \\mid z) = \\Phi(y z / \\sigma)`."""
        y, z = sp.symbols("y z", real=True)
        return cls(Phi(y * z / sp.sympify(sigma)), y, z, support=(-1, 1))

    @classmethod
    def logistic(cls, beta=1):
        """:math:`P(y = \\pm 1 \\mid z) = 1 / (1 + e^{-\\beta y z})`, ``beta > 0``.

        The Gaussian rules do not close :math:`Z_\\mathrm{out}` here: it stays an
        expectation over ``z``, nested inside the state evolution's expectation over the
        teacher's field, and is computed by nested quadrature.
        """
        y, z = sp.symbols("y z", real=True)
        beta = sp.sympify(beta)
        return cls(1 / (1 + sp.exp(-beta * y * z)), y, z, support=(-1, 1))

    @property
    def params(self):
        return tuple(sorted(self.likelihood.free_symbols - {self.y, self.z}, key=str))

    def noise_variance(self):
        """For ``y = z + noise`` with Gaussian noise: its variance, from ``-1 / d^2 log P / dy^2``."""
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


class GLM:
    """A teacher-student generalized linear model: a prior and a channel."""

    def __init__(self, prior, channel):
        if not isinstance(prior, Prior):
            raise ModelError(f"GLM needs a Prior, got {type(prior).__name__}")
        if not isinstance(channel, Channel):
            raise ModelError(f"GLM needs a Channel, got {type(channel).__name__}")
        self.prior, self.channel = prior, channel

    @property
    def params(self):
        return tuple(dict.fromkeys(self.prior.params + self.channel.params))

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


def denoisers(glm):
    r"""The input and output denoisers of a GLM.

    Returns
    -------
    Equations
        ``kind="map"`` with inputs ``A, B, y, omega, V`` and outputs
        ``f_a, f_v`` (input side) and ``g_out, dg_out`` (output side);
        observables ``log_Z0`` and ``log_Zout``.
    """
    log_z0 = LogSumExp(*glm.prior.log_partition())
    f_a = sp.diff(log_z0, B)
    atoms = [c for _, c in glm.prior.components]
    if all(c[0] == "atom" for c in atoms) and len(atoms) <= 3:  # try the closed form
        values = [c[1] for c in atoms]
        weights = [
            stable_log(p) + B * v - A * v**2 / 2 for p, c in glm.prior.components for v in [c[1]]
        ]
        closed, method = boltzmann_average(values, [-x for x in weights], 1)
        if method == "closed form":
            f_a = closed
    elif len(atoms) == 1:
        f_a = sp.simplify(f_a)
    f_v = sp.diff(f_a, B)
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
        if part[1] == "atom":
            field = q_hat * part[2] + sp.sqrt(q_hat) * xi
            total += part[0] * expectation(integrand_of(field), xi)
        else:  # B = q_hat w0 + sqrt(q_hat) xi is Gaussian with this mean and variance
            _, _, mean, var = part
            total += part[0] * expectation(
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
        if part[1] == "atom":
            total += part[0] * expectation(
                integrand(part[2], m_hat * part[2] + sp.sqrt(q_hat) * xi), xi
            )
            continue
        _, _, mean, var = part
        f = sp.expand(integrand(w0, xi))
        if not f.is_polynomial(w0) or sp.degree(f, w0) > 1:
            raise ModelError("the input average needs an integrand affine in the teacher's weight")
        field_mean, field_var = m_hat * mean, m_hat**2 * var + q_hat
        conditional = mean + m_hat * var / field_var * (xi - field_mean)
        total += part[0] * expectation(f.subs(w0, conditional), xi, field_mean, field_var)
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
