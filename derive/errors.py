"""cavitylab's exceptions: one base, a few specific kinds.

Every error that cavitylab raises on purpose is a :class:`CavitylabError`, so that
the command line (and a user's script) can tell bad input from a bug. The kinds
also subclass the standard exception a caller would expect (``ValueError``,
``RuntimeError``).

``numerics`` adds ``CompileError`` and ``ConvergenceError`` under the same base.
"""

__all__ = ["CavitylabError", "ModelError", "InputError"]


class CavitylabError(Exception):
    """Base of every exception cavitylab raises on purpose."""


class ModelError(CavitylabError, ValueError):
    """A model that cannot be derived from, with the offending term named.

    Raised for an empty or non-numeric alphabet, an energy that uses a symbol the
    model does not declare, a density that does not normalise, and the like.
    """


class InputError(CavitylabError, ValueError):
    """An argument that is not what the model or solver means.

    Wrong shape, NaN or inf, labels outside the channel's support, a parameter
    outside its declared range, an unknown parameter key (the message lists the
    known ones), a size that is not positive.
    """
