"""Generic simplification passes shared by every family.

Nothing here knows a model: these are rewrites any derived expression goes
through before printing, chosen by size and numerical safety.
"""

import sympy as sp

from .functions import LogSumExp

__all__ = ["boltzmann_average", "log_ratio", "exp_ratios_to_tanh"]


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
        ratio = sp.Add(*[v * sp.exp(x) for v, x in zip(values, exponents)]) / sp.Add(
            *[sp.exp(x) for x in exponents]
        )
        closed = sp.simplify(ratio)
        if not closed.has(sp.exp):
            return closed, "closed form"
    return stable, "log-sum-exp"


def exp_ratios_to_tanh(expr):
    r"""Rewrite ratios :math:`(e^{y} - 1)/(e^{y} + 1)` as :math:`\tanh(y/2)`, after factoring.

    Exponentials are split into products of single-term exponentials and taken
    as the generators of a rational function, which sympy factors; each
    generator ``X = e^y`` whose ``X - 1`` sits in the numerator and ``X + 1``
    in the denominator becomes ``tanh(y/2)``. What does not pair up stays.

    Examples
    --------
    >>> import sympy as sp
    >>> b, J, h = sp.symbols("beta J h", real=True)
    >>> N = sp.exp(b * (J + h)) + sp.exp(-b * (J + h))
    >>> M = sp.exp(b * (h - J)) + sp.exp(b * (J - h))
    >>> exp_ratios_to_tanh((N - M) / (N + M))
    tanh(J*beta)*tanh(beta*h)
    """
    split = sp.expand(sp.simplify(expr)).replace(
        lambda x: isinstance(x, sp.exp),
        lambda x: sp.Mul(*[sp.exp(t) for t in sp.Add.make_args(sp.expand(x.args[0]))]),
    )
    gens = {a: sp.Dummy("X") for a in split.atoms(sp.exp)}
    num, den = sp.fraction(sp.factor(split.xreplace(gens)))
    num, den = list(sp.Mul.make_args(num)), list(sp.Mul.make_args(den))
    tanhs = []
    for a, X in gens.items():
        for sign, factor in ((1, X - 1), (-1, 1 - X)):
            if factor in num and X + 1 in den:
                num.remove(factor)
                den.remove(X + 1)
                tanhs.append(sign * sp.tanh(a.args[0] / 2))
                break
    back = {X: a for a, X in gens.items()}
    return (sp.Mul(*tanhs) * sp.Mul(*num) / sp.Mul(*den)).xreplace(back)


def log_ratio(numerator, denominator):
    r""":math:`\log \sum_a e^{x_a} - \log \sum_b e^{y_b}` in the nicest stable form.

    With two terms on each side the ratio is tried as
    :math:`2\,\mathrm{atanh}\big((N - M)/(N + M)\big)`, kept when the inner
    ratio closes without exponentials (it does, to a product of ``tanh``, for
    the cavity bias of the Ising model); otherwise the difference of two
    ``LogSumExp``, which never overflows.

    Returns
    -------
    expr : sympy expression
    method : str
        ``"closed form"`` or ``"log-sum-exp"``.
    """
    if len(numerator) == 2 and len(denominator) == 2:
        N = sp.Add(*[sp.exp(x) for x in numerator])
        M = sp.Add(*[sp.exp(y) for y in denominator])
        inner = exp_ratios_to_tanh((N - M) / (N + M))
        if not inner.has(sp.exp):
            return 2 * sp.atanh(inner), "closed form"
    return LogSumExp(*numerator) - LogSumExp(*denominator), "log-sum-exp"
