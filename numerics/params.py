"""Parameter values by name: the one check every solver makes at its edge."""

import math

__all__ = ["parameter_values"]


def parameter_values(symbols, params):
    """``{symbol: float}`` for ``symbols``, read by name from ``params``.

    Raises
    ------
    ValueError
        Naming the parameters without a value, or one whose value is not a finite number.

    Examples
    --------
    >>> import sympy as sp
    >>> rho = sp.Symbol("rho")
    >>> parameter_values([rho], {"rho": 0.2})
    {rho: 0.2}
    >>> parameter_values([rho], {})
    Traceback (most recent call last):
        ...
    ValueError: params: no value for model parameter(s) ['rho']
    """
    given = {str(k): v for k, v in dict(params or {}).items()}
    missing = [s.name for s in symbols if s.name not in given]
    if missing:
        raise ValueError(f"params: no value for model parameter(s) {missing}")
    out = {}
    for s in symbols:
        try:
            value = float(given[s.name])
        except (TypeError, ValueError):
            raise ValueError(f"params[{s.name!r}] = {given[s.name]!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"params[{s.name!r}] = {value} is not finite")
        out[s] = value
    return out
