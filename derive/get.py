r"""Gaussian-equivalence (GET) moments of a nonlinearity.

For a nonlinearity :math:`f` and :math:`u \sim N(0, 1)`,

.. math::
    a = \mathbb{E}\, f(u), \qquad b = \mathbb{E}\, u f(u), \qquad c = \mathbb{E}\, f(u)^2,

the three numbers through which random features :math:`x = f(F^T c / \sqrt{D})` enter the
Gaussian equivalence theorem: the features behave, for a learner that sees them through
linear projections, like :math:`a + b\, F^T c/\sqrt{D} + \kappa_\star \xi` with an
independent Gaussian :math:`\xi` of variance :math:`\kappa_\star^2 = c - a^2 - b^2`
(Mei & Montanari, arXiv:1908.05335, where :math:`\mu_0, \mu_1, \mu_\star` are
:math:`a, b, \kappa_\star`; Goldt, Mézard, Krzakala, Zdeborová, PRX 10, 041044 (2020),
arXiv:1909.11500; Gerace, Loureiro, Krzakala, Mézard, Zdeborová, arXiv:2002.09339).

The integrals go through the one Gaussian engine, :func:`derive.gaussian.expectation`:
closed forms where its rules close (polynomials, ReLU and piecewise-linear functions,
``Abs``, ``sign``, ``erf`` of a linear form), exact zeros from parity, and explicit
:class:`~derive.GaussianExpectation` nodes otherwise, which ``numerics.get_moments``
evaluates by quadrature.
"""

import math
from typing import NamedTuple

import mpmath
import sympy as sp

from .errors import InputError, ModelError
from .functions import GaussianExpectation
from .gaussian import expectation
from .model import memoized

__all__ = ["GETMoments", "get_moments", "check_nonlinearity"]


class GETMoments(NamedTuple):
    r"""``(a, b, c) = (E f(u), E u f(u), E f(u)^2)`` for :math:`u \sim N(0, 1)`, as sympy
    expressions (closed forms, or containing :class:`~derive.GaussianExpectation` nodes)."""

    a: sp.Expr
    b: sp.Expr
    c: sp.Expr

    @property
    def kappa_star_squared(self):
        r""":math:`\kappa_\star^2 = c - a^2 - b^2`, the variance of the effective noise of the
        Gaussian equivalent model (Mei & Montanari's :math:`\mu_\star^2`)."""
        return self.c - self.a**2 - self.b**2

    @property
    def exact(self):
        """Whether all three moments are closed forms (no expectation left)."""
        return not any(sp.sympify(m).has(GaussianExpectation) for m in self)


#: Points where a nonlinearity must be real and finite.
_REAL_POINTS = (-2.3, -0.7, 0.4, 1.9)
#: Growth screen at |u| = 64: f ~ exp(L u^2) u^(-s) has E f^2 < oo iff L < 1/4, or L = 1/4
#: and s > 1/2; log|f| / u^2 = L - s log(u) / u^2 there, so the threshold below puts the
#: boundary case s = 1/2 on the divergent side.
_GROWTH_AT = 64
_GROWTH_LIMIT = 0.25 - 0.5 * math.log(_GROWTH_AT) / _GROWTH_AT**2


def _value(f, u, point):
    """``f(point)`` as an mpmath number (30 digits), or None if sympy cannot evaluate it."""
    try:
        value = f.subs(u, point).evalf(30)
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
        return None
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return mpmath.inf
    if not value.is_number:
        return None
    try:
        return mpmath.mpc(complex(value)) if not value.is_real else mpmath.mpf(value)
    except (TypeError, ValueError, OverflowError):
        try:  # too large for a float: stay in mpmath
            return mpmath.mpmathify(str(value))
        except (TypeError, ValueError):
            return None


def check_nonlinearity(f, variable):
    r"""``(f, u)`` with ``u`` a real symbol standing for ``variable``; raise on bad input.

    Raises
    ------
    InputError
        ``variable`` is not a sympy Symbol, or ``f`` is not a sympy expression.
    ModelError
        ``f`` depends on symbols other than ``variable`` (named), is not real and finite on
        the real line, or grows so fast (like :math:`e^{u^2/4}` or faster) that
        :math:`\mathbb{E} f(u)^2` diverges against the Gaussian weight.
    """
    if not isinstance(variable, sp.Symbol):
        raise InputError(
            f"the variable of the nonlinearity must be a sympy Symbol, got {variable!r}"
        )
    try:
        f = sp.sympify(f, strict=True) if not isinstance(f, sp.Basic) else f
    except (sp.SympifyError, TypeError):
        raise InputError(f"the nonlinearity must be a sympy expression, got {f!r}") from None
    if not isinstance(f, sp.Expr) or f.has(GaussianExpectation):
        raise InputError(f"the nonlinearity must be a plain sympy expression, got {f!r}")
    others = sorted(f.free_symbols - {variable}, key=str)
    if others:
        raise ModelError(
            f"the nonlinearity {f} depends on {', '.join(map(str, others))}, not only on the "
            f"declared variable {variable}; substitute numbers for them (or declare "
            f"{others[0]} as the variable)"
        )
    u = sp.Symbol(variable.name, real=True)
    f = f.xreplace({variable: u})
    for point in _REAL_POINTS:
        value = _value(f, u, sp.Float(point, 30))
        if value is None:
            continue
        if not mpmath.isfinite(value):
            raise ModelError(f"the nonlinearity {f} is not finite at {u} = {point}")
        if abs(mpmath.im(value)) > 1e-20 * max(1, abs(value)):
            raise ModelError(f"the nonlinearity {f} is not real at {u} = {point}: {value}")
    for sgn in (1, -1):
        value = _value(f, u, sgn * _GROWTH_AT)
        if value is None or value == 0:
            continue
        rate = mpmath.log(abs(value)) / _GROWTH_AT**2 if mpmath.isfinite(value) else mpmath.inf
        if rate >= _GROWTH_LIMIT:
            raise ModelError(
                f"the nonlinearity {f} grows like exp({float(rate):.3g} {u}^2) or faster as "
                f"{u} -> {'+' if sgn > 0 else '-'}oo: E f(u)^2 diverges for u ~ N(0, 1) "
                "(the growth must stay below exp(u^2/4))"
            )
    return f, u


def _even_part_constant(f, u):
    """``(f(u) + f(-u)) / 2`` when it is a constant (then ``E f`` is that constant), else None.

    A numerical screen at three points first; ``simplify`` only when the screen says constant.
    """
    even = (f + f.subs(u, -u)) / 2
    values = [_value(even, u, sp.Rational(p, 7)) for p in (2, 9, 19)]
    if any(v is None or not mpmath.isfinite(v) for v in values):
        return None
    if max(abs(v - values[0]) for v in values) > 1e-25:
        return None
    constant = sp.simplify(even.rewrite(sp.exp))
    return constant if not constant.has(u) else None


@memoized
def get_moments(f, variable):
    r"""The Gaussian-equivalence moments of the nonlinearity ``f(variable)``.

    .. math::
        a = \mathbb{E}\, f(u), \quad b = \mathbb{E}\, u f(u), \quad c = \mathbb{E}\, f(u)^2,
        \qquad u \sim N(0, 1)

    (Goldt, Mézard, Krzakala, Zdeborová, arXiv:1909.11500; Mei & Montanari,
    arXiv:1908.05335). ``a`` is computed as the mean of the even part
    :math:`(f(u) + f(-u))/2`, which is a constant for a shifted odd function (``sigmoid``:
    ``a = 1/2`` exactly).

    Parameters
    ----------
    f : sympy expression
        The nonlinearity, in ``variable`` only.
    variable : Symbol

    Returns
    -------
    GETMoments
        ``(a, b, c)`` as sympy expressions: closed forms where the Gaussian rules close,
        :class:`~derive.GaussianExpectation` nodes otherwise (``numerics.get_moments``
        evaluates them). ``.kappa_star_squared`` is :math:`c - a^2 - b^2`.

    Raises
    ------
    ModelError
        ``f`` depends on another symbol, is not real, or grows too fast for
        :math:`\mathbb{E} f^2` to exist (:func:`check_nonlinearity`).

    Examples
    --------
    >>> import sympy as sp
    >>> u = sp.Symbol("u", real=True)
    >>> get_moments(sp.erf(u / sp.sqrt(2)), u)
    GETMoments(a=0, b=1/sqrt(pi), c=1/3)
    >>> get_moments(u**3 - u, u)
    GETMoments(a=0, b=2, c=10)
    >>> get_moments(sp.tanh(u), u).a
    0
    """
    f, u = check_nonlinearity(f, variable)
    constant = _even_part_constant(f, u)
    a = constant if constant is not None else expectation(f, u)
    b = expectation(u * f, u)
    c = expectation(f**2, u)
    return GETMoments(*(sp.sympify(m) for m in (a, b, c)))
