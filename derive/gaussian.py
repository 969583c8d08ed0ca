r"""Rule-based Gaussian integration: the one engine every family closes its integrals with.

:func:`expectation` computes :math:`\mathbb{E}_{z \sim N(\mu, v)}[f(z)]` for an
integrand built from

* polynomials in ``z``,
* ``exp`` of a linear or quadratic form in ``z`` (completed into a new Gaussian),
* at most one indicator of a half-line in a linear form, ``Heaviside(a z + b)``
  (and ``sign``, rewritten through it), which becomes an integration limit,
* at most one ``Phi(a z + b)`` (the normal CDF; ``erf``/``erfc`` of a linear
  form are rewritten to it), closed by
  :math:`\mathbb{E}\,\Phi(a z + b) = \Phi\big((a\mu + b)/\sqrt{1 + a^2 v}\big)` and
  Stein's lemma for polynomial prefactors,

and returns a closed form in terms of ``exp``, ``erfc`` and powers. What the rules
do not close is left as an explicit :class:`GaussianExpectation` node, which
``numerics.compile`` lowers to quadrature. Odd integrands against a centred
Gaussian give an exact zero (parity) before anything else is tried.

Why rules and not ``sympy.integrate``: measured with sympy 1.14,
``∫ Heaviside(y z) N(z; omega, V) dz`` comes back unevaluated, the probit channel
takes more than a minute; the rules close both in milliseconds.

References
----------
Owen, "A table of normal integrals", Commun. Stat. Simul. Comput. 9, 389 (1980),
for the identities of ``Phi`` against a Gaussian.
"""

import sympy as sp

from .errors import ModelError
from .functions import GaussianExpectation, nesting_level

__all__ = [
    "Phi",
    "LogPhi",
    "expectation",
    "integrate_gaussian_weight",
    "normal_cdf",
    "normal_pdf",
    "stable_log",
]


def normal_pdf(x):
    """The standard normal density as a sympy expression."""
    return sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)


def normal_cdf(x):
    """The standard normal CDF written with ``erfc`` (accurate in the lower tail)."""
    return sp.erfc(-x / sp.sqrt(2)) / 2


class Phi(sp.Function):
    r"""The standard normal CDF :math:`\Phi(x)`, kept as a node so that the rules can see it.

    ``rewrite(sp.erfc)`` and numerical evaluation go through ``erfc``; ``simplify``
    leaves it alone.
    """

    @classmethod
    def eval(cls, x):
        if x is sp.oo:
            return sp.S.One
        if x is -sp.oo:
            return sp.S.Zero
        if x == 0:
            return sp.S.Half
        return None

    def fdiff(self, argindex=1):
        return normal_pdf(self.args[0])

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return normal_cdf(x)

    def _eval_evalf(self, prec):
        return normal_cdf(self.args[0])._eval_evalf(prec)

    def _latex(self, printer):
        return rf"\Phi\left({printer.doprint(self.args[0])}\right)"


class LogPhi(sp.Function):
    r""":math:`\log\Phi(x)`, with the stable derivative :math:`e^{-x^2/2 - \log\Phi(x)}/\sqrt{2\pi}`.

    Printed through ``log_ndtr``: finite far in the lower tail, where ``Phi``
    underflows and ``phi / Phi`` would be ``0 / 0``.
    """

    @classmethod
    def eval(cls, x):
        if x is sp.oo:
            return sp.S.Zero
        if x == 0:
            return -sp.log(2)
        return None

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sp.exp(-(x**2) / 2 - self) / sp.sqrt(2 * sp.pi)

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(normal_cdf(x))

    def _eval_evalf(self, prec):
        return sp.log(normal_cdf(self.args[0]))._eval_evalf(prec)

    def _latex(self, printer):
        return rf"\log\Phi\left({printer.doprint(self.args[0])}\right)"


def stable_log(expr):
    """``log(expr)`` with ``log(c * Phi(x)) -> log(c) + LogPhi(x)`` and ``log(exp(a)) -> a``."""
    expr = sp.powsimp(sp.sympify(expr))
    terms = []
    for factor in sp.Mul.make_args(expr):
        if isinstance(factor, Phi):
            terms.append(LogPhi(factor.args[0]))
        elif isinstance(factor, sp.exp):
            terms.append(factor.args[0])
        elif factor.is_Pow and isinstance(factor.base, Phi):
            terms.append(factor.exp * LogPhi(factor.base.args[0]))
        elif factor.is_Pow and isinstance(factor.base, sp.exp):
            terms.append(factor.exp * factor.base.args[0])
        else:
            terms.append(sp.expand_log(sp.log(factor), force=True))
    return sp.Add(*terms)


def _to_phi(expr):
    """``erf``/``erfc`` of anything, and ``sign``, rewritten through ``Phi`` and ``Heaviside``."""
    return (
        expr.replace(sp.erf, lambda x: 2 * Phi(sp.sqrt(2) * x) - 1)
        .replace(sp.erfc, lambda x: 2 * Phi(-sp.sqrt(2) * x))
        .replace(sp.sign, lambda x: 2 * sp.Heaviside(x) - 1)
    )


def _linear(expr, z):
    """``(a, b)`` with ``expr = a z + b``, or None."""
    expr = sp.expand(expr)
    if not expr.has(z) or not expr.is_polynomial(z):
        return None
    poly = sp.Poly(expr, z)
    if poly.degree() != 1:
        return None
    a, b = poly.all_coeffs()
    if a.has(z) or b.has(z):
        return None
    return a, b


def _truncated_moments(k, lo, hi):
    r""":math:`\int_{lo}^{hi} t^j \phi(t)\, dt` for ``j = 0..k``, by the usual recursion."""

    def edge(t, j):
        if t in (sp.oo, -sp.oo):
            return sp.S.Zero
        return t**j * normal_pdf(t)

    if hi is sp.oo:  # Phi(-lo), not 1 - Phi(lo): no cancellation in the upper tail
        mass = Phi(-lo) if lo is not -sp.oo else sp.S.One
    else:
        mass = Phi(hi) - (Phi(lo) if lo is not -sp.oo else 0)
    moments = [mass, edge(lo, 0) - edge(hi, 0)]
    for j in range(2, k + 1):
        moments.append((j - 1) * moments[j - 2] + edge(lo, j - 1) - edge(hi, j - 1))
    return moments[: k + 1]


class _Term:
    """One product: ``coeff * z**k * exp(c2 z^2 + c1 z) * [indicator] * [Phi]``."""

    def __init__(self, z):
        self.z = z
        self.coeff, self.power, self.exponent = sp.S.One, 0, sp.S.Zero
        self.step = None  # (a, b): Heaviside(a z + b)
        self.phi = None  # (a, b): Phi(a z + b)

    @classmethod
    def parse(cls, term, z):
        t = cls(z)
        for factor in sp.Mul.make_args(term):
            if not factor.has(z):
                t.coeff *= factor
                continue
            base, e = factor.as_base_exp()
            if base == z and e.is_Integer and e >= 0:
                t.power += int(e)
            elif isinstance(factor, sp.exp) or (isinstance(base, sp.exp) and not e.has(z)):
                arg = factor.args[0] if isinstance(factor, sp.exp) else base.args[0] * e
                if not sp.expand(arg).is_polynomial(z):
                    return None
                poly = sp.Poly(sp.expand(arg), z)
                if poly.degree() > 2 or any(c.has(z) for c in poly.all_coeffs()):
                    return None
                t.exponent += sp.expand(arg)
            elif isinstance(factor, sp.Heaviside) and e == 1 and t.step is None:
                lin = _linear(factor.args[0], z)
                if lin is None:
                    return None
                t.step = lin
            elif isinstance(factor, Phi) and e == 1 and t.phi is None:
                lin = _linear(factor.args[0], z)
                if lin is None:
                    return None
                t.phi = lin
            else:
                return None
        return t


def _complete_square(term, mean, var):
    """Absorb ``exp(c2 z^2 + c1 z)`` into the Gaussian: new (mean, var) and a prefactor."""
    z = term.z
    poly = sp.Poly(term.exponent, z) if term.exponent != 0 else None
    c2, c1 = (poly.coeff_monomial(z**2), poly.coeff_monomial(z)) if poly else (0, 0)
    c0 = poly.coeff_monomial(1) if poly else 0
    precision = 1 / var - 2 * c2
    new_var = sp.simplify(1 / precision)
    new_mean = sp.simplify(new_var * (mean / var + c1))
    prefactor = sp.sqrt(new_var / var) * sp.exp(
        sp.simplify(new_mean**2 / (2 * new_var) - mean**2 / (2 * var) + c0)
    )
    return new_mean, new_var, prefactor


def _polynomial_against(k, mean, var, step):
    r""":math:`\mathbb{E}[z^k\, \Theta(a z + b)]` for :math:`z \sim N(\mu, v)` (no indicator: plain moments)."""
    s = sp.sqrt(var)
    if step is None:
        lo, hi, sgn = -sp.oo, sp.oo, 1
    else:
        a, b = step
        # Theta(a z + b) = Theta(sgn * z + b / |a|) with sgn = a / |a|; in u = sgn * z
        # (u ~ N(sgn mu, v)) the event is u > -b / |a|.
        sgn = sp.simplify(a / sp.Abs(a))
        lo, hi = sp.simplify((-b / sp.Abs(a) - sgn * mean) / s), sp.oo
        mean = sgn * mean
    moments = _truncated_moments(k, lo, hi)
    # E[u^k; event] with u = mean + s t
    total = sp.Add(*[sp.binomial(k, j) * mean ** (k - j) * s**j * moments[j] for j in range(k + 1)])
    return sp.expand(sgn**k * total) if step is not None else total


def _phi_against(k, mean, var, lin):
    r""":math:`\mathbb{E}[z^k \Phi(a z + b)]`, by Stein's lemma down to :math:`\mathbb{E}\,\Phi = \Phi(\cdot)`."""
    a, b = lin
    if k == 0:
        return Phi((a * mean + b) / sp.sqrt(1 + a**2 * var))
    z = _fresh_variable("z_stein", (a, b, mean, var))
    # E[z g(z)] = mean E[g] + var E[g'], g = z^(k-1) Phi(a z + b)
    first = mean * _phi_against(k - 1, mean, var, lin)
    derivative = sp.expand(sp.diff(z ** (k - 1) * Phi(a * z + b), z))
    return first + var * expectation(derivative, z, mean, var)


def _close_term(term, mean, var):
    mean, var, prefactor = _complete_square(term, mean, var)
    if term.step is not None and term.phi is not None:
        return None  # Theta * Phi: Owen's T territory, left to quadrature
    if term.phi is not None:
        core = _phi_against(term.power, mean, var, term.phi)
    else:
        core = _polynomial_against(term.power, mean, var, term.step)
    return term.coeff * prefactor * core


def _distribute(expr):
    """Products over sums and positive integer powers of sums multiplied out, recursively
    through sums and products only: denominators, exponents and function arguments are
    left alone. (sympy's ``expand`` goes into denominators too, and turned the stable
    ``(c e^{-u})^2 / D`` into ``1 / (D e^{2u})``, which overflows.)"""
    if expr.is_Add:
        return sp.Add(*[_distribute(a) for a in expr.args])
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 1 and expr.base.is_Add:
        return _distribute(sp.expand_multinomial(expr, deep=False))
    if expr.is_Mul:
        factors = [_distribute(f) if (f.is_Add or f.is_Mul or f.is_Pow) else f for f in expr.args]
        product = sp.expand_mul(sp.Mul(*factors), deep=False)
        return (
            product
            if not product.is_Add
            else sp.Add(
                *[
                    t if t.is_Mul and not any(f.is_Add for f in t.args) else _distribute(t)
                    for t in product.args
                ]
            )
        )
    return expr


def _fresh_variable(name, exprs):
    """A real symbol ``name`` (primed as needed) whose name occurs nowhere in ``exprs``, as a
    free symbol or as a variable bound by an expectation there: deterministic, so that
    equal derivations give equal equations, hence equal cache keys."""
    taken = {s.name for e in exprs for s in sp.sympify(e).atoms(sp.Symbol)}
    while name in taken:
        name += "'"
    return sp.Symbol(name, real=True)


def _odd(expr, z):
    """``expr(-z) == -expr(z)``: a cheap numerical screen at two points, then sympy.

    An integrand with ``z`` inside an expectation is not screened (evaluating it would
    be a quadrature): it is treated as not odd, and left to quadrature.
    """
    if any(z in node.free_symbols for node in expr.atoms(GaussianExpectation)):
        return False
    parity = expr.subs(z, -z) + expr
    others = sorted(parity.free_symbols - {z}, key=str)
    for point in (sp.Rational(3, 7), sp.Rational(-5, 11)):
        values = {s: sp.Rational(2 + k, 3 + 2 * k) for k, s in enumerate(others)}
        values[z] = point
        try:
            value = complex(parity.subs(values).evalf(30))
        except (TypeError, ValueError):
            return False
        if abs(value) > 1e-20:
            return False
    return sp.simplify(parity) == 0


def expectation(expr, z, mean=0, var=1):
    r""":math:`\mathbb{E}_{z \sim N(\mu, v)}[f(z)]`: a closed form when the rules close it.

    Parameters
    ----------
    expr : sympy expression in ``z``
    z : Symbol
    mean, var : sympy expressions
        ``var`` must be positive (as a symbol: declare it ``positive=True``).

    Returns
    -------
    sympy expression
        Closed form, or one containing :class:`GaussianExpectation` nodes for
        the terms that did not close.

    Examples
    --------
    >>> import sympy as sp
    >>> y, z, w = sp.symbols("y z omega", real=True)
    >>> V = sp.Symbol("V", positive=True)
    >>> expectation(sp.Heaviside(y * z), z, w, V)
    Phi(omega*y/(sqrt(V)*Abs(y)))
    >>> expectation(Phi(z), z, w, V)
    Phi(omega/sqrt(V + 1))
    >>> expectation(z**3, z)
    0
    """
    mean, var = sp.sympify(mean), sp.sympify(var)
    expr = _distribute(_to_phi(sp.sympify(expr)))
    if not expr.has(z):
        return expr
    if mean == 0 and _odd(expr, z):
        return sp.S.Zero  # parity
    closed, left = [], []
    for term in sp.Add.make_args(expr):
        parsed = _Term.parse(term, z)
        value = _close_term(parsed, mean, var) if parsed is not None else None
        (closed if value is not None else left).append(value if value is not None else term)
    result = sp.Add(*closed)
    if left:  # exponentials out of denominators: 1/(D e^{u}) -> e^{-u}/D, which cannot overflow
        rest = sp.Add(*[sp.powsimp(sp.factor_terms(t)) for t in left])
        # one fresh variable per nesting level: t, then t_2 around expectations in t, ...
        level = 1 + nesting_level(rest)
        t = _fresh_variable("t" if level == 1 else f"t_{level}", (rest, mean, var))
        rest = rest.subs(z, mean + sp.sqrt(var) * t)
        result += GaussianExpectation(rest, t)
    return result


def integrate_gaussian_weight(expr, w, precision, linear):
    r""":math:`\int dw\, f(w)\, e^{-A w^2/2 + B w}` for densities ``f`` built like the integrands
    of :func:`expectation` (polynomials, exponentials of quadratics, one indicator, one ``Phi``).

    Rewritten as :math:`\sqrt{2\pi/A}\, e^{B^2/(2A)}\, \mathbb{E}_{w \sim N(B/A, 1/A)} f(w)`.
    This is the input partition function :math:`Z_0(A, B)` of a continuous prior.
    """
    precision, linear = sp.sympify(precision), sp.sympify(linear)
    if precision == 0:
        raise ModelError("the Gaussian weight needs a positive precision A")
    mean, var = linear / precision, 1 / precision
    return (
        sp.sqrt(2 * sp.pi * var)
        * sp.exp(linear**2 / (2 * precision))
        * expectation(expr, w, mean, var)
    )
