"""Exceptions of the numerical layer, under ``derive.CavitylabError``."""

from derive.errors import CavitylabError, InputError

__all__ = ["CompileError", "ConvergenceError", "InputError"]


class CompileError(CavitylabError, ValueError):
    """Equations that cannot be turned into a numba nopython kernel.

    The message names the sub-expression (usually a function) at fault.
    """


class ConvergenceError(CavitylabError, RuntimeError):
    """An iteration that did not converge, raised only when the caller asked for ``strict=True``.

    ``result`` holds the non-converged result, with its history and message.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result
