"""The exception of the cookbooks layer."""

from derive.errors import CavitylabError

__all__ = ["CookbookError"]


class CookbookError(CavitylabError, ValueError):
    """Bad input at the command line: a model file that does not load, an unknown recipe,
    a model type with no derivation or no checks yet.

    A ``CavitylabError``: the command line reports it like every other one, one line
    ``error: ...`` and exit status 2.
    """
