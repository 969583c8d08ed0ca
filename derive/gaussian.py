r"""Rule-based Gaussian integration: the one engine every family closes its integrals with.

:func:`expectation` computes :math:`\mathbb{E}_{z \sim N(\mu, v)}[f(z)]` for an
integrand built from

* polynomials in ``z``,
* ``exp`` of a linear or quadratic form in ``z`` (completed into a new Gaussian),
* indicators of half-lines and intervals in a linear form, ``Heaviside(a z + b)``
  (and ``sign``, rewritten through it; ``Max``, ``Min``, ``Abs`` and ``Piecewise`` in
  ``z``, folded and split into ``piece * (Theta(z - lo) - Theta(z - hi))``), which become
  integration limits; products of Heavisides with comparable thresholds are merged,
* ``Phi(a z + b)`` (the normal CDF; ``erf``/``erfc`` of a linear form are rewritten to
  it), closed by
  :math:`\mathbb{E}\,\Phi(a z + b) = \Phi\big((a\mu + b)/\sqrt{1 + a^2 v}\big)` and
  Stein's lemma for polynomial prefactors,
* products of two or three factors ``Phi`` / ``Heaviside`` of centred linear forms, as
  orthant probabilities of a Gaussian vector (``Phi(l) = P(xi <= l)`` with an independent
  standard ``xi``): Sheppard's :math:`1/4 + \arcsin\rho/(2\pi)` and its trivariate form,
* ``DiracDelta(a z + b)`` (from Stein's lemma on a Heaviside), by evaluation,

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


def _indicator(cond):
    """A condition on linear forms as a product/sum of ``Heaviside`` factors."""
    if cond is sp.true:
        return sp.S.One
    if cond is sp.false:
        return sp.S.Zero
    if isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan)):
        return sp.Heaviside(cond.lhs - cond.rhs)
    if isinstance(cond, (sp.StrictLessThan, sp.LessThan)):
        return sp.Heaviside(cond.rhs - cond.lhs)
    if isinstance(cond, sp.And):
        return sp.Mul(*[_indicator(c) for c in cond.args])
    if isinstance(cond, sp.Or):
        return 1 - sp.Mul(*[1 - _indicator(c) for c in cond.args])
    if isinstance(cond, sp.Not):
        return 1 - _indicator(cond.args[0])
    raise ModelError(f"cannot turn the condition {cond} into an indicator of linear forms")


def _interval_indicator(interval, z):
    """``Theta(z - lo) - Theta(z - hi)`` (or one Heaviside for a half-line) for an interval."""
    lo, hi = interval.start, interval.end
    if lo is -sp.oo and hi is sp.oo:
        return sp.S.One
    if lo is -sp.oo:
        return sp.Heaviside(hi - z)
    if hi is sp.oo:
        return sp.Heaviside(z - lo)
    return sp.Heaviside(z - lo) - sp.Heaviside(z - hi)


def _piecewise_sum(pw, z):
    """A ``Piecewise`` as a sum of ``piece * indicator`` (first true condition wins).

    Conditions in ``z`` alone become intervals (``cond.as_set()``, minus the earlier
    pieces), each piece times ``Theta(z - lo) - Theta(z - hi)`` so that every term carries
    one indicator; other conditions become products of Heavisides of their linear forms.
    """
    pieces = pw.args
    if all(c.free_symbols <= {z} for _, c in pieces):
        terms, taken = [], sp.S.EmptySet
        for e, c in pieces:
            region = sp.Intersection(c.as_set(), sp.Complement(sp.S.Reals, taken))
            taken = sp.Union(taken, c.as_set())
            parts = region.args if isinstance(region, sp.Union) else (region,)
            for part in parts:
                if part is sp.S.EmptySet or isinstance(part, sp.FiniteSet):
                    continue  # points have measure zero
                if not isinstance(part, sp.Interval):
                    raise ModelError(f"cannot split {pw} into intervals of {z}")
                terms.append(e * _interval_indicator(part, z))
        return sp.Add(*terms)
    terms, before = [], sp.S.One
    for e, c in pieces:
        terms.append(e * _indicator(c) * before)
        before *= 1 - _indicator(c)
    return sp.Add(*terms)


def _to_indicators(expr, z):
    r"""``Max``, ``Min``, ``Abs`` and ``Piecewise`` in ``z`` rewritten to Heaviside indicators.

    The integrand is folded first (``piecewise_fold``), so that ``f(z)^2`` of a piecewise
    ``f`` stays one ``Piecewise`` and each piece becomes ``piece(z) * (Theta(z - lo) -
    Theta(z - hi))``: one indicator per term, which the indicator-to-limit rule closes.
    """
    if not expr.has(sp.Max, sp.Min, sp.Abs, sp.Piecewise):
        return expr

    def rewrite(node):
        return node.rewrite(sp.Piecewise) if node.has(z) else node

    expr = expr.replace(lambda e: isinstance(e, (sp.Max, sp.Min, sp.Abs)) and e.has(z), rewrite)
    if not expr.has(sp.Piecewise):
        return expr
    expr = sp.piecewise_fold(expr)
    return expr.replace(
        lambda e: isinstance(e, sp.Piecewise) and e.has(z), lambda e: _piecewise_sum(e, z)
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
        self.steps = []  # (a, b): Heaviside(a z + b), each
        self.phis = []  # (a, b): Phi(a z + b), each
        self.delta = None  # (a, b): DiracDelta(a z + b)

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
            elif isinstance(base, (sp.Heaviside, Phi)) and e.is_Integer and e >= 1:
                lin = _linear(base.args[0], z)
                if lin is None:
                    return None
                if isinstance(base, Phi):
                    t.phis += [lin] * int(e)  # Phi^2 is two independent events
                elif lin not in t.steps:
                    t.steps.append(lin)  # Heaviside^n = Heaviside
            elif isinstance(factor, sp.DiracDelta) and len(factor.args) == 1 and t.delta is None:
                lin = _linear(factor.args[0], z)
                if lin is None:
                    return None
                t.delta = lin
            else:
                return None
        return t

    def rebuilt(self, power=None):
        """The term's factors other than the coefficient and the exponential, as sympy."""
        z = self.z
        k = self.power if power is None else power
        return (
            z**k
            * sp.Mul(*[sp.Heaviside(a * z + b) for a, b in self.steps])
            * sp.Mul(*[Phi(a * z + b) for a, b in self.phis])
        )


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


def _merge_steps(steps):
    """Heaviside factors of one variable merged into at most two (an interval), ``[]`` for
    none, None when they cannot be compared (a slope or threshold of unknown sign), or
    ``"empty"`` when the interval is empty (the product vanishes almost everywhere)."""
    if len(steps) <= 1:
        return list(steps)
    lows, highs = [], []
    for a, b in steps:
        if a.is_positive:
            lows.append(sp.simplify(-b / a))
        elif a.is_negative:
            highs.append(sp.simplify(-b / a))
        else:
            return None
    lo = sp.Max(*lows) if lows else None
    hi = sp.Min(*highs) if highs else None
    if isinstance(lo, sp.Max) or isinstance(hi, sp.Min):
        return None  # thresholds not comparable
    if lo is not None and hi is not None:
        gap = sp.simplify(hi - lo)
        if gap.is_nonpositive:
            return "empty"
        if not gap.is_positive:
            return None
    merged = []
    if lo is not None:
        merged.append((sp.S.One, -lo))
    if hi is not None:
        merged.append((-sp.S.One, hi))
    return merged


def _orthant(cov):
    r""":math:`P(X_1 \ge 0, \dots, X_n \ge 0)` for a centred Gaussian vector, ``n <= 3``.

    .. math:: P_2 = \frac14 + \frac{\arcsin\rho_{12}}{2\pi}, \qquad
              P_3 = \frac18 + \frac{\arcsin\rho_{12} + \arcsin\rho_{13}
              + \arcsin\rho_{23}}{4\pi}

    (Sheppard's formula and its trivariate form; Owen 1980, eqs. 10,010.1 and 10,030.1).
    Returns None for four or more events (no elementary closed form).
    """
    n = cov.shape[0]
    if n == 0:
        return sp.S.One
    if n == 1:
        return sp.S.Half
    if n > 3:
        return None

    def rho(i, j):
        return cov[i, j] / sp.sqrt(cov[i, i] * cov[j, j])

    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    total = sp.Add(*[sp.asin(rho(i, j)) for i, j in pairs])
    return sp.Rational(1, 2**n) + total / (2 ** (n - 1) * sp.pi)


def _events_orthant(events):
    """Orthant probability of events ``(kind, slopes, offset)`` of a standard Gaussian
    vector ``t`` (slopes a tuple, one per component of ``t``): ``kind == "step"`` is
    ``slopes . t + offset >= 0``, ``kind == "phi"`` is ``slopes . t + offset >= xi`` with an
    independent standard ``xi`` (so that ``E Phi(l) = P(xi <= l)``). Only centred events
    (every offset zero) close; None otherwise."""
    if any(sp.simplify(offset) != 0 for _, _, offset in events):
        return None
    n = len(events)
    cov = sp.zeros(n, n)
    for i, (kind_i, a_i, _) in enumerate(events):
        for j, (_, a_j, _) in enumerate(events):
            cov[i, j] = sp.Add(*[x * y for x, y in zip(a_i, a_j)])
        if kind_i == "phi":
            cov[i, i] += 1
    return _orthant(cov)


def _close_term(term, mean, var):
    mean, var, prefactor = _complete_square(term, mean, var)
    z = term.z
    if term.delta is not None:
        # E[delta(a z + b) f(z)] = f(z0) N(z0; mean, var) / |a|,  z0 = -b / a
        a, b = term.delta
        z0 = -b / a
        density = sp.exp(-((z0 - mean) ** 2) / (2 * var)) / sp.sqrt(2 * sp.pi * var)
        return term.coeff * prefactor * term.rebuilt().subs(z, z0) * density / sp.Abs(a)
    steps = _merge_steps(term.steps)
    if steps == "empty":
        return sp.S.Zero
    if steps is None:
        steps = term.steps
    phis = term.phis
    if not phis and len(steps) <= 1:
        core = _polynomial_against(term.power, mean, var, steps[0] if steps else None)
    elif not phis and _is_interval(steps):
        core = _polynomial_interval(term.power, mean, var, -steps[0][1], steps[1][1])
    elif len(phis) == 1 and not steps:
        core = _phi_against(term.power, mean, var, phis[0])
    elif term.power > 0:
        # Stein's lemma: E[z h] = mean E[h] + var E[h'], h' brings phi (absorbed) or delta
        h = term.rebuilt(power=term.power - 1)
        core = mean * expectation(h, z, mean, var) + var * expectation(sp.diff(h, z), z, mean, var)
    else:
        s = sp.sqrt(var)
        events = [("step", (a * s,), a * mean + b) for a, b in steps]
        events += [("phi", (a * s,), a * mean + b) for a, b in phis]
        core = _events_orthant(events)
        if core is None:
            return None  # offsets: bivariate normal CDF / Owen's T, left to quadrature
    return term.coeff * prefactor * core


def _is_interval(steps):
    return len(steps) == 2 and steps[0][0] == 1 and steps[1][0] == -1


def _polynomial_interval(k, mean, var, lo, hi):
    r""":math:`\mathbb{E}[z^k; lo < z < hi]` for :math:`z \sim N(\mu, v)`."""
    s = sp.sqrt(var)
    moments = _truncated_moments(k, sp.simplify((lo - mean) / s), sp.simplify((hi - mean) / s))
    return sp.Add(*[sp.binomial(k, j) * mean ** (k - j) * s**j * moments[j] for j in range(k + 1)])


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
    expr = _distribute(_to_phi(_to_indicators(sp.sympify(expr), z)))
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
