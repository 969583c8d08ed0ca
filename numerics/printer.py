"""The one code printer: sympy expressions -> numba-compilable Python source.

Both ``numerics.compile`` and ``numerics.export`` print through
:func:`print_block`, so the exported solver *is* the cached compiled module.

* functions print to ``math`` (never scipy, never ``numpy.select``);
* ``LogSumExp`` prints to the stable helper ``logsumexp`` of :mod:`numerics.special`;
* special functions that ``math`` lacks print to helpers copied into the module;
* ``log(1 + x)`` is rewritten to ``log1p``;
* each ``GaussianExpectation`` is lifted into its own function, a loop over
  quadrature nodes (trapezoidal or Gauss--Hermite; a tensor product in several
  variables);
* common subexpressions are shared with ``sympy.cse``.
"""

import keyword
import re

import numpy as np
import sympy as sp
from sympy.codegen.rewriting import log1p_opt, optimize
from sympy.printing.pycode import PythonCodePrinter

from derive import DefinedFunction, GaussianExpectation
from derive.functions import nesting_level

from .errors import CompileError
from .special import gauss_hermite

__all__ = [
    "NumbaPrinter",
    "safe_names",
    "print_block",
    "lift_expectations",
    "quadrature_rule",
    "expectation_function",
    "RULES",
]

#: Names the generated modules use for themselves: modules, locals, arguments,
#: functions, helpers and metadata. A symbol never prints as one of these
#: (it gets a trailing underscore), and a symbol starting with "_" gets a
#: leading "u", leaving "_x0" (cse), "_k0", "_Z...", "_expect_0" to the generator.
RESERVED = {
    "math",
    "np",
    "numba",
    "out",
    "i",
    "j",
    "e",
    "k",
    "r",
    "a",
    "new",
    "change",
    "order",
    "damping",
    "total",
    "indptr",
    "indices",
    "edge_id",
    "state",
    "node_values",
    "edge_values",
    "outputs",
    "observables",
    "fields",
    "node_outputs",
    "node_observables",
    "graph_outputs",
    "graph_observables",
    "sweep_sequential",
    "outputs_array",
    "observables_array",
    "logsumexp",
    "erfcx",
    "erfinv",
    "ndtr",
    "log_ndtr",
    "logcosh",
    "atanh_tanh_product",
    "KEY",
    "ARGUMENTS",
    "OUTPUTS",
    "OBSERVABLES",
    "NEIGHBOR",
    "NODE_PARAMS",
    "EDGE_PARAMS",
    "GRAPH",
}


class NumbaPrinter(PythonCodePrinter):
    """``PythonCodePrinter`` with ``math.`` functions and cavitylab's helpers."""

    def __init__(self, settings=None):
        super().__init__(
            dict(
                {"fully_qualified_modules": True, "standard": "python3", "strict": False},
                **(settings or {}),
            )
        )
        self.helpers = set()
        self.unsupported = set()

    def _print_LogSumExp(self, expr):
        self.helpers.add("logsumexp")
        args = ", ".join(self._print(a) for a in expr.args)
        return f"logsumexp(({args},))"

    def _print_erfcx(self, expr):
        self.helpers.add("erfcx")
        return f"erfcx({self._print(expr.args[0])})"

    def _print_erfinv(self, expr):
        self.helpers.add("erfinv")
        return f"erfinv({self._print(expr.args[0])})"

    def _print_atanh(self, expr):
        """``atanh(c tanh(a) tanh(b))`` with ``c = ±1`` prints in a stable log-cosh form."""
        coeff, factors = expr.args[0].as_coeff_mul()
        if coeff in (1, -1) and len(factors) == 2 and all(isinstance(f, sp.tanh) for f in factors):
            self.helpers.add("atanh_tanh_product")
            a, b = (self._print(f.args[0]) for f in factors)
            sign = "-" if coeff == -1 else ""
            return f"{sign}atanh_tanh_product({a}, {b})"
        return f"math.atanh({self._print(expr.args[0])})"

    def _print_Phi(self, expr):
        self.helpers.add("ndtr")
        return f"ndtr({self._print(expr.args[0])})"

    def _print_LogPhi(self, expr):
        self.helpers.add("log_ndtr")
        return f"log_ndtr({self._print(expr.args[0])})"

    def _print_logcosh(self, expr):
        self.helpers.add("logcosh")
        return f"logcosh({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        """Heaviside(x) with sympy's convention Heaviside(0) = 1/2."""
        x = self._print(expr.args[0])
        return f"(1.0 if {x} > 0 else (0.5 if {x} == 0 else 0.0))"

    def _print_KroneckerDelta(self, expr):
        a, b = (self._print(x) for x in expr.args)
        return f"(1.0 if {a} == {b} else 0.0)"

    def _print_Rational(self, expr):
        return f"{expr.p}/{expr.q}" if expr.q != 1 else f"{float(expr.p)!r}"

    def _print_Integer(self, expr):
        return f"{float(expr.p)!r}" if abs(expr.p) < 2**53 else str(expr.p)

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp == sp.S.Half:
            return f"math.sqrt({self._print(base)})"
        if exp == -sp.S.Half:
            return f"1.0/math.sqrt({self._print(base)})"
        if exp.is_Integer and abs(exp) <= 4:  # small integer powers: products, exact and fast
            b = self.parenthesize(base, sp.printing.precedence.PRECEDENCE["Mul"] + 1)
            prod = "*".join([b] * abs(int(exp)))
            # parenthesised: the Mul printer puts a power after "/" without parentheses,
            # trusting its precedence (a / x**2 must not become a / x*x)
            return f"({prod})" if exp > 0 else f"(1.0/({prod}))"
        return super()._print_Pow(expr, rational=rational)

    def _print_Function(self, expr):
        name = expr.func.__name__
        # a lifted GaussianExpectation, or a definition (derive.define): a compiled function
        if name.startswith("_expect_") or isinstance(expr, DefinedFunction):
            return f"{name}({', '.join(self._print(a) for a in expr.args)})"
        self.unsupported.add(name)
        return super()._print_Function(expr)

    def _print_not_supported(self, expr):
        self.unsupported.add(type(expr).__name__)
        return super()._print_not_supported(expr)


def safe_names(symbols):
    """Map symbols to distinct valid Python identifiers, readable where possible."""
    names, used = {}, set(RESERVED)
    for s in symbols:
        base = re.sub(r"\W", "_", s.name.replace("-", "m")) or "x"
        if base[0].isdigit() or base[0] == "_":
            base = "u" + base
        if keyword.iskeyword(base) or base in used:
            base = base + "_"
        name, k = base, 1
        while name in used:
            name, k = f"{base}{k}", k + 1
        used.add(name)
        names[s] = name
    return names


def _canonical_bound(expr):
    """Every bound variable renamed to ``_t{level}_{k}``: ``level`` counts from the innermost
    expectation (1) outwards, ``k`` numbers the variables of one expectation.

    Printable identifiers that no argument can have (``safe_names`` never gives a name with a
    leading underscore), distinct between an expectation and those nested in it (so an
    inner function's argument is the outer loop's variable, never captured), and equal for
    alpha-equivalent expectations (so they are lifted once).
    """
    if isinstance(expr, GaussianExpectation):
        body = _canonical_bound(expr.integrand)
        level = 1 + nesting_level(body)
        new = [sp.Symbol(f"_t{level}_{k}", real=True) for k in range(len(expr.variables))]
        return GaussianExpectation(body.xreplace(dict(zip(expr.variables, new))), new)
    if not expr.args or expr.is_Atom or not expr.has(GaussianExpectation):
        return expr
    return expr.func(*[_canonical_bound(a) for a in expr.args])


def lift_expectations(exprs):
    """Replace every ``GaussianExpectation`` by a call ``_expect_k(args)``, inner ones first.

    A nested expectation is lifted into its own function too, and the function of the
    expectation around it calls it inside its quadrature loop (nested quadrature): the
    arguments of an inner function include the loop variables of the outer one. Bound
    variables are first renamed per nesting level (:func:`_canonical_bound`).

    Returns ``(exprs, lifted)`` with ``lifted`` a list of
    ``(function name, argument symbols, GaussianExpectation)``, every function after the
    functions it calls; in each lifted node the expectations inside are already calls.
    Functions called from another one are named ``_expect_in_k`` (see
    :func:`expectation_function`).
    """
    lifted, seen = [], {}

    def replace(e, inner):
        if isinstance(e, GaussianExpectation):
            body = replace(e.integrand, True)
            node = GaussianExpectation(body, e.variables)
            key = (node, inner)
            if key not in seen:
                args = tuple(sorted(node.free_symbols, key=str))
                name = f"_expect_in_{len(lifted)}" if inner else f"_expect_{len(lifted)}"
                seen[key] = (name, args)
                lifted.append((name, args, node))
            name, args = seen[key]
            return sp.Function(name)(*args)
        if not e.args or e.is_Atom or not e.has(GaussianExpectation):
            return e
        return e.func(*[replace(a, inner) for a in e.args])

    return [replace(_canonical_bound(sp.sympify(e)), False) for e in exprs], lifted


def _stable(expr):
    """Local rewrites for accuracy: ``log(1 + x) -> log1p(x)``.

    Applied to ``log`` nodes only, with the exponentials inside them hidden from the
    rewrite: sympy's optimisation passes split ``exp(a - b)`` into ``exp(a) * exp(-b)``,
    which is ``0 * inf = nan`` when both are large (seen in ``log(1 - exp(LogPhi(x) -
    LogPhi(y)))`` far in a Gaussian tail, where a prior's interval piece lives).
    """

    def rewrite(log):
        hidden = {e: sp.Dummy(f"exp{k}") for k, e in enumerate(log.atoms(sp.exp))}
        back = {d: e for e, d in hidden.items()}
        return optimize(log.xreplace(hidden), [log1p_opt]).xreplace(back)

    return expr.replace(lambda e: isinstance(e, sp.log), rewrite)


def print_block(exprs, printer, indent="    ", cse=True):
    """Print ``exprs`` as assignments; returns ``(lines, result_strings)``."""
    exprs = [_stable(sp.sympify(e)) for e in exprs]
    if cse:
        replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_x"), order="none")
    else:
        replacements, reduced = [], exprs
    lines = [
        f"{indent}{printer.doprint(sym)} = {printer.doprint(val)}" for sym, val in replacements
    ]
    return lines, [printer.doprint(r) for r in reduced]


RULES = ("trapezoid", "hermite")


def default_order(rule, dimension):
    """Nodes per variable: fine in one dimension, coarser for tensor products."""
    if rule == "hermite":
        return {1: 160, 2: 64}.get(dimension, 24)
    return {1: 241, 2: 121}.get(dimension, 41)


#: The half-width of the trapezoid rule from 121 nodes per variable up.
TRAPEZOID_HALF_WIDTH = 12.0


def trapezoid_half_width(order):
    """``L`` of the trapezoid rule on ``[-L, L]`` with ``order`` nodes (see
    :func:`quadrature_rule`): 12 from 121 nodes up, ``1.32 (2 pi n)^(1/3)`` below."""
    return min(TRAPEZOID_HALF_WIDTH, 1.32 * (2 * np.pi * order) ** (1 / 3))


def quadrature_rule(rule, order):
    r"""Nodes ``z_k`` and weights ``w_k`` with :math:`\sum_k w_k f(z_k) \approx \mathbb{E}_{z \sim N(0,1)} f(z)`.

    ``"trapezoid"``: the truncated trapezoidal rule on ``[-L, L]``, weights
    ``h * phi(z_k)``. For integrands analytic in a strip of half-width ``d`` it
    converges like ``exp(-2 pi d / h)`` (Trefethen & Weideman, SIAM Review 56,
    385 (2014)): measured here, ``E tanh(a + 5 z)`` to 2e-9 with 241 nodes, where
    Gauss--Hermite with 96 nodes is off by 2e-3. The truncation costs ``exp(-L^2/2)``:
    ``L = 12`` from 121 nodes up (the one- and two-dimensional defaults), and for fewer
    nodes ``L = 1.32 (2 pi n)^(1/3)``, which balances the two errors (``L^3 ~ 2 pi d n``;
    ``L = 8.4`` at 41 nodes, the default of three and more dimensions, where
    ``exp(-L^2/2) = 5e-16``: spacing 0.42 instead of 0.6, and
    ``E[tanh'(a) tanh'(b) tanh(c) tanh(d)]`` at unit variances to 1e-7 instead of 8e-5,
    at variances 2 to 3e-5 instead of 2e-3).
    ``"hermite"``: probabilists' Gauss--Hermite, exact for polynomials of
    degree ``2 order - 1``.
    """
    if rule == "hermite":
        return gauss_hermite(order)
    if rule == "trapezoid":
        half_width = trapezoid_half_width(order)
        z = np.linspace(-half_width, half_width, order)
        h = z[1] - z[0]
        return z, h * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
    raise CompileError(f"unknown quadrature rule {rule!r}; use one of {RULES}")


def quadrature_constants(rule, order):
    """Module-level constant arrays of the nodes and weights of a rule."""
    z, w = quadrature_rule(rule, order)
    fmt = lambda a: ", ".join(repr(float(x)) for x in a)  # noqa: E731
    tag = f"{rule[0].upper()}{order}"
    return tag, (f"_Z{tag} = np.array([{fmt(z)}])\n_W{tag} = np.array([{fmt(w)}])\n")


def _loop_levels(integrand, zs):
    """The integrand split into assignments, each in the outermost loop it can live in.

    In the loop nest over ``zs[0], zs[1], ...`` an expression that depends on the first ``d``
    variables only is computed once per iteration of loop ``d`` (``d = 0``: before the loops),
    not at every point of the tensor product (loop-invariant code motion, done here on the
    sympy tree: numba does not move calls of ``math.tanh`` out of loops). Sums and products
    are split by the depth of their terms: in a four-dimensional average of
    ``g'(L_00 z_0) g'(L_10 z_0 + L_11 z_1) g(...) g(L_30 z_0 + ... + L_33 z_3)`` each factor
    is evaluated once per point of the loops it needs, and the innermost loop evaluates one
    ``g``. Returns ``len(zs) + 1`` lists of assignments ``(symbol, value)`` and the integrand
    in their symbols.
    """
    replacements, (reduced,) = sp.cse(
        [_stable(sp.sympify(integrand))], symbols=sp.numbered_symbols("_x"), order="none"
    )
    depth = {z: k + 1 for k, z in enumerate(zs)}
    levels = [[] for _ in range(len(zs) + 1)]
    names, memo = sp.numbered_symbols("_h"), {}

    def depth_of(e):
        return max((depth.get(s, 0) for s in e.free_symbols), default=0)

    def hoist(e, level):
        """``e`` as computed at ``level``, its parts that need fewer loops assigned outside."""
        if e.is_Atom:
            return e
        d = depth_of(e)
        if d < level and isinstance(e, sp.Expr):
            if e not in memo:
                value = hoist(e, d)
                if value.is_Atom:
                    return value
                memo[e] = next(names)
                depth[memo[e]] = d
                levels[d].append((memo[e], value))
            return memo[e]
        if isinstance(e, (sp.Add, sp.Mul)):
            outer = [a for a in e.args if depth_of(a) < level]
            parts = [hoist(a, level) for a in e.args if depth_of(a) >= level]
            if outer:
                parts.append(hoist(e.func(*outer), level))
            return e.func(*parts)
        return e.func(*[hoist(a, level) for a in e.args])

    for x, value in replacements:
        depth[x] = depth_of(value)
        levels[depth[x]].append((x, hoist(value, depth[x])))
    return levels, hoist(reduced, len(zs))


def expectation_function(name, args, node, rule, order, printer):
    """Source of a function computing ``node`` by quadrature; returns ``(source, constants)``.

    .. math:: \\mathbb{E}_z f(z) \\approx \\sum_{k_1 \\dots k_d} w_{k_1} \\cdots w_{k_d}\\,
              f(z_{k_1}, \\dots, z_{k_d})

    ``node`` comes from :func:`lift_expectations`: the expectations nested in it are calls
    of their own functions, evaluated at every node of this one's loop (nested quadrature).
    ``order`` is the number of nodes of the outermost expectations (an int, or a mapping
    dimension -> nodes, the default for dimensions it does not name); a nested one
    (``_expect_in_k``) is an integral at a fixed point of the outer loop, whose integrand
    does not sharpen with the outer rule, and takes the default order of its dimension.
    """
    zs = node.variables
    nested = name.startswith("_expect_in_")
    if hasattr(order, "get"):  # nodes by dimension
        order = order.get(len(zs))
    order = (None if nested else order) or default_order(rule, len(zs))
    tag, constants = quadrature_constants(rule, order)
    if node.integrand.has(GaussianExpectation):
        raise CompileError(
            f"expectation_function needs a lifted node (see lift_expectations): {node}"
        )
    src = [
        f"def {name}({', '.join(printer.doprint(a) for a in args)}):",
        f'    """{str(node)[:300]}, by the {rule} rule, {order} nodes per variable."""',
        "    total = 0.0",
    ]
    levels, result = _loop_levels(node.integrand, zs)
    src += [f"    {printer.doprint(x)} = {printer.doprint(v)}" for x, v in levels[0]]
    for k, z in enumerate(zs):
        pad = "    " * (k + 1)
        src.append(f"{pad}for _k{k} in range({order}):")
        src.append(f"{pad}    {printer.doprint(z)} = _Z{tag}[_k{k}]")
        weight = f"_W{tag}[_k{k}]" + (f" * _w{k - 1}" if k else "")
        src.append(f"{pad}    _w{k} = {weight}")
        src += [f"{pad}    {printer.doprint(x)} = {printer.doprint(v)}" for x, v in levels[k + 1]]
    src.append(f"{'    ' * (len(zs) + 1)}total += _w{len(zs) - 1} * ({printer.doprint(result)})")
    src.append("    return total")
    return "\n".join(src), constants
