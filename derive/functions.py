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

__all__ = ["GaussianExpectation", "LogSumExp", "gaussian_density", "nesting_level"]


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


def nesting_level(expr):
    """How deep :class:`GaussianExpectation` nodes nest in ``expr``: 0 for none, 1 for
    expectations with no expectation inside, and so on."""
    expr = sp.sympify(expr)
    if isinstance(expr, GaussianExpectation):
        return 1 + nesting_level(expr.integrand)
    return max((nesting_level(a) for a in expr.args), default=0)


def _bound_names(expr):
    """Names of the variables bound by the expectations inside ``expr``."""
    return {v.name for node in expr.atoms(GaussianExpectation) for v in node.variables}


def _fresh_name(base, taken):
    name = base
    while name in taken:
        name += "'"
    return name


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
    The variables are bound, and kept apart from every other name (alpha-renaming): a
    variable whose name is also the name of a free symbol of the integrand, or of a
    variable bound by an expectation nested inside, or a ``Dummy``, is renamed to a fresh
    real symbol (its name primed until it is free); ``subs`` and ``xreplace`` rename a
    bound variable before it could capture a symbol of what is substituted. So
    ``E_t[f(t, x)]`` with ``x -> t`` becomes ``E_t'[f(t', t)]``, never ``E_t[f(t, t)]``.

    ``evalf`` integrates numerically with mpmath once every other symbol has a
    value (nested expectations by nested quadrature), which makes it an independent
    oracle for the compiled quadrature.

    Examples
    --------
    >>> import sympy as sp
    >>> z, a = sp.symbols("z a", real=True)
    >>> E = GaussianExpectation(sp.tanh(a + z), z)
    >>> E.free_symbols == {a}
    True
    >>> float(GaussianExpectation(z**2, z).evalf())
    1.0
    >>> E.subs(a, z)
    E_{z'}[tanh(z + z')]
    """

    is_commutative = True

    def __new__(cls, expr, variables):
        if isinstance(variables, sp.Symbol):
            variables = (variables,)
        variables = tuple(variables)
        if not variables or not all(isinstance(v, sp.Symbol) for v in variables):
            raise ValueError("GaussianExpectation needs one or more Symbol variables")
        if len(set(variables)) != len(variables):
            raise ValueError(f"GaussianExpectation: repeated variable in {variables}")
        expr = sp.sympify(expr)
        if not expr.free_symbols & set(variables):
            return expr  # nothing to average
        expr, variables = cls._alpha_rename(expr, variables)
        return sp.Expr.__new__(cls, expr, sp.Tuple(*variables))

    @staticmethod
    def _alpha_rename(expr, variables):
        """Rename the variables that are Dummies or whose names clash (see Notes)."""
        free = expr.free_symbols - set(variables)
        taken = {s.name for s in free} | _bound_names(expr)
        clash = [v for v in variables if isinstance(v, sp.Dummy) or v.name in taken]
        if not clash:
            return expr, variables
        taken |= {v.name for v in variables if v not in clash}
        renamed = {}
        for v in clash:
            base = "t" if v.name.startswith("Dummy_") else v.name.lstrip("_") or "t"
            name = _fresh_name(base, taken)
            taken.add(name)
            renamed[v] = sp.Symbol(name, **v.assumptions0)
        return expr.xreplace(renamed), tuple(renamed.get(v, v) for v in variables)

    @property
    def integrand(self):
        return self.args[0]

    @property
    def variables(self):
        return tuple(self.args[1])

    @property
    def free_symbols(self):
        return self.integrand.free_symbols - set(self.variables)

    def _opened(self):
        """The integrand with every bound variable replaced by a unique Dummy: substitutions
        into it cannot capture, and the constructor gives the dummies fresh names back."""
        dummies = tuple(sp.Dummy(v.name, **v.assumptions0) for v in self.variables)
        return self.integrand.xreplace(dict(zip(self.variables, dummies))), dummies

    def _eval_subs(self, old, new):
        if old.free_symbols & set(self.variables):
            return self  # a bound variable is not the symbol outside of the same name
        if not old.free_symbols <= self.integrand.free_symbols:
            return self  # nothing in the integrand can match
        body, dummies = self._opened()
        moved = body._subs(old, new)
        return self if moved == body else GaussianExpectation(moved, dummies)

    def _xreplace(self, rule):
        if self in rule:
            return rule[self], True
        bound = set(self.variables)
        rule = {k: v for k, v in rule.items() if not k.free_symbols & bound}
        if not rule:
            return self, False
        body, dummies = self._opened()
        body, changed = body._xreplace(rule)
        if not changed:
            return self, False
        return GaussianExpectation(body, dummies), True

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
        with mpmath.workdps(dps + 5):
            value = _mp_expectation(self, ())()
        return sp.Float(value, dps)

    def _sympystr(self, printer):
        vs = ",".join(printer.doprint(v) for v in self.variables)
        return f"E_{{{vs}}}[{printer.doprint(self.integrand)}]"

    def _latex(self, printer):
        vs = ",".join(printer.doprint(v) for v in self.variables)
        return rf"\mathbb{{E}}_{{{vs}}}\left[{printer.doprint(self.integrand)}\right]"


def _mp_callable(expr, symbols):
    """``expr`` as an mpmath function of ``symbols``; nested expectations by nested quadrature."""
    nodes, placeholders = {}, {}

    def lift(e):
        if isinstance(e, GaussianExpectation):
            if e not in nodes:
                args = tuple(sorted(e.free_symbols, key=str))
                name = f"_mp_expect_{len(nodes)}"
                nodes[e] = (name, args)
                placeholders[name] = _mp_expectation(e, args)
            name, args = nodes[e]
            return sp.Function(name)(*args)
        if not e.args or e.is_Atom:
            return e
        return e.func(*[lift(a) for a in e.args])

    body = lift(expr)
    return sp.lambdify(symbols, body, modules=[placeholders, _MPMATH_EXTRA, "mpmath"])


def _mp_expectation(node, args):
    """An mpmath function of ``args`` (the node's free symbols) integrating ``node``."""
    f = _mp_callable(node.integrand, tuple(node.variables) + tuple(args))
    n = len(node.variables)

    def value(*outer):
        def weighted(*z):
            w = mpmath.mpf(1)
            for zk in z:
                w *= mpmath.npdf(zk)
            return f(*z, *outer) * w

        return mpmath.quad(weighted, *[[-mpmath.inf, 0, mpmath.inf]] * n)

    return value


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
