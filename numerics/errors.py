"""Exceptions of the numerical layer."""

__all__ = ["CompileError", "ConvergenceError"]


class CompileError(ValueError):
    """Equations that cannot be turned into a numba nopython kernel.

    The message names the sub-expression (usually a function) at fault.
    """


class ConvergenceError(RuntimeError):
    """An iteration that did not converge, raised only when the caller asked for strictness."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result
