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

from .errors import InputError, ModelError
from .functions import GaussianExpectation, nesting_level

__all__ = [
    "Phi",
    "LogPhi",
    "expectation",
    "integrate_gaussian_weight",
    "multivariate_expectation",
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


def _piecewise_by_breakpoints(pieces, z):
    """The intervals of a ``Piecewise`` in ``z`` alone from its breakpoints: the real roots
    of the conditions' relations, sorted; on each interval between them the first piece
    whose condition holds at the midpoint wins (adjacent intervals of one piece merged).
    None when a breakpoint is not a real number. (Much faster than sympy's set algebra.)"""
    points = set()
    for _, c in pieces:
        for rel in c.atoms(sp.core.relational.Relational):
            try:
                roots = sp.solve(rel.lhs - rel.rhs, z)
            except NotImplementedError:
                return None
            for r in roots:
                if not (r.is_real and r.is_number):
                    return None
                points.add(r)
    points = sorted(points, key=lambda r: float(r))
    edges = [-sp.oo] + points + [sp.oo]
    owner = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if lo is -sp.oo:
            mid = hi - 1 if hi is not sp.oo else sp.S.Zero
        else:
            mid = lo + 1 if hi is sp.oo else (lo + hi) / 2
        for k, (_, c) in enumerate(pieces):
            truth = c.subs(z, mid) if c not in (sp.true, True) else sp.true
            if truth not in (sp.true, sp.false):
                return None
            if truth is sp.true:
                owner.append(k)
                break
        else:
            owner.append(None)  # no piece: Piecewise is undefined there (nan); skip
    terms, start = [], 0
    for i in range(1, len(owner) + 1):
        if i == len(owner) or owner[i] != owner[start]:
            if owner[start] is not None:
                interval = sp.Interval(edges[start], edges[i])
                terms.append(pieces[owner[start]][0] * _interval_indicator(interval, z))
            start = i
    return sp.Add(*terms)


def _piecewise_sum(pw, z):
    """A ``Piecewise`` as a sum of ``piece * indicator`` (first true condition wins).

    Conditions in ``z`` alone become intervals (``cond.as_set()``, minus the earlier
    pieces), each piece times ``Theta(z - lo) - Theta(z - hi)`` so that every term carries
    one indicator; other conditions become products of Heavisides of their linear forms.
    """
    pieces = pw.args
    if all(c.free_symbols <= {z} for _, c in pieces):
        fast = _piecewise_by_breakpoints(pieces, z)
        if fast is not None:
            return fast
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

    def splittable(node):
        return isinstance(node, sp.Piecewise) and node.has(z) and _splittable(node, z)

    expr = expr.replace(
        lambda e: (
            isinstance(e, (sp.Max, sp.Min, sp.Abs))
            and e.has(z)
            and _splittable(e.rewrite(sp.Piecewise), z)
        ),
        lambda e: e.rewrite(sp.Piecewise),
    )
    if not any(splittable(p) for p in expr.atoms(sp.Piecewise)):
        return expr
    expr = sp.piecewise_fold(expr)
    return expr.replace(splittable, lambda e: _piecewise_sum(e, z))


def _splittable(pw, z):
    """Whether the indicator rules take ``pw``: its conditions are in ``z`` alone (numeric
    breakpoints: ReLU, hinges, ``abs``, ``sign`` of the variable). Anything else is kept as a
    ``Piecewise``: the branch choice of a stable log-sum-exp (quadratic in ``z``, symbolic
    coefficients), split into indicators, evaluated every branch everywhere (``inf * 0``
    made the Gauss-Bernoulli state evolution NaN), and the ``Abs`` of a Laplace prior's
    field, split, made its state-evolution derivation run for minutes instead of seconds."""
    if not isinstance(pw, sp.Piecewise):
        return False
    return all(c.free_symbols <= {z} for _, c in pw.args)


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
    if term.exponent == 0:
        return mean, var, sp.S.One
    poly = sp.Poly(term.exponent, z)
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
    Four events have no elementary closed form: :func:`_orthant4` leaves a smooth
    one-dimensional integral. Returns None for five or more.
    """
    n = cov.shape[0]
    if n == 0:
        return sp.S.One
    if n == 1:
        return sp.S.Half
    if n == 4:
        return _orthant4(cov)
    if n > 4:
        return None

    def rho(i, j):
        return cov[i, j] / sp.sqrt(cov[i, i] * cov[j, j])

    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    total = sp.Add(*[sp.asin(rho(i, j)) for i, j in pairs])
    return sp.Rational(1, 2**n) + total / (2 ** (n - 1) * sp.pi)


_S = sp.Symbol("s_plackett", positive=True)
_R4 = sp.Matrix(4, 4, lambda i, j: 1 if i == j else sp.Symbol(f"r_{min(i, j)}{max(i, j)}"))


def _orthant4_integrand():
    r""":math:`dP_4/ds` along :math:`R(s) = I + s(R - I)`, generic in the correlations.

    Plackett's identity, :math:`\partial P / \partial r_{ij} = \phi_2(0, 0; r_{ij})\,
    P(X_k \ge 0, X_l \ge 0 \mid X_i = X_j = 0)`, with the conditional bivariate orthant
    in Sheppard's form (Plackett, Biometrika 41, 351 (1954); Owen 1980).
    """
    Rs = sp.eye(4) + _S * (_R4 - sp.eye(4))
    total = []
    for i in range(4):
        for j in range(i + 1, 4):
            B = [i, j]
            A = [k for k in range(4) if k not in B]
            cond = Rs.extract(A, A) - Rs.extract(A, B) * Rs.extract(B, B).inv() * Rs.extract(B, A)
            rho = cond[0, 1] / sp.sqrt(cond[0, 0] * cond[1, 1])
            r = _R4[i, j]
            total.append(
                r
                / (2 * sp.pi * sp.sqrt(1 - _S**2 * r**2))
                * (sp.S(1) / 4 + sp.asin(rho) / (2 * sp.pi))
            )
    return sp.Add(*total)


_ORTHANT4 = []


def _orthant4(cov):
    r""":math:`P(X_1 \ge 0, \dots, X_4 \ge 0) = \frac{1}{16} + \int_0^1 \frac{dP_4}{ds} ds`
    (:func:`_orthant4_integrand`), the integral written as
    :math:`\mathbb{E}_t\, f(\Phi(t))`: a one-dimensional :class:`GaussianExpectation` of a
    smooth integrand, which the trapezoidal rule resolves to near machine precision."""
    if not _ORTHANT4:
        _ORTHANT4.append(_orthant4_integrand())
    rho = {
        _R4[i, j]: cov[i, j] / sp.sqrt(cov[i, i] * cov[j, j])
        for i in range(4)
        for j in range(i + 1, 4)
    }
    body = _ORTHANT4[0].xreplace(rho)
    t = _fresh_variable("t", (body,))
    return sp.Rational(1, 16) + GaussianExpectation(body.xreplace({_S: Phi(t)}), t)


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


# --- multivariate expectations ---------------------------------------------------------


def _tidy(expr):
    """One rational function (``cancel``): much cheaper than ``factor`` on covariances."""
    return sp.cancel(expr)


def _cheap(expr):
    """A polynomial over a polynomial with the common factor of a zero numerator removed."""
    num, den = sp.fraction(sp.together(expr))
    num = sp.expand(num)
    return sp.S.Zero if num == 0 else num / den


def _linear_mv(expr, zs):
    """``(a, b)`` with ``expr = a . zs + b`` (``a`` a tuple), or None."""
    expr = sp.expand(expr)
    if not expr.is_polynomial(*zs):
        return None
    poly = sp.Poly(expr, *zs)
    if poly.total_degree() != 1:
        return None
    a = tuple(poly.coeff_monomial(z) for z in zs)
    b = poly.coeff_monomial(1)
    return a, b


def _quadratic_mv(expr, zs):
    """``(A, h, c)`` with ``expr = z^T A z + h . z + c`` (``A`` symmetric), or None."""
    expr = sp.expand(expr)
    if not expr.is_polynomial(*zs):
        return None
    poly = sp.Poly(expr, *zs)
    if poly.total_degree() > 2:
        return None
    n = len(zs)
    A = sp.zeros(n, n)
    for i in range(n):
        A[i, i] = poly.coeff_monomial(zs[i] ** 2)
        for j in range(i + 1, n):
            A[i, j] = A[j, i] = poly.coeff_monomial(zs[i] * zs[j]) / 2
    h = sp.Matrix([poly.coeff_monomial(z) for z in zs])
    return A, h, poly.coeff_monomial(1)


class _MvTerm:
    """One product ``coeff * prod z_i^k_i * exp(quadratic) * steps * phis * deltas * other``."""

    def __init__(self, zs):
        self.zs = zs
        self.coeff = sp.S.One
        self.powers = [0] * len(zs)
        self.exponent = sp.S.Zero
        self.steps, self.phis, self.deltas, self.other = [], [], [], []

    @classmethod
    def parse(cls, term, zs):
        t = cls(zs)
        index = {z: i for i, z in enumerate(zs)}
        for factor in sp.Mul.make_args(term):
            if not factor.has(*zs):
                t.coeff *= factor
                continue
            base, e = factor.as_base_exp()
            if base in index and e.is_Integer and e >= 0:
                t.powers[index[base]] += int(e)
                continue
            if isinstance(factor, sp.exp) or (isinstance(base, sp.exp) and not e.has(*zs)):
                arg = factor.args[0] if isinstance(factor, sp.exp) else base.args[0] * e
                if _quadratic_mv(arg, zs) is not None:
                    t.exponent += arg
                    continue
            elif isinstance(base, (sp.Heaviside, Phi)) and e.is_Integer and e >= 1:
                lin = _linear_mv(base.args[0], zs)
                if lin is not None:
                    if isinstance(base, Phi):
                        t.phis += [lin] * int(e)
                    elif lin not in t.steps:
                        t.steps.append(lin)
                    continue
            elif isinstance(factor, sp.DiracDelta) and len(factor.args) == 1:
                lin = _linear_mv(factor.args[0], zs)
                if lin is not None:
                    t.deltas.append(lin)
                    continue
            t.other.append(factor)
        return t

    def rebuilt(self, powers=None, deltas=None, exponent=True):
        """The term (without its coefficient) as sympy."""
        zs = self.zs

        def form(lin):
            return sp.Add(*[a * z for a, z in zip(lin[0], zs)]) + lin[1]

        powers = self.powers if powers is None else powers
        deltas = self.deltas if deltas is None else deltas
        return (
            sp.Mul(*[z**k for z, k in zip(zs, powers)])
            * (sp.exp(self.exponent) if exponent else 1)
            * sp.Mul(*[sp.Heaviside(form(s)) for s in self.steps])
            * sp.Mul(*[Phi(form(p)) for p in self.phis])
            * sp.Mul(*[sp.DiracDelta(form(d)) for d in deltas])
            * sp.Mul(*self.other)
        )


def _absorb(exponent, zs, cov, mean):
    r"""Absorb :math:`e^{z^T A z + h\cdot z + c}` into :math:`N(\mu, C)`.

    With :math:`M = -2A` supported on the variables ``S`` of the quadratic part (Woodbury,
    no inverse of ``C``): :math:`K = (I + C_{SS} M_{SS})^{-1}`,
    :math:`C' = C - C_{:S} M_{SS} K C_{S:}`,
    :math:`\mu' = \mu - C_{:S} M_{SS} K \mu_S + C' h`, and
    :math:`\mathbb{E}\,e^{z^TAz + h\cdot z + c} = \det(I + C_{SS}M_{SS})^{-1/2}
    \exp\{c + \tfrac12[h\cdot(\mu - C_{:S}M_{SS}K\mu_S) + \mu'\cdot h
    - \mu_S^T K^T M_{SS} \mu_S]\}`.
    Returns ``(cov', mean', prefactor)``.
    """
    A, h, c = _quadratic_mv(exponent, zs)
    n = len(zs)
    S = [i for i in range(n) if any(A[i, j] != 0 for j in range(n))]
    if not S:
        new_mean = mean + cov * h
        value = c + (h.T * mean)[0] + (h.T * cov * h)[0] / 2
        return cov, new_mean.applyfunc(sp.simplify), sp.exp(sp.simplify(value))
    M = (-2 * A).extract(S, S)
    CS = cov.extract(list(range(n)), S)
    D = sp.eye(len(S)) + cov.extract(S, S) * M
    det = sp.expand(D.det())
    # K = adj(D) / det: polynomial numerators over one common denominator (cancel on
    # every entry of a symbolic 4 x 4 covariance cost seconds)
    adj = D.adjugate() if len(S) > 1 else sp.Matrix([[1]])
    K = adj / det
    CMA = CS * M * adj
    new_cov = ((cov * det - CMA * CS.T).applyfunc(sp.expand) / det).applyfunc(_cheap)
    mean_S = mean.extract(S, [0])
    shifted = mean - CMA * mean_S / det
    new_mean = (shifted + new_cov * h).applyfunc(_cheap)
    value = c + ((h.T * shifted)[0] + (new_mean.T * h)[0] - (mean_S.T * K.T * M * mean_S)[0]) / 2
    if det.is_nonpositive:
        raise ModelError(f"exp({exponent}) is not integrable against the Gaussian (det {det} <= 0)")
    return new_cov, new_mean, sp.exp(_tidy(value)) / sp.sqrt(det)


def _condition(lin, zs, cov, mean):
    r"""Condition ``z ~ N(mean, cov)`` on :math:`a\cdot z + b = 0`.

    Returns ``(density, pivot, value, rest, cov', mean')``: the density of
    :math:`s = a\cdot z` at :math:`-b`, the eliminated variable and its value in the
    others, the remaining variables and their conditional law
    :math:`N(\mu_r + C_{ra}(s_0 - a\cdot\mu)/v_s,\; C_{rr} - C_{ra}C_{ar}/v_s)`.
    """
    a, b = lin
    n = len(zs)
    nonzero = [i for i in range(n) if a[i] != 0]
    numeric = [i for i in nonzero if a[i].is_number]
    k = (numeric or nonzero)[-1]
    av = sp.Matrix(a)
    s0 = -b
    var_s = _tidy((av.T * cov * av)[0])
    mean_s = (av.T * mean)[0]
    density = sp.exp(-((s0 - mean_s) ** 2) / (2 * var_s)) / sp.sqrt(2 * sp.pi * var_s)
    rest = [i for i in range(n) if i != k]
    Ca = cov * av
    new_mean = sp.Matrix([_tidy(mean[i] + Ca[i] * (s0 - mean_s) / var_s) for i in rest])
    new_cov = sp.Matrix(
        len(rest),
        len(rest),
        lambda p, q: _tidy(cov[rest[p], rest[q]] - Ca[rest[p]] * Ca[rest[q]] / var_s),
    )
    value = (s0 - sp.Add(*[a[i] * zs[i] for i in rest])) / a[k]
    return density, zs[k], value, tuple(zs[i] for i in rest), new_cov, new_mean


_RULE_FUNCTIONS = (
    sp.exp,
    sp.Heaviside,
    Phi,
    sp.DiracDelta,
    sp.erf,
    sp.erfc,
    sp.sign,
    sp.Abs,
    sp.Max,
    sp.Min,
    sp.Piecewise,
)


def _may_close(expr, t):
    """False when ``expr`` holds a function of ``t`` that no rule of :func:`expectation`
    handles (``tanh``, ``log``...): then the 1-D engine would only rewrite it into a node."""
    for f in expr.atoms(sp.Function):
        if t in f.free_symbols and not isinstance(f, _RULE_FUNCTIONS):
            return False
    return True


def _cholesky(cov):
    r"""The lower-triangular :math:`L` with :math:`L L^T = C`, valid for a singular :math:`C`
    too: each pivot (a conditional variance, which rounding can push below 0 when two fields
    become proportional, as a student unit that has learned its teacher unit) is
    :math:`\sqrt{\max(v, 0)}`, and a column whose pivot vanishes is 0 (the standard
    positive-semidefinite factor; :math:`C_{ij} = \sum_k L_{ik}L_{jk}` still holds)."""
    n = cov.shape[0]
    L = sp.zeros(n, n)
    for j in range(n):
        v = _tidy(cov[j, j] - sp.Add(*[L[j, k] ** 2 for k in range(j)]))
        pivot = sp.sqrt(v) if v.is_positive else sp.sqrt(sp.Max(v, 0))
        L[j, j] = pivot
        for i in range(j + 1, n):
            num = _tidy(cov[i, j] - sp.Add(*[L[i, k] * L[j, k] for k in range(j)]))
            L[i, j] = (
                num / pivot if v.is_positive else sp.Piecewise((num / pivot, v > 0), (0, True))
            )
    return L


def _cholesky_fallback(expr, zs, cov, mean):
    r"""What the rules do not close: :math:`z = \mu + L t` (:math:`C = L L^T`), then the 1-D
    engine on :math:`t_n, t_{n-1}, \dots` (``t_n`` enters only :math:`z_n`) while it closes;
    the variables left are kept in one multivariate :class:`GaussianExpectation` node
    (one tensor-product quadrature: nested one-dimensional nodes would each take the 1-D
    rule's node count)."""
    body, ts = _standardised(expr, zs, cov, mean)
    return _close_or_node(body, ts)


def _standardised(expr, zs, cov, mean):
    """``expr`` in independent standard variables ``t`` with ``z = mean + L t``
    (:func:`_cholesky`); returns ``(expr in t, ts)``."""
    n = len(zs)
    L = _cholesky(cov)
    ts = [_fresh_variable(f"t_{i + 1}", (expr, cov, mean)) for i in range(n)]
    z_of_t = {zs[i]: mean[i] + sp.Add(*[L[i, j] * ts[j] for j in range(i + 1)]) for i in range(n)}
    return expr.xreplace(z_of_t), ts


def _close_or_node(body, ts):
    """The 1-D engine on the last variables while it closes, the rest one quadrature node."""
    for m in range(len(ts) - 1, -1, -1):
        if not _may_close(body, ts[m]):  # e.g. tanh: skip the 1-D rules' rewriting
            return GaussianExpectation(body, tuple(ts[: m + 1]))
        closed = expectation(body, ts[m])
        if closed.has(GaussianExpectation) and not body.has(GaussianExpectation):
            return GaussianExpectation(body, tuple(ts[: m + 1]))
        body = closed
    return body


def _without(powers, i):
    return [0 if j == i else p for j, p in enumerate(powers)]


def _fallback(body, zs, cov, mean):
    """What no rule closes: a variable that enters only as a power is integrated out
    (:func:`_integrate_out`), the rest is one quadrature node (:func:`_cholesky_fallback`)."""
    if len(zs) > 1:
        terms = [_MvTerm.parse(t, zs) for t in sp.Add.make_args(body)]
        for i, z in enumerate(zs):
            if any(t.powers[i] for t in terms) and not any(
                t.rebuilt(powers=_without(t.powers, i)).has(z) for t in terms
            ):
                return _integrate_out(terms, i, zs, cov, mean)
    return _cholesky_fallback(body, zs, cov, mean)


def _integrate_out(terms, i, zs, cov, mean):
    r"""A variable that enters only as powers, integrated out by conditioning:

    .. math:: \mathbb E[z_i^p\, h(z_r)] = \mathbb E_{z_r}\big[\mathbb E[z_i^p \mid z_r]\,
              h(z_r)\big].

    With :math:`z_i` last in the Cholesky factor, :math:`z = \mu + L t`, the variable
    :math:`t_i` enters only :math:`z_i = \mu_i + \sum_{k<i} L_{ik} t_k + L_{ii} t_i`, as a
    polynomial: its average closes (Gaussian moments), and the average over the others is
    one dimension lower (the committee machine's :math:`I_3 = \mathbb E[g'(a)\, b\, g(c)]`
    of a ``tanh``: a two-dimensional quadrature instead of a three-dimensional one). The
    factor is the positive-semidefinite one, so proportional fields (a student unit that has
    learned its teacher unit) do not divide by a vanishing determinant.
    """
    order = [j for j in range(len(zs)) if j != i] + [i]
    body = sp.Add(*[t.coeff * t.rebuilt() for t in terms])
    inner, ts = _standardised(
        body, tuple(zs[j] for j in order), cov.extract(order, order), mean.extract(order, [0])
    )
    return _close_or_node(expectation(inner, ts[-1]), ts[:-1])


def _distinct_steps(steps):
    """Heavisides of proportional forms merged: ``Theta(c l) = Theta(l)`` for ``c > 0``
    (a correlation of exactly 1 between two events would make the orthant formulas
    singular); None when two are opposite, ``Theta(l) Theta(-l) = 0`` almost everywhere."""
    kept = []
    for a, b in steps:
        duplicate = False
        for a2, b2 in kept:
            k = next(i for i, x in enumerate(a2) if x != 0)
            lam = a[k] / a2[k]
            if all(sp.simplify(x - lam * y) == 0 for x, y in zip(a, a2)) and (
                sp.simplify(b - lam * b2) == 0
            ):
                if lam.is_positive:
                    duplicate = True
                    break
                if lam.is_negative:
                    return None
        if not duplicate:
            kept.append((a, b))
    return kept


def _mv_term(term, zs, cov, mean):
    """The expectation of one parsed product."""
    coeff = term.coeff
    if term.exponent != 0:
        cov, mean, prefactor = _absorb(term.exponent, zs, cov, mean)
        coeff *= prefactor
        term.exponent = sp.S.Zero
    body = term.rebuilt()
    used = [i for i, z in enumerate(zs) if body.has(z)]
    if len(used) < len(zs):  # marginalise the variables the term does not see
        zs = tuple(zs[i] for i in used)
        cov, mean = cov.extract(used, used), mean.extract(used, [0])
        if not zs:
            return coeff * body
        return coeff * multivariate_expectation(body, zs, cov, mean)
    if len(zs) == 1:
        return coeff * expectation(body, zs[0], mean[0], cov[0, 0])
    if term.deltas:
        density, pivot, value, rest, cov2, mean2 = _condition(term.deltas[0], zs, cov, mean)
        inner = term.rebuilt(deltas=term.deltas[1:]).subs(pivot, value)
        return coeff * density * multivariate_expectation(inner, rest, cov2, mean2)
    if term.other:
        return coeff * _fallback(body, zs, cov, mean)
    if any(term.powers):
        # Stein's lemma: E[z_i h] = mu_i E[h] + sum_j C_ij E[d_j h]
        i = next(k for k, p in enumerate(term.powers) if p)
        powers = list(term.powers)
        powers[i] -= 1
        h = term.rebuilt(powers=powers)
        total = mean[i] * multivariate_expectation(h, zs, cov, mean)
        for j, zj in enumerate(zs):
            if cov[i, j] != 0:
                total += cov[i, j] * multivariate_expectation(sp.diff(h, zj), zs, cov, mean)
        return coeff * total
    steps = _distinct_steps(term.steps)
    if steps is None:
        return sp.S.Zero  # Theta(l) Theta(-l) vanishes almost everywhere
    events = []
    for kind, factors in (("step", steps), ("phi", term.phis)):
        for a, b in factors:
            av = sp.Matrix(a)
            events.append((kind, av, (av.T * mean)[0] + b))
    n = len(events)
    if n == 1:
        kind, av, m = events[0]
        v = (av.T * cov * av)[0] + (1 if kind == "phi" else 0)
        return coeff * Phi(m / sp.sqrt(_tidy(v)))
    if all(sp.simplify(m) == 0 for _, _, m in events):
        ev = sp.zeros(n, n)
        for p, (kind, ap, _) in enumerate(events):
            for q, (_, aq, _) in enumerate(events):
                ev[p, q] = _tidy((ap.T * cov * aq)[0])
            if kind == "phi":
                ev[p, p] += 1
        value = _orthant(ev)
        if value is not None:
            return coeff * value
    return coeff * _cholesky_fallback(body, zs, cov, mean)


def _to_indicators_mv(expr, zs):
    """``Max``/``Min``/``Abs``/``Piecewise`` of the variables as Heaviside products."""
    if not expr.has(sp.Max, sp.Min, sp.Abs, sp.Piecewise):
        return expr
    expr = expr.replace(
        lambda e: isinstance(e, (sp.Max, sp.Min, sp.Abs)) and e.has(*zs),
        lambda e: e.rewrite(sp.Piecewise),
    )
    expr = sp.piecewise_fold(expr)

    def split(pw):
        terms, before = [], sp.S.One
        for e, c in pw.args:
            terms.append(e * _indicator(c) * before)
            before *= 1 - _indicator(c)
        return sp.Add(*terms)

    return expr.replace(lambda e: isinstance(e, sp.Piecewise) and e.has(*zs), split)


def multivariate_expectation(expr, variables, covariance, mean=None):
    r""":math:`\mathbb{E}_{z \sim N(\mu, C)}[f(z)]` for a Gaussian vector, by rules.

    Applied recursively to each product of the expanded integrand:

    1. ``exp`` of a quadratic form is absorbed into the Gaussian (new covariance and
       mean, determinant prefactor; :func:`_absorb`);
    2. variables the product does not contain are marginalised out; one variable left
       goes to the one-dimensional :func:`expectation`;
    3. ``DiracDelta(a.z + b)`` conditions on the hyperplane,
       :math:`\mathbb{E}[\delta(a\cdot z + b)\, h] = p_{a\cdot z}(-b)\,
       \mathbb{E}[h \mid a\cdot z = -b]`, which lowers the dimension;
    4. polynomial factors go by Stein's lemma,
       :math:`\mathbb{E}[z_i h] = \mu_i \mathbb{E}h + \sum_j C_{ij}\mathbb{E}\,\partial_j h`
       (the derivative of ``Phi`` is a Gaussian factor, absorbed by 1; of ``Heaviside`` a
       ``DiracDelta``, removed by 3);
    5. what is left, a product of ``Phi`` / ``Heaviside`` of linear forms, is an orthant
       probability of a Gaussian vector (``Phi(l) = P(xi <= l)`` with an independent
       standard ``xi``): one event :math:`\Phi(m/\sqrt v)`, two or three centred events
       Sheppard's arcsin forms (Owen 1980);
    6. anything else (``tanh``, offsets, four events) goes to :func:`_cholesky_fallback`:
       :math:`z = \mu + L t` and the one-dimensional engine, leaving a
       :class:`GaussianExpectation` node for ``numerics.compile`` to lower to quadrature.

    Parameters
    ----------
    expr : sympy expression
    variables : sequence of Symbol
    covariance : sympy Matrix (or nested sequence), symmetric positive definite; entries
        may be symbols
    mean : sequence, optional
        Zero by default.

    Returns
    -------
    sympy expression

    Raises
    ------
    InputError
        For a covariance of the wrong shape or not symmetric, or repeated variables.

    Examples
    --------
    >>> import sympy as sp
    >>> x, y = sp.symbols("x y", real=True)
    >>> r = sp.Symbol("r", real=True)
    >>> multivariate_expectation(sp.Heaviside(x) * sp.Heaviside(y), (x, y), [[1, r], [r, 1]])
    asin(r)/(2*pi) + 1/4
    >>> multivariate_expectation(x**2 * y**2, (x, y), [[1, r], [r, 1]])
    2*r**2 + 1
    """
    zs = tuple(variables)
    if not all(isinstance(z, sp.Symbol) for z in zs) or len(set(zs)) != len(zs):
        raise InputError(f"variables must be distinct symbols, got {variables}")
    n = len(zs)
    try:
        cov = sp.Matrix(covariance)
    except (TypeError, ValueError) as exc:
        raise InputError(f"covariance is not a matrix: {covariance!r}") from exc
    if cov.shape != (n, n):
        raise InputError(f"covariance must be {n} x {n} for {zs}, got shape {cov.shape}")
    if any(sp.simplify(cov[i, j] - cov[j, i]) != 0 for i in range(n) for j in range(i)):
        raise InputError(f"covariance is not symmetric: {cov.tolist()}")
    mean = sp.zeros(n, 1) if mean is None else sp.Matrix(list(mean))
    if mean.shape != (n, 1):
        raise InputError(f"mean must have {n} entries, got {mean.shape[0]}")
    expr = sp.sympify(expr)
    if n == 0 or not expr.has(*zs):
        return expr
    if n == 1:
        return expectation(expr, zs[0], mean[0], cov[0, 0])
    expr = _distribute(_to_phi(_to_indicators_mv(expr, zs)))
    total, rest = [], []
    for term in sp.Add.make_args(expr):
        parsed = _MvTerm.parse(term, zs)
        if parsed.other and not parsed.deltas and parsed.exponent == 0:
            rest.append(term)  # no rule applies: one quadrature node for all of them
        else:
            total.append(_mv_term(parsed, zs, cov, mean))
    if rest:
        body = sp.Add(*rest)
        used = [i for i, z in enumerate(zs) if body.has(z)]
        total.append(
            _fallback(
                body, tuple(zs[i] for i in used), cov.extract(used, used), mean.extract(used, [0])
            )
            if len(used) > 1
            else expectation(body, zs[used[0]], mean[used[0]], cov[used[0], used[0]])
        )
    return sp.Add(*total)
