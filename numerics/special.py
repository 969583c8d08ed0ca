"""Special functions that numba's ``math`` lacks, written as plain Python source.

The code generator of cavitylab writes standalone modules (numpy + numba only)
and copies into them the source text of the helpers below.  Every helper is
therefore

* a plain, undecorated, top-level function that uses only ``math``, ``numpy``
  (as ``np``) and other helpers of this module;
* written so that ``numba.njit`` compiles it in nopython mode;
* free of module-level constants (float literals are inlined), so that its
  source text is self-contained.

Public interface
----------------
HELPERS : dict[str, tuple[str, ...]]
    helper name -> names of the other helpers it calls directly.
helper_source(names) -> str
    Source text of the requested helpers and all their dependencies,
    dependency-first, each decorated with
    ``@numba.njit(cache=True, fastmath=False)``.
jitted(name)
    A compiled version of one helper, for use from Python and tests: a module
    generated from the same source text and loaded through the one loader of
    generated code (:func:`numerics.compile.load_source`), so it is cached on disk
    like every kernel.
gauss_hermite(n)
    Probabilists' Gauss-Hermite nodes and weights for expectations over a
    standard normal variable (plain numpy, not a helper for generated code).

Accuracy (measured against mpmath at 40 digits, see
``tests/numerics/test_special.py``): ``erfcx``, ``ndtr``, ``log_ndtr``,
``erfinv`` and ``logsumexp`` are accurate to a few units in the last place.
"""

from __future__ import annotations

import functools
import inspect
import math

import numpy as np

__all__ = [
    "HELPERS",
    "helper_source",
    "jitted",
    "gauss_hermite",
    "erfcx",
    "ndtr",
    "log_ndtr",
    "logsumexp",
    "erfinv",
    "logcosh",
    "atanh_tanh_product",
]

# ---------------------------------------------------------------------------
# Helpers (plain source; compiled by numba in generated code).
# ---------------------------------------------------------------------------


def _expx2(x, s):
    """Accurate ``exp(s * x**2)`` for ``s`` a (signed) power of two.

    Parameters
    ----------
    x : float
        Argument.
    s : float
        Scale of the square; must be a power of two (e.g. 1.0, -1.0, -0.5)
        so that ``s * x**2`` is formed without extra rounding.

    Returns
    -------
    float
        ``exp(s x^2)``.

    Notes
    -----
    A naive ``exp(s*x*x)`` has relative error ``~ |s| x^2 eps`` because of
    the rounding of ``x*x``.  Here ``x^2 = hi + lo`` exactly (Dekker's
    product with Veltkamp's splitting), and
    ``exp(s x^2) = exp(s hi) * exp(s lo) ~= exp(s hi) * (1 + s lo)``,
    which is accurate to a few ulp.  Same purpose as ``expx2`` in Cephes.

    References
    ----------
    T. J. Dekker, "A floating-point technique for extending the available
    precision", Numer. Math. 18 (1971) 224-242.
    """
    ax = abs(x)
    if not ax < 1.0e150:
        # x*x overflows (or x is inf/nan): no splitting needed or possible.
        return math.exp(s * x * x)
    c = 134217729.0 * ax
    xh = c - (c - ax)
    xl = ax - xh
    hi = ax * ax
    lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl
    return math.exp(s * hi) * (1.0 + s * lo)


def erfcx(x):
    """Scaled complementary error function ``erfcx(x) = exp(x^2) erfc(x)``.

    Parameters
    ----------
    x : float
        Argument, any real value.

    Returns
    -------
    float
        ``exp(x^2) erfc(x)``; ``+inf`` once ``exp(x^2)`` overflows
        (``x < -26.64``), 0 at ``+inf``, NaN for NaN.

    Notes
    -----
    * ``0 <= x < 10``: ``exp(x^2) * erfc(x)`` with ``x^2`` split exactly
      (``_expx2``) and the libm ``erfc`` (~1 ulp).
    * ``x >= 10``: the asymptotic series (Abramowitz & Stegun 7.1.23)

      ``erfcx(x) = 1/(x sqrt(pi)) * sum_k (-1)^k (2k-1)!! / (2 x^2)^k``,

      truncated when the term falls below 1e-17 of the sum; the series is
      alternating, so the truncation error is below the first omitted term
      (far below ``eps`` since the smallest term is ``~exp(-x^2)``).
    * ``x < 0``: the reflection ``erfcx(x) = 2 exp(x^2) - erfcx(-x)``
      (no cancellation: ``2 exp(x^2) >= 2 > erfcx(-x)``).

    Relative accuracy: a few ulp (~5e-16) over the whole real line.

    References
    ----------
    M. Abramowitz and I. A. Stegun, Handbook of Mathematical Functions,
    eq. 7.1.23; W. J. Cody, "Rational Chebyshev approximations for the error
    function", Math. Comp. 23 (1969) 631-637 (same reflection and splitting).
    """
    if x != x:
        return x
    ax = abs(x)
    if ax < 10.0:
        r = _expx2(ax, 1.0) * math.erfc(ax)
    else:
        q = 0.5 / (ax * ax)  # 0 when ax*ax overflows
        s = 1.0
        t = 1.0
        k = 1.0
        while k < 60.0:
            t = -t * (2.0 * k - 1.0) * q
            s += t
            if abs(t) < 1.0e-17 * s:
                break
            k += 1.0
        # 1/sqrt(pi) = 0.5641895835477563
        r = (0.5641895835477563 * s) / ax
    if x < 0.0:
        r = 2.0 * _expx2(ax, 1.0) - r
    return r


def ndtr(x):
    """Standard normal cumulative distribution function.

    ``Phi(x) = 1/2 erfc(-x / sqrt(2)) = int_{-inf}^x exp(-t^2/2) dt / sqrt(2 pi)``

    Parameters
    ----------
    x : float
        Argument.

    Returns
    -------
    float
        ``Phi(x)`` in [0, 1]; NaN for NaN.

    Notes
    -----
    For ``x >= -1`` the formula ``0.5 erfc(-x/sqrt(2))`` is used directly.
    In the lower tail ``x < -1`` it is evaluated as

    ``Phi(x) = 1/2 erfcx(-x/sqrt(2)) exp(-x^2/2)``

    with ``x^2`` split exactly: ``erfcx`` is insensitive to the rounding of
    ``x/sqrt(2)``, whereas ``erfc(-x/sqrt(2))`` amplifies it by ``~x^2``, so
    this keeps a few-ulp relative accuracy down to the underflow threshold.
    Below ``x = -37.5`` (subnormal results) the exponent and the log of the
    prefactor are added before a single ``exp``.

    References
    ----------
    W. J. Cody, "Rational Chebyshev approximations for the error function",
    Math. Comp. 23 (1969) 631-637; Cephes ``ndtr`` (S. L. Moshier).
    """
    if x != x:
        return x
    if x >= -1.0:
        return 0.5 * math.erfc(-x * 0.7071067811865476)
    e = erfcx(-x * 0.7071067811865476)
    if x < -37.5:
        return math.exp(math.log(0.5 * e) - 0.5 * x * x)
    return 0.5 * e * _expx2(x, -0.5)


def log_ndtr(x):
    """Logarithm of the standard normal CDF, ``log Phi(x)``, for all real x.

    Parameters
    ----------
    x : float
        Argument.

    Returns
    -------
    float
        ``log Phi(x)`` (<= 0); ``-inf`` at ``-inf``, ``-0.0``/tiny negative
        for large ``x``, NaN for NaN.

    Notes
    -----
    * ``x < -5``: ``log Phi(x) = log(erfcx(-x/sqrt(2)) / 2) - x^2/2``, which
      neither underflows nor cancels.
    * ``-5 <= x <= 0``: ``log(Phi(x))``.
    * ``x > 0``: ``log1p(-Phi(-x))`` (the upper tail is accurate to a few
      ulp relative, so is the result).

    References
    ----------
    Same decomposition as ``scipy.special.log_ndtr``; erfcx as in
    W. J. Cody, Math. Comp. 23 (1969) 631-637.
    """
    if x != x:
        return x
    if x < -5.0:
        return math.log(0.5 * erfcx(-x * 0.7071067811865476)) - 0.5 * x * x
    if x <= 0.0:
        return math.log(ndtr(x))
    return math.log1p(-ndtr(-x))


def logsumexp(xs):
    """Stable ``log(sum_i exp(x_i))`` of a tuple or 1-d array of float64.

    Parameters
    ----------
    xs : tuple of float or 1-d ndarray of float64
        Values (a homogeneous tuple is a numba ``UniTuple``).

    Returns
    -------
    float
        ``m + log1p(sum_{i != i_max} exp(x_i - m))`` with ``m = max_i x_i``;
        NaN if any value is NaN, ``+inf`` if any is ``+inf``, ``-inf`` if
        all are ``-inf`` (or the input is empty).

    Notes
    -----
    Shifting by the maximum avoids overflow; excluding (one occurrence of)
    the maximum from the sum and using ``log1p`` keeps full relative
    accuracy when the other terms are small (as ``scipy.special.logsumexp``
    does since SciPy 1.15).

    References
    ----------
    P. Blanchard, D. J. Higham and N. J. Higham, "Accurately computing the
    log-sum-exp and softmax functions", IMA J. Numer. Anal. 41 (2021)
    2311-2330.
    """
    m = -math.inf
    imax = -1
    i = 0
    for v in xs:
        if v != v:
            return math.nan
        if v > m:
            m = v
            imax = i
        i += 1
    if imax < 0:
        return -math.inf
    if m == math.inf:
        return math.inf
    s = 0.0
    i = 0
    for v in xs:
        if i != imax:
            s += math.exp(v - m)
        i += 1
    return m + math.log1p(s)


def erfinv(y):
    """Inverse error function: ``x`` such that ``erf(x) = y``.

    Parameters
    ----------
    y : float
        Argument in [-1, 1].

    Returns
    -------
    float
        ``erfinv(y)``; ``+-inf`` at ``y = +-1``; NaN outside [-1, 1] or for
        NaN; ``erfinv(+-0) = +-0``.

    Notes
    -----
    Starting value: Giles' single-precision approximation, with
    ``w = -log((1 - y)(1 + y))`` and a degree-8 polynomial in ``w - 2.5``
    (``w < 5``) or in ``sqrt(w) - 3`` (``w >= 5``), relative error ~1e-7.
    It is refined by two Halley steps for ``g(x) = erf(x) - y``,

    ``x <- x - u / (1 + x u)``, ``u = g(x) / (2/sqrt(pi) exp(-x^2))``,

    (cubic convergence: 1e-7 -> 1e-21 -> eps).  For ``|y| > 1/2`` the
    residual is formed as ``(1 - |y|) - erfc(x)`` (``1 - |y|`` is exact by
    Sterbenz' lemma), so the result stays accurate as ``|y| -> 1``.
    In the far tail ``1 - |y| < 5.6e-8`` (``w >= 16``), outside the range of
    Giles' single-precision fit, the start is the asymptotic solution of
    ``exp(-x^2) / (x sqrt(pi)) = 1 - |y|`` and Newton's method is applied to
    the concave ``F(x) = log(erfc(x) / (1 - |y|))`` until the step is below
    1e-9 relative (quadratic convergence, 2-3 steps).
    Relative accuracy: a few ulp (measured <= 1.6e-16 against mpmath).

    References
    ----------
    M. Giles, "Approximating the erfinv function", GPU Computing Gems Jade
    Edition (2011) 109-116.
    """
    if not (-1.0 <= y <= 1.0):
        return math.nan
    if y == 1.0:
        return math.inf
    if y == -1.0:
        return -math.inf
    if y == 0.0:
        return y
    ay = abs(y)
    c = 1.0 - ay  # exact for ay >= 1/2 (Sterbenz)
    w = -math.log(c * (1.0 + ay))
    if w >= 16.0:
        # Far tail, 1 - |y| < 5.6e-8, beyond the range of Giles' single
        # precision fit: asymptotic start from erfc(x) ~ exp(-x^2)/(x sqrt(pi)),
        # then Newton on F(x) = log(erfc(x) / c) (concave, quadratic
        # convergence, F' = -2/sqrt(pi) exp(-x^2)/erfc(x)).
        t = -math.log(c)
        x = math.sqrt(t - 0.5 * math.log(math.pi * t))
        # sqrt(pi) = 1.7724538509055160
        x = math.sqrt(t - math.log(1.7724538509055160 * x))
        for _ in range(8):
            e = math.erfc(x)
            d = math.log(e / c) * e / (1.1283791670955126 * math.exp(-x * x))
            x = x + d
            if abs(d) < 1.0e-9 * x:
                break
        if y < 0.0:
            return -x
        return x
    if w < 5.0:
        w = w - 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    x = p * ay
    if ay <= 0.5:
        for _ in range(2):
            # 2/sqrt(pi) = 1.1283791670955126
            u = (math.erf(x) - ay) / (1.1283791670955126 * math.exp(-x * x))
            x = x - u / (1.0 + x * u)
    else:
        for _ in range(2):
            u = (c - math.erfc(x)) / (1.1283791670955126 * math.exp(-x * x))
            x = x - u / (1.0 + x * u)
    if y < 0.0:
        return -x
    return x


def logcosh(x):
    """``log(cosh(x))`` without overflow: ``|x| + log1p(exp(-2|x|)) - log 2``.

    Parameters
    ----------
    x : float

    Returns
    -------
    float
        Exact to rounding for all real ``x``; ``+inf`` at ``±inf``, NaN at NaN.

    Notes
    -----
    Used by the printer for ``atanh(tanh(a) tanh(b)) = (logcosh(a + b) - logcosh(a - b)) / 2``,
    the cavity bias of two-state belief propagation, which loses everything once
    ``tanh(a) tanh(b)`` rounds to 1 (low temperature).
    """
    a = abs(x)
    return a + math.log1p(math.exp(-2.0 * a)) - 0.6931471805599453


def atanh_tanh_product(a, b):
    """``atanh(tanh(a) tanh(b))``, accurate for all real ``a``, ``b``.

    With ``t = tanh(a) tanh(b)``: ``atanh(t)`` while ``|t| < 1/2`` (full relative
    accuracy for small arguments), else ``(logcosh(a + b) - logcosh(a - b)) / 2``, which
    stays exact where ``t`` rounds to 1 (large ``|a|``, ``|b|``: the limit is
    ``sign(ab) min(|a|, |b|)``) but has only absolute accuracy near 0.
    """
    t = math.tanh(a) * math.tanh(b)
    if abs(t) < 0.5:
        return math.atanh(t)
    return 0.5 * (logcosh(a + b) - logcosh(a - b))


# ---------------------------------------------------------------------------
# Registry and source emission.
# ---------------------------------------------------------------------------

#: helper name -> names of the other helpers it calls directly.
HELPERS: dict[str, tuple[str, ...]] = {
    "_expx2": (),
    "logcosh": (),
    "atanh_tanh_product": ("logcosh",),
    "erfcx": ("_expx2",),
    "ndtr": ("erfcx", "_expx2"),
    "log_ndtr": ("erfcx", "ndtr"),
    "logsumexp": (),
    "erfinv": (),
}

_DECORATOR = "@numba.njit(cache=True, fastmath=False)"


def _resolve(names) -> list[str]:
    """Requested helpers and their dependencies, dependency-first."""
    if isinstance(names, str):
        names = [names]
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(name: str) -> None:
        if name not in HELPERS:
            raise KeyError(f"unknown special-function helper {name!r}; known: {sorted(HELPERS)}")
        st = state.get(name)
        if st == 2:
            return
        if st == 1:
            raise ValueError(f"dependency cycle through helper {name!r}")
        state[name] = 1
        for dep in HELPERS[name]:
            visit(dep)
        state[name] = 2
        order.append(name)

    for name in names:
        visit(name)
    return order


def _render(names, decorator: str) -> str:
    order = _resolve(names)
    parts = []
    for name in order:
        src = inspect.getsource(globals()[name]).rstrip() + "\n"
        parts.append(decorator + "\n" + src)
    return "\n\n".join(parts) + "\n"


def helper_source(names) -> str:
    """Source text of helpers and their dependencies for generated modules.

    Parameters
    ----------
    names : str or iterable of str
        Helper names (keys of ``HELPERS``).

    Returns
    -------
    str
        The helper functions, dependency-first, each preceded
        by ``@numba.njit(cache=True, fastmath=False)``.  The text expects
        ``math``, ``numpy as np`` and ``numba`` to be imported.

    Raises
    ------
    KeyError
        For an unknown helper name.
    """
    return _render(names, _DECORATOR)


@functools.cache
def jitted(name: str):
    """The compiled helper ``name``, from a generated module like every kernel.

    The module holds ``helper_source([name])`` and is written and imported by
    :func:`numerics.compile.load_source` (named by the hash of its source, cached on
    disk by numba): the helpers reach Python through the same mechanism as the
    kernels that embed them.

    Parameters
    ----------
    name : str
        Helper name (key of ``HELPERS``).

    Returns
    -------
    numba.core.registry.CPUDispatcher

    Raises
    ------
    KeyError
        For an unknown helper name.
    """
    from .compile import load_source  # the loader of generated modules

    source = (
        f'"""The cavitylab special-function helper {name}, generated."""\n'
        "import math\n\nimport numba\nimport numpy as np\n\n\n" + helper_source([name])
    )
    return getattr(load_source(source, "cavitylab_special_"), name)


# ---------------------------------------------------------------------------
# Not a helper for generated code.
# ---------------------------------------------------------------------------


@functools.cache
def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite rule for expectations over a standard normal variable.

    ``E_{z ~ N(0, 1)} f(z) ~= sum_k w_k f(z_k)``, exact for polynomials of
    degree <= 2n - 1.

    Parameters
    ----------
    n : int
        Number of nodes (>= 1; accurate up to at least n = 200).

    Returns
    -------
    z, w : ndarray of float64, shape (n,)
        Nodes and weights (read-only, shared between calls).  The weights are
        those of ``numpy.polynomial.hermite_e.hermegauss`` (weight function
        ``exp(-z^2/2)``) divided by ``sqrt(2 pi)``, so they sum to 1.

    References
    ----------
    G. H. Golub and J. H. Welsch, "Calculation of Gauss quadrature rules",
    Math. Comp. 23 (1969) 221-230; numpy ``hermegauss``.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"gauss_hermite needs n >= 1, got {n}")
    z, w = np.polynomial.hermite_e.hermegauss(n)
    z = np.ascontiguousarray(z, dtype=np.float64)
    w = np.ascontiguousarray(w / math.sqrt(2.0 * math.pi), dtype=np.float64)
    z.setflags(write=False)
    w.setflags(write=False)
    return z, w
