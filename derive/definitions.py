r"""Functions defined once by an expression and applied many times: ``f(x_1, ..., x_n) = body``.

Equations built from a few repeated averages -- the Saad--Solla ODEs are sums of
:math:`I_2, I_3, I_4, J_2` at every tuple of hidden units -- are written the way the papers
write them: each average is derived once as a function of its own parameters (a covariance),
:func:`define`\ d, and applied to the order parameters of each tuple. The generated kernel then
holds one compiled function per definition, called once per tuple, instead of one copy of
the body per tuple: code size and compile time grow with the number of definitions, not
with the number of applications.

An application behaves as its body wherever sympy evaluates: at numbers it *is* its value
(``eval``), ``evalf`` and ``lambdify`` (``_imp_``) evaluate the body, ``diff`` differentiates
it, and :func:`inline_definitions` substitutes every body. Two applications are equal when
their definition and arguments are; the definition (name, parameters, body) is part of the
content key of :class:`derive.Equations`.

Examples
--------
>>> import sympy as sp
>>> a, b = sp.symbols("a b", real=True)
>>> hyp = define("hyp", (a, b), sp.sqrt(a**2 + b**2))
>>> x = sp.Symbol("x", real=True)
>>> expr = hyp(x, 4) + 1
>>> expr
hyp(x, 4) + 1
>>> expr.subs(x, 3)
6
>>> inline_definitions(expr)
sqrt(x**2 + 16) + 1
>>> sp.diff(expr, x)
x/sqrt(x**2 + 16)
"""

import keyword

import sympy as sp
from mpmath.libmp import prec_to_dps

from .errors import ModelError

__all__ = ["DefinedFunction", "define", "definitions", "inline_definitions"]

#: every definition made, by content: the same (name, parameters, body) is the same class
_DEFINED = {}


class DefinedFunction(sp.Function):
    """Base class of the functions :func:`define` makes; ``params`` and ``body`` are set there."""

    params = ()
    body = sp.S.Zero

    @classmethod
    def eval(cls, *args):
        if len(args) != len(cls.params):
            raise TypeError(f"{cls.__name__} takes {len(cls.params)} arguments, got {len(args)}")
        if args and all(a.is_Number for a in args):
            return cls.body.xreplace(dict(zip(cls.params, args)))
        return None

    def expanded(self):
        """The body at these arguments (definitions inside it stay applications)."""
        return self.func.body.xreplace(dict(zip(self.func.params, self.args)))

    def doit(self, deep=True, **hints):
        args = [a.doit(deep=deep, **hints) for a in self.args] if deep else self.args
        value = self.func(*args)
        if isinstance(value, DefinedFunction):
            value = value.expanded()
        return value.doit(deep=deep, **hints) if deep else value

    def fdiff(self, argindex=1):
        param = self.func.params[argindex - 1]
        return sp.diff(self.func.body, param).xreplace(dict(zip(self.func.params, self.args)))

    def _eval_evalf(self, prec):
        return inline_definitions(self.expanded()).evalf(prec_to_dps(prec))

    def __reduce_ex__(self, protocol):
        cls = self.func
        return (_apply, (cls.__name__, cls.params, cls.body, self.args))


def _apply(name, params, body, args):
    """Unpickle an application (the class of a definition is made at run time)."""
    return define(name, params, body)(*args)


def define(name, params, body):
    """The sympy function ``name`` with ``name(*params) = body``.

    Parameters
    ----------
    name : str
        A Python identifier (it names the compiled function of the definition).
    params : sequence of Symbol
        The parameters, distinct.
    body : sympy expression
        In the parameters alone.

    Returns
    -------
    subclass of DefinedFunction
        Call it on expressions to apply it. The same arguments give the same class.

    Raises
    ------
    ModelError
        For a name that is not an identifier, repeated or non-symbol parameters, or a body
        that uses a symbol that is not a parameter.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ModelError(f"a definition's name must be a Python identifier, got {name!r}")
    params = tuple(params)
    if not all(isinstance(p, sp.Symbol) for p in params) or len(set(params)) != len(params):
        raise ModelError(f"definition {name}: the parameters {params} must be distinct symbols")
    body = sp.sympify(body)
    stray = body.free_symbols - set(params)
    if stray:
        raise ModelError(
            f"definition {name}{params}: the body uses {sorted(map(str, stray))}, "
            "which are not parameters"
        )
    key = (name, params, body)
    cls = _DEFINED.get(key)
    if cls is None:
        cls = _DEFINED[key] = type(
            name,
            (DefinedFunction,),
            {"params": params, "body": body, "nargs": len(params), "_imp_": _lazy(params, body)},
        )
    return cls


def _lazy(params, body):
    """``_imp_``: the body as a numpy function, lambdified on first use (``lambdify``)."""
    made = []

    def implementation(*args):
        if not made:
            made.append(sp.lambdify(params, inline_definitions(body), modules=["scipy", "numpy"]))
        return made[0](*args)

    return staticmethod(implementation)


def definitions(*exprs):
    """The definitions applied in ``exprs`` or in their bodies, each after those it applies.

    Returns
    -------
    list of DefinedFunction subclasses

    Raises
    ------
    ModelError
        If two different definitions have the same name.
    """
    order, seen, names = [], set(), {}

    def visit(expr):
        # in a fixed order (atoms is a set): the generated module, its hash and the disk
        # cache of its machine code must not depend on the process's hash seed
        applied = sp.sympify(expr).atoms(DefinedFunction)
        for app in sorted(applied, key=lambda e: (e.func.__name__, sp.default_sort_key(e))):
            cls = app.func
            if cls in seen:
                continue
            seen.add(cls)
            other = names.setdefault(cls.__name__, cls)
            if other is not cls:
                raise ModelError(
                    f"two different definitions are named {cls.__name__}: "
                    f"{cls.params} -> {cls.body} and {other.params} -> {other.body}"
                )
            visit(cls.body)
            order.append(cls)

    for e in exprs:
        visit(e)
    return order


def inline_definitions(expr):
    """``expr`` with every application replaced by its body, recursively."""
    expr = sp.sympify(expr)
    while expr.has(DefinedFunction):
        expr = expr.replace(lambda e: isinstance(e, DefinedFunction), lambda e: e.expanded())
    return expr
