"""``export``: write the standalone solver of a set of equations."""

from pathlib import Path

from .codegen import DEFAULT_RULE
from .compile import compile

__all__ = ["export"]


def export(equations, path, quadrature=DEFAULT_RULE, order=None):
    """Write the standalone, readable solver module of ``equations`` to ``path``.

    The file needs numpy and numba only (no sympy, no cavitylab); its
    docstring holds the equations. It is the very module that
    :func:`numerics.compile` generates and caches, so importing it in a fresh
    interpreter gives the numbers of the compiled kernel.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    kernel = compile(equations, quadrature=quadrature, order=order)
    path = Path(path)
    if path.suffix != ".py":
        raise ValueError(f"export path must end in .py, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kernel.source)
    return path
