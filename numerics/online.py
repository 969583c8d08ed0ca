r"""Online learning of soft committee machines: the result type and the Saad--Solla ODEs.

A student :math:`\hat y = \sum_k v_k g(\lambda_k)`, :math:`\lambda_k = w_k\cdot x/\sqrt N`, learns
online from a teacher :math:`y = \sum_m A_m \tilde g(\nu_m) + \sigma\zeta`,
:math:`\nu_m = B_m\cdot x/\sqrt N`. In the limit :math:`N\to\infty` the order parameters

.. math::
    Q_{kl} = \frac{w_k\cdot w_l}{N},\quad R_{kn} = \frac{w_k\cdot B_n}{N},\quad
    T_{nm} = \frac{B_n\cdot B_m}{N}

follow the ordinary differential equations of Saad & Solla, Phys. Rev. E 52, 4225 (1995) and
Biehl & Schwarze, J. Phys. A 28, 643 (1995) (with a trained second layer, label noise and weight
decay as in Goldt, Advani, Saxe, Krzakala & Zdeborová, NeurIPS 2019, arXiv:1906.08632), in the
time :math:`t = \text{steps}/N`. :func:`derive.saad_solla` derives them from the model's
activations; :func:`saad_solla` integrates them, :func:`numerics.online_sgd` simulates the
learning itself, and both return an :class:`OnlineResult`.
"""

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .results import SimulationResult

__all__ = ["OnlineResult", "check_order_parameters"]


@dataclass(kw_only=True, repr=False)
class OnlineResult(SimulationResult):
    r"""Order parameters and generalisation error along online learning (ODE or simulation).

    Attributes
    ----------
    t : ndarray, shape (n,)
        Times, in units of :math:`N` steps.
    Q : ndarray, shape (n, K, K)
    R : ndarray, shape (n, K, M)
    T : ndarray, shape (M, M)
        The teacher's overlaps (constant).
    v : ndarray, shape (n, K)
        The second-layer weights (constant unless the second layer is trained).
    eps_g : ndarray, shape (n,)
        The generalisation error
        :math:`\epsilon_g = \tfrac12 \mathbb E[(\hat y - \textstyle\sum_m A_m\tilde g(\nu_m))^2]`
        (noise-free labels). From the ODE: the derived observable at the order parameters;
        from a simulation: an independent estimate on a fixed test set.
    eps_g_error : ndarray, shape (n,), or None
        The standard error of a test-set estimate (None for the ODE).
    initial : dict
        The order parameters it started from: ``Q``, ``R``, ``T`` (and ``v`` when the second
        layer is trained); ``numerics.saad_solla(model, ..., init=result.initial)`` starts an
        ODE from the same point.
    settings : dict
        The run's parameters (``eta``, ``N``, ``method``, ...).
    seed : object
        The simulation's seed (None for the ODE).
    """

    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    Q: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    R: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    T: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    v: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    eps_g: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eps_g_error: np.ndarray = None
    initial: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


def _matrix(name, value, shape):
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"init[{name!r}] is not an array of numbers: {value!r}") from None
    if arr.shape != shape:
        raise InputError(f"init[{name!r}] must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"init[{name!r}] contains NaN or inf")
    return arr


def check_order_parameters(init, K, M, second_layer=False, tol=1e-9):
    r"""Validated copies ``{"Q", "R", "T"[, "v"]}`` of initial order parameters.

    The local fields :math:`(\lambda, \nu)` are jointly Gaussian with covariance
    :math:`C = \begin{pmatrix} Q & R\\ R^T & T\end{pmatrix}`, so ``Q`` and ``T`` must be
    symmetric and ``C`` positive semi-definite.

    Parameters
    ----------
    init : mapping
        ``Q`` (K x K), ``R`` (K x M), ``T`` (M x M); ``v`` (K) when ``second_layer``.
    K, M : int
    second_layer : bool
        Whether ``v`` is part of the state (else a ``v`` given here is refused).
    tol : float
        Relative tolerance of the symmetry and eigenvalue checks.

    Raises
    ------
    InputError
        Naming the key that is missing, unknown, of the wrong shape, not finite, not
        symmetric, or the smallest eigenvalue when ``C`` is not positive semi-definite.
    """
    if not hasattr(init, "items"):
        raise InputError(f"init must be a mapping with keys Q, R, T, got {type(init).__name__}")
    known = ("Q", "R", "T") + (("v",) if second_layer else ())
    given = {str(k): v for k, v in init.items()}
    unknown = sorted(set(given) - set(known))
    if unknown:
        extra = "" if second_layer else " ('v' only with train_second_layer=True)"
        raise InputError(f"init: unknown key(s) {unknown}; the keys are {list(known)}{extra}")
    missing = [k for k in known if k not in given]
    if missing:
        raise InputError(f"init: missing {missing}; the keys are {list(known)}")
    Q = _matrix("Q", given["Q"], (K, K))
    R = _matrix("R", given["R"], (K, M))
    T = _matrix("T", given["T"], (M, M))
    C = np.block([[Q, R], [R.T, T]])
    scale = max(1.0, float(np.abs(C).max()))
    for name, X in (("Q", Q), ("T", T)):
        if np.abs(X - X.T).max() > tol * scale:
            raise InputError(f"init[{name!r}] is not symmetric: {X.tolist()}")
    smallest = float(np.linalg.eigvalsh((C + C.T) / 2).min())
    if smallest < -tol * scale * C.shape[0]:
        raise InputError(
            "init: the covariance [[Q, R], [R^T, T]] of the local fields is not positive "
            f"semi-definite (smallest eigenvalue {smallest:.3g})"
        )
    out = {"Q": (Q + Q.T) / 2, "R": R, "T": (T + T.T) / 2}
    if second_layer:
        out["v"] = _matrix("v", given["v"], (K,))
    return out
