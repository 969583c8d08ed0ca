"""The one exception of the cookbooks layer."""

__all__ = ["CookbookError"]


class CookbookError(ValueError):
    """Bad input at the command line: a model file that does not load, an unknown recipe,
    a model type with no derivation or no checks yet.

    A ``ValueError``, like ``derive.ModelError`` and ``numerics.CompileError``, so the
    command line reports all of them the same way: one line ``error: ...``, exit status 2.
    """
