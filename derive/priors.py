r"""Priors of a GLM as values: typed components, their partition functions and posteriors.

A prior :math:`P_0(w)` is a weighted sum of components, each an :class:`Atom`
(a point mass) or a :class:`Density` (a density on an interval of the line, which may
use ``Abs``, ``Heaviside``, ``sign`` and ``Piecewise`` of linear forms in ``w``). A
density is cut at the kinks of those functions into *pieces* ``(g, lo, hi)`` on which
``g`` is smooth. For every piece the tilted partition function

.. math::
    Z_k(A, B) = \int_{lo}^{hi} dw\, g(w)\, e^{B w - A w^2/2}

is in closed form when :math:`\log g` is a polynomial of degree at most two in ``w``
(Gaussian, Laplace, exponential, uniform pieces): with :math:`\log g = g_0 + g_1 w + g_2 w^2`,
:math:`A' = A - 2 g_2`, :math:`\mu = (B + g_1)/A'`,

.. math::
    \log Z_k = g_0 + \tfrac12 \log\frac{2\pi}{A'} + \frac{A'\mu^2}{2}
               + \log\big[\Phi(\sqrt{A'}(hi - \mu)) - \Phi(\sqrt{A'}(lo - \mu))\big],

the last term through ``LogPhi`` (stable far in either tail). Other pieces are
integrated by Gaussian quadrature in :math:`t`, :math:`w = B/A + t/\sqrt{A}`.
The denoisers are the mixture moments

.. math::
    f_a = \sum_k \pi_k m_k, \qquad
    f_v = \sum_k \pi_k v_k + \sum_{j < k} \pi_j \pi_k (m_j - m_k)^2,
    \qquad \pi_k = e^{\ell_k - \mathrm{LSE}(\ell)},

with :math:`\ell_k = \log(\text{mass}_k Z_k)`, :math:`m_k = \partial_B \ell_k`,
:math:`v_k = \partial_B m_k` (the law of total variance written without the
cancellation of :math:`\mathbb{E}w^2 - (\mathbb{E}w)^2`: at :math:`A \sim 10^8` the
posterior variance keeps its digits).

References
----------
Krzakala, Mézard, Sausset, Sun & Zdeborová, J. Stat. Mech. P08009 (2012), sec. 4 (the
input function of a mixture prior); Baker et al., tramp (2020) for the partition-function view.
"""

import functools

import mpmath
import sympy as sp

from .errors import InputError, ModelError
from .functions import GaussianExpectation, LogSumExp
from .gaussian import LogPhi, expectation, integrate_gaussian_weight, stable_log
from .model import Model, memoized

__all__ = ["Atom", "Density", "Prior", "A", "B", "W"]

#: The denoisers' arguments and the canonical integration variable of a density.
A = sp.Symbol("A", nonnegative=True)
B = sp.Symbol("B", real=True)
W = sp.Symbol("w", real=True)
_T = sp.Symbol("t", real=True)
_OO = sp.oo


class Atom(Model):
    """A point mass ``mass`` at ``value``."""

    def __init__(self, value, mass=1):
        self.value = sp.sympify(value)
        self.mass = sp.sympify(mass)
        self._freeze()

    def _content(self):
        return (self.value, self.mass)

    def scaled(self, weight):
        return Atom(self.value, sp.sympify(weight) * self.mass)

    @property
    def free_symbols(self):
        return self.value.free_symbols | self.mass.free_symbols

    def __repr__(self):
        return f"Atom({self.value}, mass={self.mass})"


class Density(Model):
    """``mass`` times the density ``expr`` of ``variable`` on ``support = (lo, hi)``.

    The variable is renamed to the canonical real ``w``, so that equal densities written
    with different variables are one value.
    """

    def __init__(self, expr, variable, support=(-_OO, _OO), mass=1):
        if not isinstance(variable, sp.Symbol):
            raise ModelError(f"a density needs its variable as a Symbol, got {variable!r}")
        expr = sp.sympify(expr)
        if variable != W and W not in expr.free_symbols:
            expr = expr.xreplace({variable: W})
            variable = W
        lo, hi = (sp.sympify(s) for s in support)
        if variable in (lo.free_symbols | hi.free_symbols):
            raise ModelError(f"the support {support} of a density may not use its variable")
        if (hi - lo).is_nonpositive:
            raise ModelError(f"empty support ({lo}, {hi})")
        self.expr, self.variable = expr, variable
        self.support = (lo, hi)
        self.mass = sp.sympify(mass)
        self._freeze()

    def _content(self):
        return (self.expr, self.variable, self.support, self.mass)

    def scaled(self, weight):
        return Density(self.expr, self.variable, self.support, sp.sympify(weight) * self.mass)

    @property
    def free_symbols(self):
        out = (self.expr.free_symbols - {self.variable}) | self.mass.free_symbols
        return out | self.support[0].free_symbols | self.support[1].free_symbols

    def pieces(self):
        """``((g, lo, hi), ...)``: the density cut where it is not smooth."""
        return _pieces(self)

    def gaussian_parameters(self):
        """``(mean, var)`` if this is a Gaussian density on the whole line, else ModelError."""
        pieces = self.pieces()
        if len(pieces) == 1 and pieces[0][1:] == (-_OO, _OO):
            poly = _log_quadratic(pieces[0][0], self.variable)
            if poly is not None and poly[2] != 0 and (-poly[2]).is_positive is not False:
                var = sp.simplify(-1 / (2 * poly[2]))
                return sp.simplify(poly[1] * var), var
        raise ModelError(
            "this operation handles priors made of atoms and Gaussian components; "
            f"{self.expr} on {self.support} is neither"
        )

    def log_partition(self):
        r"""The terms of :math:`\log \int dw\, \mathrm{expr}(w)\, e^{Bw - Aw^2/2}` (one per
        piece; their ``LogSumExp``), without the component's mass."""
        return tuple(_piece_moments(g, lo, hi, self.variable)[0] for g, lo, hi in self.pieces())

    def field_average(self, integrand_of, q_hat, xi):
        r""":math:`\mathbb{E}_{w_0 \sim \mathrm{expr}}\, \mathbb{E}_\xi\,
        F(\hat q w_0 + \sqrt{\hat q}\xi)` as one Gaussian expectation over ``xi``.

        The field :math:`B = \hat q w_0 + \sqrt{\hat q}\xi` has the density
        :math:`N(B; 0, \hat q)\, Z(\hat q, B)` (Nishimori; :math:`Z` the tilted partition
        function of the density), here written against the Gaussian of its own mean and
        variance, :math:`B = \hat q m_1 + s\xi`, :math:`s^2 = \hat q + \hat q^2 (m_2 - m_1^2)`,
        with the likelihood ratio in the log domain (so that the quadrature nodes sit
        where the field lives, at every :math:`\hat q`).
        """
        moments = [_density_moment(self, k) for k in range(3)]
        m1, m2 = moments[1] / moments[0], moments[2] / moments[0]
        s = sp.sqrt(q_hat + q_hat**2 * (m2 - m1**2))
        field = q_hat * m1 + s * xi
        log_z = LogSumExp(*self.log_partition()).subs({A: q_hat, B: field}, simultaneous=True)
        log_ratio = log_z - field**2 / (2 * q_hat) + xi**2 / 2 + sp.log(s / sp.sqrt(q_hat))
        return expectation(sp.exp(log_ratio) * integrand_of(field), xi) / moments[0]

    def __repr__(self):
        return f"Density({self.expr}, {self.variable}, support={self.support}, mass={self.mass})"


# --- cutting a density into smooth pieces -------------------------------------------------


def _linear(u, w):
    u = sp.expand(u)
    if u.is_polynomial(w) and sp.degree(u, w) == 1:
        a, b = sp.Poly(u, w).all_coeffs()
        return a, b
    return None


def _kinks(expr, w):
    """Where ``Abs``, ``Heaviside``, ``sign``, ``Max``/``Min`` and ``Piecewise`` switch."""
    args = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Abs, sp.Heaviside, sp.sign)):
            args.append(node.args[0])
        elif isinstance(node, (sp.Max, sp.Min)):
            args += [x - node.args[0] for x in node.args[1:]]
        elif isinstance(node, sp.Piecewise):
            for _, cond in node.args:
                args += [r.lhs - r.rhs for r in cond.atoms(sp.core.relational.Relational)]
    points = set()
    for u in args:
        if not u.has(w):
            continue
        lin = _linear(u, w)
        if lin is None:
            raise ModelError(
                f"the density switches where {u} = 0, which is not linear in {w}: "
                "write its support as intervals"
            )
        points.add(sp.simplify(-lin[1] / lin[0]))
    return points


def _less(a, b):
    """``a < b`` decided symbolically (parameters keep their declared assumptions)."""
    if a == b:
        return False
    if a is -_OO or b is _OO:
        return True
    if a is _OO or b is -_OO:
        return False
    d = sp.simplify(b - a)
    if d.is_positive:
        return True
    if d.is_nonpositive:
        return False
    raise ModelError(
        f"cannot order {a} and {b} where the density changes form: declare the "
        "parameters' signs (positive=True) or give the support explicitly"
    )


def _decide(value):
    value = sp.simplify(value)
    if value in (sp.true, sp.false):
        return bool(value)
    raise ModelError(f"cannot decide {value} on a piece of the density: declare the signs")


def _on_interval(expr, w, point):
    """``expr`` with its switches resolved on the interval that contains ``point``."""

    def sgn(u):
        s = sp.sign(sp.simplify(u.subs(w, point)))
        if s not in (1, -1):
            raise ModelError(f"cannot decide the sign of {u} on a piece of the density")
        return s

    out = expr.replace(
        lambda e: isinstance(e, sp.Piecewise) and e.has(w),
        lambda e: next(v for v, c in e.args if c is sp.true or _decide(c.subs(w, point))),
    )
    out = out.replace(
        lambda e: isinstance(e, sp.Abs) and e.args[0].has(w), lambda e: sgn(e.args[0]) * e.args[0]
    )
    out = out.replace(
        lambda e: isinstance(e, sp.Heaviside) and e.args[0].has(w),
        lambda e: sp.S.One if sgn(e.args[0]) > 0 else sp.S.Zero,
    )
    out = out.replace(
        lambda e: isinstance(e, sp.sign) and e.args[0].has(w), lambda e: sgn(e.args[0])
    )
    out = out.replace(
        lambda e: isinstance(e, (sp.Max, sp.Min)) and e.has(w),
        lambda e: (
            max(e.args, key=lambda x: x.subs(w, point))
            if isinstance(e, sp.Max)
            else min(e.args, key=lambda x: x.subs(w, point))
        ),
    )
    return sp.simplify(out)


@memoized
def _pieces(density):
    w = density.variable
    lo, hi = density.support
    inner = [p for p in _kinks(density.expr, w) if _less(lo, p) and _less(p, hi)]
    points = [lo] + sorted(inner, key=functools.cmp_to_key(lambda a, b: -1 if _less(a, b) else 1))
    points.append(hi)
    out = []
    for a, b in zip(points[:-1], points[1:]):
        if a is -_OO and b is _OO:
            mid = sp.S.Zero
        elif a is -_OO:
            mid = b - 1
        elif b is _OO:
            mid = a + 1
        else:
            mid = (a + b) / 2
        g = _on_interval(density.expr, w, mid)
        if g != 0:
            out.append((g, a, b))
    if not out:
        raise ModelError(f"the density {density.expr} vanishes on its support")
    return tuple(out)


def _log_quadratic(g, w):
    """``(g0, g1, g2)`` with ``log g = g0 + g1 w + g2 w^2``, or None."""
    log_g = sp.expand(sp.expand_log(sp.log(g), force=True))
    if not log_g.is_polynomial(w) or sp.degree(log_g, w) > 2:
        return None
    poly = sp.Poly(log_g, w)
    return tuple(poly.coeff_monomial(w**k) for k in range(3))


# --- partition function and posterior moments of one piece -------------------------------


def _log_phi_difference(s, t):
    r""":math:`\log[\Phi(s) - \Phi(t)]` for :math:`s > t`, stable in both tails."""
    if s is _OO and t is -_OO:
        return sp.S.Zero
    if s is _OO:
        return LogPhi(-t)
    if t is -_OO:
        return LogPhi(s)
    lower = LogPhi(s) + sp.log(1 - sp.exp(LogPhi(t) - LogPhi(s)))  # both in the lower tail
    upper = LogPhi(-t) + sp.log(1 - sp.exp(LogPhi(-s) - LogPhi(-t)))  # both in the upper tail
    return sp.Piecewise((lower, s + t < 0), (upper, True))


def _piece_moments(g, lo, hi, w):
    """``(log Z, m, v)`` of one piece as functions of ``A``, ``B``."""
    coeffs = _log_quadratic(g, w)
    if coeffs is not None:
        g0, g1, g2 = coeffs
        a_eff = A - 2 * g2
        mu = (B + g1) / a_eff
        root = sp.sqrt(a_eff)
        s = _OO if hi is _OO else root * (hi - mu)
        t = -_OO if lo is -_OO else root * (lo - mu)
        log_z = g0 + sp.log(2 * sp.pi / a_eff) / 2 + a_eff * mu**2 / 2 + _log_phi_difference(s, t)
        if (lo is -_OO) != (hi is _OO):  # a half-line: the truncated Gaussian's moments
            x, edge, sign = (-t, lo, 1) if hi is _OO else (s, hi, -1)
            m, v = _half_line_moments(x, edge, sign, mu, root)
            return log_z, m, v
        if lo is -_OO and hi is _OO:
            m = sp.simplify(sp.diff(log_z, B))
            return log_z, m, sp.simplify(sp.diff(m, B))
        # an interval: the difference of two nested half-lines on the side away from the
        # peak mu (their ratio is then small): [lo, oo) - [hi, oo) when mu is left of the
        # centre, (-oo, hi] - (-oo, lo] when it is right of it
        shared = g0 + sp.log(2 * sp.pi / a_eff) / 2 + a_eff * mu**2 / 2

        def half(edge, sign):
            x = root * (mu - edge) if sign == 1 else root * (edge - mu)
            return (shared + LogPhi(x),) + _half_line_moments(x, edge, sign, mu, root)

        right = _difference(half(lo, 1), half(hi, 1))
        left = _difference(half(hi, -1), half(lo, -1))
        m = sp.Piecewise((left[0], s + t < 0), (right[0], True))
        v = sp.Piecewise((left[1], s + t < 0), (right[1], True))
        return log_z, m, v
    # quadrature in t: w = B/A + t/sqrt(A), Z = sqrt(2 pi / A) e^{B^2/2A} E_t[g(w) 1(lo<w<hi)]
    at = B / A + _T / sp.sqrt(A)
    inside = sp.S.One
    if lo is not -_OO:
        inside *= sp.Heaviside(at - lo)
    if hi is not _OO:
        inside *= sp.Heaviside(hi - at)
    body = g.subs(w, at) * inside
    e0, e1, e2 = (GaussianExpectation(body * _T**k, _T) for k in range(3))
    log_z = sp.log(2 * sp.pi / A) / 2 + B**2 / (2 * A) + sp.log(e0)
    mean_t = e1 / e0
    return log_z, B / A + mean_t / sp.sqrt(A), (e2 / e0 - mean_t**2) / A


#: Below x = -TAIL the truncated Gaussian's moments switch to the continued fraction.
TAIL = 5
#: Depth of the continued fraction (measured: relative error <= 3e-16 for u >= 5 at 40).
DEPTH = 40


def _mills_continued_fraction(u):
    r"""``(D, F)`` for :math:`u > 0`: :math:`D = R(-u) - u` and :math:`F = 1 - R(-u) D`,
    with :math:`R = \phi/\Phi`, from Laplace's continued fraction of the Mills ratio
    (Abramowitz & Stegun 26.2.14), :math:`D = 1/(u + E)`, :math:`E = 2/(u + 3/(u + \dots))`:
    then :math:`F = D^2 (u E + E^2 - 1)`, free of the cancellation of :math:`1 - R D`."""
    tail = sp.S.Zero
    for k in range(DEPTH, 1, -1):
        tail = k / (u + tail)
    d = 1 / (u + tail)
    return d, d**2 * (u * tail + tail**2 - 1)


def _half_line_moments(x, edge, sign, mu, root):
    r"""Mean and variance of :math:`N(\mu, 1/A')` truncated to a half-line at ``edge``,
    ``sign = +1`` for :math:`w > edge` (:math:`x = \sqrt{A'}(\mu - edge)`), ``-1`` for
    :math:`w < edge` (:math:`x = \sqrt{A'}(edge - \mu)`):

    .. math::
        m = \mu + \mathrm{sign}\, R(x)/\sqrt{A'}, \qquad v = (1 - R(x)(x + R(x)))/A',

    with :math:`R = \phi/\Phi = e^{-x^2/2 - \log\Phi(x)}/\sqrt{2\pi}`; for
    :math:`x < -5` (the edge far above the Gaussian's peak) the same quantities from the
    continued fraction, :math:`m = edge + \mathrm{sign}\, D/\sqrt{A'}`, :math:`v = F/A'`."""
    ratio = sp.exp(-(x**2) / 2 - LogPhi(x)) / sp.sqrt(2 * sp.pi)
    d, f = _mills_continued_fraction(-x)
    m = sp.Piecewise((edge + sign * d / root, x < -TAIL), (mu + sign * ratio / root, True))
    v = sp.Piecewise((f / root**2, x < -TAIL), ((1 - ratio * (x + ratio)) / root**2, True))
    return m, v


def _difference(big, small):
    r"""Mean and variance of the measure ``big - small`` (``small`` nested in ``big``), each
    given as ``(log Z, m, v)``: with :math:`\rho = Z_s/Z_b`,

    .. math::
        m = m_b + \frac{\rho (m_b - m_s)}{1 - \rho}, \qquad
        v = \frac{v_b - \rho v_s}{1 - \rho} - \frac{\rho (m_b - m_s)^2}{(1 - \rho)^2}.
    """
    rho = sp.exp(small[0] - big[0])
    gap = big[1] - small[1]
    rest = 1 - rho
    return big[1] + rho * gap / rest, (big[2] - rho * small[2]) / rest - rho * gap**2 / rest**2


@memoized
def _posterior_parts(prior):
    parts = []
    for c in prior.components:
        if isinstance(c, Atom):
            log_w = stable_log(c.mass) + B * c.value - A * c.value**2 / 2
            parts.append((log_w, c.value, sp.S.Zero))
            continue
        for g, lo, hi in c.pieces():
            log_z, m, v = _piece_moments(g, lo, hi, c.variable)
            parts.append((stable_log(c.mass) + log_z, m, v))
    return tuple(parts)


# --- moments of the prior --------------------------------------------------------------------


def _piece_integral(g, lo, hi, w, k):
    r""":math:`\int_{lo}^{hi} g(w) w^k dw`, by the Gaussian rules, by sympy, or unevaluated."""
    coeffs = _log_quadratic(g, w)
    if coeffs is not None and coeffs[2] != 0 and (-coeffs[2]).is_positive:
        inside = sp.S.One
        if lo is not -_OO:
            inside *= sp.Heaviside(w - lo)
        if hi is not _OO:
            inside *= sp.Heaviside(hi - w)
        value = integrate_gaussian_weight(g * w**k * inside * sp.exp(w**2 / 2), w, 1, 0)
        if not value.has(GaussianExpectation):
            return value
    value = sp.integrate(g * w**k, (w, lo, hi), conds="none")
    if value.has(sp.Integral) or value.has(sp.nan) or value.has(GaussianExpectation):
        return sp.Integral(g * w**k, (w, lo, hi))
    return value


def _density_moment(density, k):
    r""":math:`\int w^k\, \mathrm{expr}(w)\, dw` over the support (without the mass)."""
    return sp.Add(
        *[_piece_integral(g, lo, hi, density.variable, k) for g, lo, hi in density.pieces()]
    )


def _moment(prior, k):
    total = sp.S.Zero
    for c in prior.components:
        if isinstance(c, Atom):
            total += c.mass * c.value**k
        else:
            total += c.mass * _density_moment(c, k)
    return total if total.has(sp.Integral) else sp.simplify(total)


def _numeric(expr):
    """A number from ``expr`` (with its integrals done by mpmath), or None."""
    if expr.free_symbols:
        return None
    try:
        with mpmath.workdps(20):
            return complex(expr.evalf(20))
    except (TypeError, ValueError):
        return None


# --- the prior ---------------------------------------------------------------------------------


def _parameter_symbols(components):
    out = set()
    for c in components:
        out |= c.free_symbols
    return tuple(sorted(out, key=str))


class Prior(Model):
    r"""A prior :math:`P_0(w)`: a mixture of :class:`Atom` and :class:`Density` components.

    Build it with :meth:`discrete`, :meth:`gaussian`, :meth:`gauss_bernoulli`,
    :meth:`laplace`, :meth:`exponential`, :meth:`uniform`, :meth:`mixture`, or
    ``Prior(density, w, support=(lo, hi))`` for any density on the line, a half-line
    or an interval (``Abs``, ``Heaviside``, ``sign``, ``Piecewise`` of linear forms
    allowed). The named constructors only build densities: every prior goes through
    the same derivation. ``ranges`` maps a parameter to the closed interval of its
    admissible values (checked by :meth:`check_values`, with the signs declared on the
    symbols and the masses of the components).

    Examples
    --------
    >>> import sympy as sp
    >>> Prior.discrete({-1: sp.Rational(1, 2), 1: sp.Rational(1, 2)}).second_moment
    1
    >>> w = sp.Symbol("w", real=True)
    >>> Prior(sp.exp(-sp.Abs(w)) / 2, w).second_moment
    2
    """

    def __init__(self, density=None, w=None, *, support=None, components=None, ranges=None):
        if components is None:
            if density is None or w is None:
                raise ModelError("Prior(density, w) needs a density and its variable")
            components = (Density(density, w, support or (-_OO, _OO)),)
        components = tuple(components)
        for c in components:
            if not isinstance(c, (Atom, Density)):
                raise ModelError(f"a prior component is an Atom or a Density, got {c!r}")
        self.components = components
        self.ranges = tuple(
            sorted(
                (
                    (sp.sympify(k), sp.sympify(lo), sp.sympify(hi))
                    for k, (lo, hi) in dict(ranges or {}).items()
                ),
                key=str,
            )
        )
        self._freeze()
        self._check()

    def _content(self):
        return (self.components, self.ranges)

    # named constructors

    @classmethod
    def discrete(cls, masses):
        """Atoms ``{value: mass}``."""
        masses = dict(masses)
        if not masses:
            raise ModelError("a discrete prior needs at least one atom")
        return cls(components=[Atom(v, p) for v, p in masses.items()])

    @classmethod
    def gaussian(cls, mean=0, var=1):
        r""":math:`N(\mu, \sigma^2)`, ``var > 0``."""
        mean, var = sp.sympify(mean), sp.sympify(var)
        density = sp.exp(-((W - mean) ** 2) / (2 * var)) / sp.sqrt(2 * sp.pi * var)
        return cls(density, W, ranges=_positive(var))

    @classmethod
    def gauss_bernoulli(cls, rho, mean=0, var=1):
        r""":math:`(1 - \rho)\,\delta(w) + \rho\, N(\mu, \sigma^2)`, ``0 <= rho <= 1``."""
        rho = sp.sympify(rho)
        ranges = dict(_positive(var))
        if rho.is_Symbol:
            ranges[rho] = (0, 1)
        return cls.mixture(
            [(1 - rho, cls.discrete({0: 1})), (rho, cls.gaussian(mean, var))], ranges=ranges
        )

    @classmethod
    def laplace(cls, scale=1, mean=0):
        r""":math:`e^{-|w - \mu|/b} / (2b)`, ``b > 0``."""
        b, mu = sp.sympify(scale), sp.sympify(mean)
        return cls(sp.exp(-sp.Abs(W - mu) / b) / (2 * b), W, ranges=_positive(b))

    @classmethod
    def exponential(cls, rate=1):
        r""":math:`\lambda e^{-\lambda w}` on :math:`w > 0`, ``rate > 0``."""
        lam = sp.sympify(rate)
        return cls(lam * sp.exp(-lam * W), W, support=(0, _OO), ranges=_positive(lam))

    @classmethod
    def uniform(cls, a=0, b=1):
        """The uniform density on ``(a, b)``, ``a < b`` (numbers, or symbols whose order is
        declared)."""
        a, b = sp.sympify(a), sp.sympify(b)
        return cls(1 / (b - a), W, support=(a, b))

    @classmethod
    def mixture(cls, parts, ranges=None):
        """``[(weight, Prior), ...]``: the weighted sum of the components."""
        comps, merged = [], {}
        for weight, prior in parts:
            if not isinstance(prior, Prior):
                raise ModelError(f"a mixture needs (weight, Prior) pairs, got {prior!r}")
            comps += [c.scaled(weight) for c in prior.components]
            merged.update({k: (lo, hi) for k, lo, hi in prior.ranges})
        merged.update(dict(ranges or {}))
        return cls(components=comps, ranges=merged)

    # what the derivations read

    @property
    def params(self):
        return _parameter_symbols(self.components)

    def parts(self):
        """The typed components (:class:`Atom`, :class:`Density`)."""
        return self.components

    @property
    def mass(self):
        return _moment(self, 0)

    @property
    def second_moment(self):
        r""":math:`\rho = \mathbb{E} w^2` (a sympy expression; an unevaluated ``Integral``
        where neither the Gaussian rules nor sympy close it)."""
        return _moment(self, 2)

    def moment(self, k):
        r""":math:`\mathbb{E} w^k`."""
        return _moment(self, k)

    def log_partition(self):
        r"""The terms of :math:`\log Z_0(A, B)` = ``LogSumExp`` of them (stable)."""
        return [p[0] for p in _posterior_parts(self)]

    def posterior_parts(self):
        r"""``(log weight, mean, variance)`` of each piece of the tilted posterior
        :math:`P_0(w) e^{Bw - Aw^2/2}`, as expressions in ``A``, ``B``."""
        return _posterior_parts(self)

    def check_values(self, values):
        """Raise InputError if numerical ``values`` ``{Symbol: float}`` are outside the ranges
        of the parameters: declared ranges, signs declared on the symbols, masses >= 0."""
        _check_ranges(self, values)
        for c in self.components:
            mass = c.mass.subs(values)
            if mass.is_number and float(mass) < 0:
                raise InputError(
                    f"params: {_show(values, c.mass)} make the mass {c.mass} of the prior's "
                    f"component {c!r} negative ({float(mass):.6g})"
                )

    def _check(self):
        for c in self.components:
            if c.mass.is_number and c.mass < 0:
                raise ModelError(f"prior has a negative mass {c.mass} on {c!r}")
        total = self.mass
        if total.has(sp.Integral):
            value = _numeric(total)
            if value is None:
                raise ModelError(
                    "cannot check that the prior normalises: its density does not close "
                    "under the Gaussian rules or sympy, and it has free parameters"
                )
            if abs(value - 1) > 1e-10:
                raise ModelError(f"prior does not normalise: its total mass is {value.real:.12g}")
            return
        if total.has(sp.nan) or total.has(sp.zoo):
            raise ModelError(f"prior does not normalise: its total mass is {total}")
        if sp.simplify(total - 1) != 0:
            raise ModelError(f"prior does not normalise: its total mass is {total}, not 1")

    def __repr__(self):
        return f"Prior({list(self.components)})"


def _positive(expr):
    expr = sp.sympify(expr)
    return {expr: (0, _OO)} if expr.is_Symbol else {}


def _show(values, expr):
    used = [s for s in sp.sympify(expr).free_symbols if s in values]
    return ", ".join(f"{s} = {values[s]:.6g}" for s in sorted(used, key=str)) or "the values"


def _check_ranges(model, values):
    """The model's declared ``ranges`` against ``values`` (the signs declared on the symbols
    are checked where the values are read, by ``numerics``' ``parameter_values``)."""
    for s, lo, hi in getattr(model, "ranges", ()):
        if s in values:
            v = float(values[s])
            if not (float(lo) <= v <= float(hi)):
                raise InputError(
                    f"params: {s.name} = {v:.6g} is outside its range [{lo}, {hi}] for {model!r}"
                )
