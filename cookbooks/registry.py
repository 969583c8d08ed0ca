"""The recipes: one module per classic result.

A recipe module defines

* ``NAME`` (the command-line name, e.g. ``"ising-meanfield"``) and ``SUMMARY`` (one line);
* ``run(quick=False, out=None, seed=0) -> dict``: computes through ``derive``,
  ``numerics`` and ``graphs`` (never a model's textbook formula), writes
  ``out/NAME.json`` (the returned dict) and ``out/NAME.png``, and shows progress on
  stderr; ``out`` defaults to ``results/NAME``;
* ``table(results) -> str``: the numbers for stdout.

A new recipe is a new module plus one line in :data:`RECIPE_MODULES`.
"""

import importlib

from .errors import CookbookError

__all__ = ["RECIPE_MODULES", "recipes", "get_recipe"]

#: Modules of :mod:`cookbooks` that are recipes, in the order ``cavitylab list`` shows them.
RECIPE_MODULES = (
    "ising_meanfield",
    "bp_random_graphs",
    "sk_phase_diagram",
    "perceptron_binary",
    "perceptron_gaussian",
    "compressed_sensing",
    "epidemic_dmp",
    "gaussian_equivalence",
    "double_descent",
    "gardner_capacity",
    "contact_tracing",
    "online_sgd",
    "online_sgd_overparam",
    "online_lr_scan",
)


def recipes():
    """``{NAME: module}`` of every recipe, in order.

    >>> list(recipes())
    ['ising-meanfield', 'bp-random-graphs', 'sk-phase-diagram', 'perceptron-binary', 'perceptron-gaussian', 'compressed-sensing', 'epidemic-dmp', 'gaussian-equivalence', 'double-descent', 'gardner-capacity', 'contact-tracing', 'online-sgd', 'online-sgd-overparam', 'online-sgd-learning-rate']
    """
    out = {}
    for module_name in RECIPE_MODULES:
        module = importlib.import_module(f"{__package__}.{module_name}")
        out[module.NAME] = module
    return out


def get_recipe(name):
    """The recipe module called ``name``; a :class:`CookbookError` listing the known ones if none."""
    known = recipes()
    if name not in known:
        raise CookbookError(
            f"unknown recipe {name!r}; known recipes: {', '.join(known)} (see cavitylab list)"
        )
    return known[name]
