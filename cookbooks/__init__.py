"""cavitylab's top layer: one module per classic result, the command line, all plotting.

``cookbooks`` is the only package that imports matplotlib, and only lazily,
through the Agg canvas (no display, no pyplot state). A *recipe* is a module
with ``NAME``, ``SUMMARY``, ``run(quick, out, seed) -> dict`` (it writes
``out/NAME.json`` and ``out/NAME.png``) and ``table(results) -> str``; see
:mod:`cookbooks.registry`. What the command line does with a model file
depends on the model's type, through the table in :mod:`cookbooks.families`.
"""

from .errors import CookbookError
from .families import FAMILIES, Family, family_of, register
from .models import load_model
from .registry import get_recipe, recipes

__all__ = [
    "CookbookError",
    "FAMILIES",
    "Family",
    "family_of",
    "register",
    "load_model",
    "get_recipe",
    "recipes",
]
