"""The one exception of the symbolic layer."""

__all__ = ["ModelError"]


class ModelError(ValueError):
    """A model that cannot be derived from, with the offending term named.

    Raised for an empty or non-numeric alphabet, an energy that uses a symbol the
    model does not declare, a density that does not normalise, and the like.
    It subclasses ``ValueError`` so that callers who only know the standard
    library still catch it.
    """
