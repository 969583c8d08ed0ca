"""``compile``: Equations -> numba kernels, cached in memory and on disk.

The generated source (:func:`numerics.codegen.module_source`) is written to
``<cache>/cavitylab_k<hash of the source>.py`` and imported, so that ``numba.njit(cache=True)``
can cache the machine code beside it: a second process loads both from disk.
The cache directory is ``$CAVITYLAB_CACHE`` if set, else
``~/.cache/cavitylab``. The same file is what :func:`numerics.export` writes.
"""

import hashlib
import importlib
import os
import sys
import threading
from pathlib import Path

import numba
import numpy as np

from .codegen import DEFAULT_RULE, module_source
from .errors import CompileError, InputError

__all__ = ["compile", "Kernel", "cache_dir", "load_source"]

_MEMORY = {}
_LOCK = threading.Lock()


def cache_dir():
    """The directory of generated modules (created on first use)."""
    path = Path(os.environ.get("CAVITYLAB_CACHE") or Path.home() / ".cache" / "cavitylab")
    path.mkdir(parents=True, exist_ok=True)
    if str(path) not in sys.path:
        sys.path.append(str(path))
    return path


def load_source(source, prefix):
    """Write ``source`` to ``<cache>/<prefix><hash>.py`` and import it.

    The name carries a hash of the source itself: numba's on-disk cache checks
    only a module's own file, so a module that imports another generated one
    must change name whenever anything it depends on changes.
    """
    name = f"{prefix}{hashlib.sha256(source.encode()).hexdigest()[:24]}"
    path = cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)  # atomic: concurrent processes never see half a file
    if name in sys.modules:
        return sys.modules[name]
    importlib.invalidate_caches()
    return importlib.import_module(name)


class Kernel:
    """Compiled equations.

    Attributes
    ----------
    equations : derive.Equations
    module : module
        The generated module (``outputs``, ``observables``, their ``_array``
        forms and, for graph models, ``fields``, ``sweep``...).
    arguments : tuple of str
        Argument order of :meth:`__call__`: inputs, then node parameters, by
        the names of their symbols (the generated module may rename a symbol
        that is not a valid or free Python identifier; its ``ARGUMENTS`` says how).
    outputs, observables : tuple of str
        Names of the results, in order.
    quadrature, order
        How its Gaussian averages were lowered (see :func:`compile`).
    """

    def __init__(self, equations, module, quadrature=DEFAULT_RULE, order=None):
        self.equations = equations
        self.module = module
        self.quadrature = quadrature
        self.order = order
        self.arguments = tuple(s.name for s in equations.arguments)
        self.outputs = tuple(s.name for s in equations.outputs)
        self.observables = tuple(s.name for s in equations.observables)
        self.roles = {s.name: r for s, r in equations.roles.items()}

    def names(self, *roles):
        """The argument names of the given role(s), in argument order."""
        return tuple(n for n in self.arguments if self.roles.get(n) in roles)

    def bind(self, values=None, **named):
        """The arguments by name -> a tuple of floats in the kernel's argument order.

        Parameters
        ----------
        values : mapping name -> number, optional
        **named : number
            More values by name (they override ``values``).

        Raises
        ------
        InputError
            For a name the kernel does not take (the message lists the ones it takes),
            a missing argument, or a value that is not a finite number.

        Examples
        --------
        >>> import sympy as sp
        >>> from derive import Equations
        >>> x, k = sp.symbols("x k")
        >>> kern = compile(Equations("scale", "map", [x], [k], {sp.Symbol("y"): k * x}))
        >>> kern.bind({"k": 2}, x=1.5)
        (1.5, 2.0)
        """
        given = {str(k): v for k, v in dict(values or {}).items()}
        given.update(named)
        unknown = sorted(set(given) - set(self.arguments))
        if unknown:
            raise InputError(
                f"'{self.equations.name}' has no argument(s) {unknown}; "
                f"it takes {list(self.arguments)}"
            )
        missing = [n for n in self.arguments if n not in given]
        if missing:
            raise InputError(f"'{self.equations.name}': no value for {missing}")
        out = []
        for n in self.arguments:
            try:
                v = float(given[n])
            except (TypeError, ValueError):
                raise InputError(
                    f"argument {n!r} of '{self.equations.name}' is {given[n]!r}, not a number"
                ) from None
            if not np.isfinite(v):
                raise InputError(f"argument {n!r} of '{self.equations.name}' is {v}")
            out.append(v)
        return tuple(out)

    @property
    def path(self):
        return Path(self.module.__file__)

    @property
    def source(self):
        return self.path.read_text()

    def _args(self, args, kwargs):
        if kwargs:
            names = list(self.arguments)
            values = list(args) + [None] * (len(names) - len(args))
            for k, v in kwargs.items():
                if k not in names:
                    raise TypeError(f"unknown argument {k!r}; the kernel takes {names}")
                values[names.index(k)] = v
            args = values
        if len(args) != len(self.arguments) or any(a is None for a in args):
            raise TypeError(
                f"the kernel takes {len(self.arguments)} arguments "
                f"{self.arguments}, got {len(args)}"
            )
        for name, a in zip(self.arguments, args):
            if np.any(np.isnan(np.asarray(a, dtype=float))):
                raise ValueError(f"argument {name!r} of '{self.equations.name}' is NaN")
        return args

    def __call__(self, *args, **kwargs):
        """The outputs at one point, as a tuple of floats (one float if one output)."""
        r = self.module.outputs(*map(float, self._args(args, kwargs)))
        return r[0] if len(r) == 1 else r

    def evaluate_observables(self, *args, **kwargs):
        """The observables at one point, as a tuple of floats."""
        return self.module.observables(*map(float, self._args(args, kwargs)))

    def array(self, *args, observables=False, **kwargs):
        """Vectorised form: broadcast the arguments; returns an array ``(n_out, *shape)``."""
        arrays = np.broadcast_arrays(
            *[np.asarray(a, dtype=np.float64) for a in self._args(args, kwargs)]
        )
        shape = arrays[0].shape
        flat = [np.array(a, dtype=np.float64).ravel() for a in arrays]  # writeable copies
        names = self.observables if observables else self.outputs
        out = np.empty((len(names), flat[0].size if flat else 1))
        fn = self.module.observables_array if observables else self.module.outputs_array
        fn(*flat, out)
        return out.reshape((len(names),) + shape)

    def __repr__(self):
        return (
            f"Kernel({self.equations.name!r}, arguments={self.arguments}, outputs={self.outputs})"
        )


def compile(equations, quadrature=DEFAULT_RULE, order=None):
    """Compile ``equations`` into numba nopython kernels.

    Parameters
    ----------
    equations : derive.Equations
    quadrature : {"trapezoid", "hermite"}, optional
        How ``GaussianExpectation`` nodes are lowered: the truncated trapezoidal
        rule (default; exponentially convergent for analytic integrands) or
        Gauss--Hermite.
    order : int or mapping, optional
        Quadrature nodes per Gaussian variable: one number for every expectation, or a
        mapping dimension -> nodes (``{4: 25}``: four-dimensional averages on 25 nodes per
        variable, the others by default); default by rule and dimension.

    Returns
    -------
    Kernel

    Raises
    ------
    CompileError
        Naming the function or sub-expression that numba cannot compile.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import Equations
    >>> m, beta = sp.symbols("m beta")
    >>> k = compile(Equations("Curie-Weiss", "fixed_point", [m], [beta], {m: sp.tanh(beta * m)}))
    >>> round(k(0.5, 2.0), 12)
    0.761594155956
    """
    order = _order(order)
    key = (equations.key, quadrature, order)
    with _LOCK:
        kernel = _MEMORY.get(key)
        if kernel is not None:
            return kernel
        nodes = dict(order) if isinstance(order, tuple) else order
        source = module_source(equations, quadrature=quadrature, order=nodes)
        module = load_source(source, "cavitylab_k")
        _check_compiles(equations, module)
        kernel = _MEMORY[key] = Kernel(equations, module, quadrature, nodes)
        return kernel


def _order(order):
    """``order`` checked: None, a node count >= 2, or a mapping dimension -> node count
    (returned as a sorted tuple of pairs, hashable)."""

    def count(n, what, least=2):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
            raise InputError(f"{what} must be a whole number >= {least}, got {n!r}")
        return int(n)

    if order is None:
        return None
    if hasattr(order, "items"):
        return tuple(
            sorted(
                (count(d, "a dimension in order", 1), count(n, "order")) for d, n in order.items()
            )
        )
    return count(order, "order")


def _check_compiles(equations, module):
    signature = (numba.float64,) * len(module.ARGUMENTS)
    for fn_name in ("outputs", "observables"):
        try:
            getattr(module, fn_name).compile(signature)
        except numba.core.errors.NumbaError as err:
            exprs = dict(equations.outputs if fn_name == "outputs" else equations.observables)
            culprit = _first_failing(exprs)
            raise CompileError(
                f"numba cannot compile the {fn_name} of '{equations.name}'"
                + (f": {culprit}" if culprit else "")
                + f"\n(numba said: {str(err).splitlines()[0]})"
            ) from None


def _first_failing(exprs):
    """The first output expression that does not compile on its own, by name."""
    import sympy as sp

    from derive import Equations  # local: only on the error path

    for sym, expr in exprs.items():
        args = sorted(expr.free_symbols, key=str)
        eqs = Equations("probe", "map", args, [], {sp.Symbol("probe"): expr})
        try:
            mod = load_source(module_source(eqs), "cavitylab_probe")
            mod.outputs.compile((numba.float64,) * len(args))
        except (numba.core.errors.NumbaError, CompileError):
            return f"{sym} = {expr}"
    return None
