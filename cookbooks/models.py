"""Model files: plain Python that defines ``model = ...`` with the DSL."""

import runpy
import traceback
from pathlib import Path

from .errors import CookbookError

__all__ = ["load_model"]


def _line_in(path, exc):
    """The last line number of ``path`` in the traceback of ``exc``, or None."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            if Path(frame.filename).resolve() == path:
                line = frame.lineno
        except OSError:  # pragma: no cover - odd file names in a traceback
            continue
    return line


def load_model(path, variable="model"):
    """Run the model file ``path`` and return its ``model`` variable.

    Raises
    ------
    CookbookError
        One line naming the file: it does not exist, it has a syntax error, it raised
        (with the exception type, message and line), or it defines no ``model``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "m.py")
    ...     _ = open(p, "w").write("x = 1\\n")
    ...     try:
    ...         load_model(p)
    ...     except CookbookError as err:
    ...         print(str(err).split(": ", 1)[1])
    defines no variable 'model'; a model file must set model = PairwiseModel(...) or another model of the DSL
    """
    p = Path(path)
    if not p.is_file():
        what = "is a directory, not" if p.is_dir() else "not found: no such"
        raise CookbookError(f"{path}: {what} model file")
    resolved = p.resolve()
    try:
        namespace = runpy.run_path(str(p), run_name="__cavitylab_model__")
    except SyntaxError as err:
        raise CookbookError(f"{path}:{err.lineno}: syntax error: {err.msg}") from None
    except Exception as err:  # noqa: BLE001 - any error of user code becomes one line
        line = _line_in(resolved, err)
        where = f"{path}:{line}" if line else str(path)
        message = " ".join(str(err).split()) or "(no message)"
        raise CookbookError(f"{where}: {type(err).__name__}: {message}") from None
    if variable not in namespace:
        raise CookbookError(
            f"{path}: defines no variable {variable!r}; a model file must set "
            f"{variable} = PairwiseModel(...) or another model of the DSL"
        )
    return namespace[variable]
