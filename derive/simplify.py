"""Generic simplification passes shared by every family.

Nothing here knows a model: these are rewrites any derived expression goes
through before printing, chosen by size and numerical safety.
"""

import sympy as sp

from .functions import LogSumExp

__all__ = ["boltzmann_average", "nicest"]


def nicest(expr, candidates=()):
    """The candidate with the fewest operations among ``expr`` and ``candidates``."""
    options = [expr, *candidates]
    return min(options, key=lambda e: (sp.count_ops(e), len(str(e))))


def boltzmann_average(values, energies, beta, simplify_up_to=3):
    r"""Average of ``values[a]`` under weights ``exp(-beta * energies[a])``.

    .. math:: \langle g \rangle = \sum_a g_a \, e^{-\beta E_a - \mathrm{LSE}_b(-\beta E_b)}

    The log-sum-exp form never overflows. For small alphabets sympy's
    ``simplify`` of the plain ratio is tried as well; when it closes to an
    expression without exponentials (for two states it finds ``tanh``) that
    form is returned instead, being both shorter and stable.

    Returns
    -------
    expr : sympy expression
    method : str
        ``"closed form"`` or ``"log-sum-exp"``.
    """
    exponents = [sp.factor(sp.expand(-beta * e)) for e in energies]
    lse = LogSumExp(*exponents)
    stable = sp.Add(*[v * sp.exp(x - lse) for v, x in zip(values, exponents) if v != 0])
    if len(energies) <= simplify_up_to:
        ratio = sp.Add(*[v * sp.exp(x) for v, x in zip(values, exponents)]) / \
            sp.Add(*[sp.exp(x) for x in exponents])
        closed = sp.simplify(ratio)
        if not closed.has(sp.exp):
            return closed, "closed form"
    return stable, "log-sum-exp"
