"""What the command line does with a model, by the model's type: one table, one entry per family.

A family says which derivations ``cavitylab derive`` prints, which equations
``cavitylab export`` writes as a standalone solver, and which property checks
``cavitylab verify`` runs (a function of :mod:`cookbooks.verify`, or None while
there are none). A new family (GLM priors and channels, committee machines,
epidemics) adds one :class:`Family` with :func:`register`; the command line does
not change.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import derive

from . import verify
from .errors import CookbookError

__all__ = ["Family", "FAMILIES", "register", "family_of"]


@dataclass(frozen=True)
class Family:
    """How the command line treats models of one type.

    Attributes
    ----------
    name : str
        The family, in words.
    model_type : type
        Models that are instances of it belong to the family.
    derivations : callable
        ``model -> list of derive.Equations``: what ``cavitylab derive`` prints.
    solver : callable
        ``model -> derive.Equations``: what ``cavitylab export`` writes.
    verify : callable or None
        ``verify(model, examples, seed)`` yielding :class:`cookbooks.verify.Check`;
        None when the family has no property checks yet.
    """

    name: str
    model_type: type
    derivations: Callable
    solver: Callable
    verify: Optional[Callable] = None


FAMILIES = [
    Family("pairwise spin models", derive.PairwiseModel,
           derivations=lambda model: [derive.meanfield(model)],
           solver=derive.meanfield,
           verify=verify.verify_pairwise),
]


def register(family):
    """Add a family (first match wins, so register subclasses before their bases)."""
    if not isinstance(family, Family):
        raise TypeError(f"register needs a Family, got {type(family).__name__}")
    FAMILIES.append(family)
    return family


def family_of(model):
    """The :class:`Family` of ``model``.

    Raises
    ------
    CookbookError
        If no family knows the model's type.

    Examples
    --------
    >>> import sympy as sp
    >>> si, sj, J = sp.symbols("s_i s_j J", real=True)
    >>> family_of(derive.PairwiseModel((-1, 1), -J * si * sj, variables=(si, sj))).name
    'pairwise spin models'
    >>> family_of(3.0)
    Traceback (most recent call last):
        ...
    cookbooks.errors.CookbookError: model is of type float, which no family of cavitylab knows; known model types: PairwiseModel
    """
    for family in FAMILIES:
        if isinstance(model, family.model_type):
            return family
    known = ", ".join(f.model_type.__name__ for f in FAMILIES)
    raise CookbookError(f"model is of type {type(model).__name__}, which no family of cavitylab "
                        f"knows; known model types: {known}")
