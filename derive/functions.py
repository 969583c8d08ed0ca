"""Symbolic nodes that the code printer of ``numerics`` lowers specially.

* :class:`GaussianExpectation` -- an explicit, unevaluated expectation over
  independent standard Gaussian variables, ``E_z[f(z)]``. It is what a
  derivation leaves behind when the Gaussian integral does not close;
  ``numerics.compile`` lowers it to (tensor-product) Gauss--Hermite quadrature.
* :class:`LogSumExp` -- ``log(sum_k exp(x_k))``, printed as a stable
  max-shifted sum so that Boltzmann weights of a finite alphabet never
  overflow.
"""

import mpmath
import sympy as sp

__all__ = ["GaussianExpectation", "LogSumExp", "gaussian_density"]


def gaussian_density(z):
    """The standard normal density ``exp(-z**2/2) / sqrt(2 pi)`` as a sympy expression."""
    return sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)


def _mp_logsumexp(*xs):
    top = max(xs)
    return top + mpmath.log(mpmath.fsum(mpmath.exp(x - top) for x in xs))


#: mpmath implementations of cavitylab's own functions, for the numerical oracle
_MPMATH_EXTRA = {
    "LogSumExp": _mp_logsumexp,
    "Phi": mpmath.ncdf,
    "LogPhi": lambda x: mpmath.log(mpmath.ncdf(x)),
}


class GaussianExpectation(sp.Expr):
    r"""Unevaluated :math:`\mathbb{E}_{z}[f(z)]` over independent :math:`z_k \sim N(0, 1)`.

    Parameters
    ----------
    expr : sympy expression
        The integrand ``f``.
    variables : Symbol or sequence of Symbol
        The integration variables, bound inside the node (they are not free
        symbols of the result).

    Notes
    -----
    ``evalf`` integrates numerically with mpmath once every other symbol has a
    value, which makes it an independent oracle for the compiled quadrature.

    Examples
    --------
    >>> import sympy as sp
    >>> z, a = sp.symbols("z a", real=True)
    >>> E = GaussianExpectation(sp.tanh(a + z), z)
    >>> E.free_symbols == {a}
    True
    >>> float(GaussianExpectation(z**2, z).evalf())
    1.0
    """

    is_commutative = True

    def __new__(cls, expr, variables):
        if isinstance(variables, sp.Symbol):
            variables = (variables,)
        variables = sp.Tuple(*variables)
        if not variables or not all(isinstance(v, sp.Symbol) for v in variables):
            raise ValueError("GaussianExpectation needs one or more Symbol variables")
        expr = sp.sympify(expr)
        if not expr.free_symbols & set(variables):
            return expr  # nothing to average
        return sp.Expr.__new__(cls, expr, variables)

    @property
    def integrand(self):
        return self.args[0]

    @property
    def variables(self):
        return tuple(self.args[1])

    @property
    def free_symbols(self):
        return self.integrand.free_symbols - set(self.variables)

    def _eval_subs(self, old, new):
        if old in self.variables:
            return self
        return None

    def _eval_derivative(self, s):
        """Differentiation under the expectation (the Gaussian weight does not depend on ``s``)."""
        if s in self.variables:
            return sp.S.Zero
        return GaussianExpectation(sp.diff(self.integrand, s), self.variables)

    def as_integral(self):
        """The same expectation as an explicit ``sympy.Integral`` over the real line."""
        weight = sp.Mul(*[gaussian_density(v) for v in self.variables])
        limits = [(v, -sp.oo, sp.oo) for v in self.variables]
        return sp.Integral(self.integrand * weight, *limits)

    def _eval_evalf(self, prec):
        if self.free_symbols:
            return None
        dps = max(15, mpmath.libmp.prec_to_dps(prec))
        f = sp.lambdify(self.variables, self.integrand, modules=[_MPMATH_EXTRA, "mpmath"])
        with mpmath.workdps(dps + 5):

            def weighted(*z):
                w = mpmath.mpf(1)
                for zk in z:
                    w *= mpmath.npdf(zk)
                return f(*z) * w

            value = mpmath.quad(weighted, *[[-mpmath.inf, 0, mpmath.inf]] * len(self.variables))
        return sp.Float(value, dps)

    def _sympystr(self, printer):
        vs = ",".join(printer.doprint(v) for v in self.variables)
        return f"E_{{{vs}}}[{printer.doprint(self.integrand)}]"

    def _latex(self, printer):
        vs = ",".join(printer.doprint(v) for v in self.variables)
        return rf"\mathbb{{E}}_{{{vs}}}\left[{printer.doprint(self.integrand)}\right]"


class LogSumExp(sp.Function):
    r""":math:`\log \sum_k e^{x_k}`, kept as one node for a stable numerical form.

    Examples
    --------
    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> LogSumExp(x, y).rewrite(sp.log)
    log(exp(x) + exp(y))
    >>> LogSumExp(x, y).diff(x)
    exp(x - LogSumExp(x, y))
    """

    @classmethod
    def eval(cls, *args):
        if len(args) == 1:
            return args[0]
        return None

    def fdiff(self, argindex=1):
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_log(self, *args, **kwargs):
        return sp.log(sp.Add(*[sp.exp(a) for a in args]))

    def _eval_evalf(self, prec):
        if any(a.free_symbols for a in self.args):
            return None
        dps = mpmath.libmp.prec_to_dps(prec)
        with mpmath.workdps(dps + 10):
            xs = [mpmath.mpf(sp.Float(a.evalf(prec), dps + 10)) for a in self.args]
            top = max(xs)
            value = top + mpmath.log(mpmath.fsum(mpmath.exp(x - top) for x in xs))
        return sp.Float(value, dps)

    def _latex(self, printer):
        inner = ", ".join(printer.doprint(a) for a in self.args)
        return rf"\operatorname{{LSE}}\left({inner}\right)"
