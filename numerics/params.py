"""Parameter values by name: the one check every solver makes at its edge."""

import math

from .errors import InputError

__all__ = ["parameter_values"]


def _range_error(symbol, value):
    """Why ``value`` is outside the range that ``symbol``'s sympy assumptions declare, or None."""
    if symbol.is_positive and not value > 0:
        return "must be positive (the symbol is declared positive=True)"
    if symbol.is_nonnegative and not value >= 0:
        return "must be non-negative (the symbol is declared nonnegative=True)"
    if symbol.is_negative and not value < 0:
        return "must be negative (the symbol is declared negative=True)"
    if symbol.is_integer and value != int(value):
        return "must be an integer (the symbol is declared integer=True)"
    return None


def parameter_values(symbols, params, extra=()):
    """``{symbol: float}`` for ``symbols``, read by name from ``params``.

    Parameters
    ----------
    symbols : sequence of sympy Symbol
        The parameters the model declares.
    params : mapping name -> number
    extra : sequence of str
        Further names the caller accepts in ``params`` (and reads itself).

    Raises
    ------
    InputError
        Naming a key the model does not have (listing the ones it has), the parameters
        without a value, a value that is not a finite number, or one outside the range its
        symbol declares (``positive=True``, ``nonnegative=True``, ...).

    Examples
    --------
    >>> import sympy as sp
    >>> rho = sp.Symbol("rho", positive=True)
    >>> parameter_values([rho], {"rho": 0.2})
    {rho: 0.2}
    >>> parameter_values([rho], {})
    Traceback (most recent call last):
        ...
    derive.errors.InputError: params: no value for model parameter(s) ['rho']
    >>> parameter_values([rho], {"rho": 0.2, "rh0": 1})
    Traceback (most recent call last):
        ...
    derive.errors.InputError: params: unknown parameter(s) ['rh0']; the model's parameters are ['rho']
    >>> parameter_values([rho], {"rho": -1})
    Traceback (most recent call last):
        ...
    derive.errors.InputError: params['rho'] = -1.0 must be positive (the symbol is declared positive=True)
    """
    try:
        given = {str(k): v for k, v in dict(params or {}).items()}
    except (TypeError, ValueError):
        raise InputError(f"params must be a mapping name -> value, got {params!r}") from None
    names = [s.name for s in symbols]
    unknown = sorted(set(given) - set(names) - set(extra))
    if unknown:
        raise InputError(
            f"params: unknown parameter(s) {unknown}; the model's parameters are {names}"
        )
    missing = [n for n in names if n not in given]
    if missing:
        raise InputError(f"params: no value for model parameter(s) {missing}")
    out = {}
    for s in symbols:
        try:
            value = float(given[s.name])
        except (TypeError, ValueError):
            raise InputError(f"params[{s.name!r}] = {given[s.name]!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"params[{s.name!r}] = {value} is not finite")
        why = _range_error(s, value)
        if why:
            raise InputError(f"params[{s.name!r}] = {value} {why}")
        out[s] = value
    return out
