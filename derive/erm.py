r"""Full-batch empirical risk minimisation on random-features / hidden-manifold data.

A student ``w`` in :math:`\mathbb{R}^p` minimises

.. math::
    \sum_{\mu=1}^{n} \ell\big(y_\mu, w \cdot x_\mu / \sqrt{p}\big) + \frac{\lambda}{2}\|w\|^2,
    \qquad x_\mu = f\big(F^T c_\mu / \sqrt{d}\big),\quad
    y_\mu \sim P_\mathrm{out}\big(\cdot \mid \theta \cdot c_\mu / \sqrt{d}\big),

with latent :math:`c_\mu \sim N(0, I_d)`, teacher :math:`\theta \sim N(0, I_d)` (so
:math:`\rho = \|\theta\|^2/d = 1`), :math:`F` of size ``d x p``, ``alpha = n/p`` and
``gamma = d/p`` (Gerace, Loureiro, Krzakala, Mézard & Zdeborová, ICML 2020,
arXiv:2002.09339, eqs. (1.1)-(1.3); the Gaussian covariate model of Loureiro et al.,
arXiv:2102.08127).

ERM is the zero-temperature limit of a mismatched student: the student's output
denoiser :math:`g = \partial_\omega \log Z^s_\mathrm{out}` of a Gibbs measure
:math:`e^{-\beta \ell}` becomes, as :math:`\beta \to \infty` with :math:`\beta V` fixed,

.. math::
    g(y, \omega, V) = \frac{\mathrm{prox}_{V \ell(y, \cdot)}(\omega) - \omega}{V},\qquad
    \partial_\omega g = \frac{\partial_\omega \mathrm{prox} - 1}{V},\qquad
    \mathrm{prox}_{V\ell(y,\cdot)}(\omega) = \arg\min_z \Big[\ell(y, z) + \frac{(z - \omega)^2}{2V}\Big]

(the Moreau envelope; Gerace et al. 2020, eqs. (3.3)-(3.5)), while the teacher's side is
the partition function :math:`Z^t_\mathrm{out}(y, \omega_0, V_0)` of :mod:`derive.glm`,
shared with :func:`derive.mismatched_state_evolution`. This module derives the
proximal operator (in closed form where the loss is quadratic on pieces, else the
derivatives that a Newton iteration needs) and the channel-side point functions; the
averages over the Gaussian fields and the spectral (prior-side) averages are done by
``numerics.erm``.
"""

import mpmath
import sympy as sp

from .equations import Equations
from .errors import InputError, ModelError
from .glm import OMEGA, Channel, V, Y, _log_zout
from .model import Model, memoized

__all__ = ["Loss", "ERM", "erm", "prox", "Z", "OMEGA0", "V0"]

#: The argument of the loss (the student's pre-activation).
Z = sp.Symbol("z", real=True)
#: The teacher's field mean and variance given the student's (see :func:`erm`).
OMEGA0 = sp.Symbol("omega_0", real=True)
V0 = sp.Symbol("V_0", positive=True)

#: Grid of the convexity check.
_Z_GRID = [k / 8 for k in range(-48, 49)]
_Y_GRID = [-1.0, 1.0, -0.5, 0.0, 2.0]


class Loss(Model):
    r"""A loss :math:`\ell(y, z)`, convex in the prediction ``z``.

    Parameters
    ----------
    expr : sympy expression in ``y`` and ``z``
        Written with ``Max``, ``Min``, ``Abs``, ``Piecewise`` or ``Heaviside`` where it
        has kinks.
    y, z : Symbol
        The label and the prediction.

    Raises
    ------
    ModelError
        If ``z`` does not appear, a symbol other than ``y`` and ``z`` does, or the loss is
        not convex in ``z`` (checked on a grid of ``z`` in [-6, 6] and ``y`` in
        {-1, -1/2, 0, 1, 2}; the message names the non-convex term).

    Examples
    --------
    >>> import sympy as sp
    >>> Loss.square()
    Loss((y - z)**2/2)
    >>> y, z = sp.symbols("y z", real=True)
    >>> Loss(-sp.log(z**2 + 1), y=y, z=z)
    Traceback (most recent call last):
        ...
    derive.errors.ModelError: the loss -log(z**2 + 1) is not convex in z: ...
    """

    def __init__(self, expr, y, z):
        if not (isinstance(y, sp.Symbol) and isinstance(z, sp.Symbol)):
            raise ModelError(f"Loss needs the symbols y and z, got {y!r}, {z!r}")
        try:
            expr = sp.sympify(expr)
        except (sp.SympifyError, TypeError) as err:
            raise ModelError(f"the loss {expr!r} is not a sympy expression: {err}") from None
        if z not in expr.free_symbols:
            raise ModelError(f"the loss {expr} does not depend on the prediction {z}")
        extra = expr.free_symbols - {y, z}
        if extra:
            raise ModelError(
                f"the loss {expr} has the symbol(s) {sorted(map(str, extra))}; a loss "
                f"depends on the label {y} and the prediction {z} only"
            )
        real_y, real_z = sp.Symbol("y", real=True), sp.Symbol("z", real=True)
        self.expr = expr.xreplace({y: real_y, z: real_z})
        self.y, self.z = real_y, real_z
        self._freeze()
        _check_convex(self)

    def _content(self):
        return (self.expr, self.y, self.z)

    @classmethod
    def square(cls):
        r""":math:`\ell = (y - z)^2 / 2` (ridge regression with the penalty)."""
        y, z = sp.symbols("y z", real=True)
        return cls((y - z) ** 2 / 2, y, z)

    @classmethod
    def logistic(cls):
        r""":math:`\ell = \log(1 + e^{-y z})`, labels :math:`\pm 1`."""
        y, z = sp.symbols("y z", real=True)
        return cls(sp.log(1 + sp.exp(-y * z)), y, z)

    @classmethod
    def hinge(cls):
        r""":math:`\ell = \max(0, 1 - y z)`, labels :math:`\pm 1`."""
        y, z = sp.symbols("y z", real=True)
        return cls(sp.Max(0, 1 - y * z), y, z)

    @property
    def params(self):
        return ()

    def derivative(self, order=1):
        r""":math:`\partial_z^k \ell`, refused where it is not a function (a Dirac mass).

        Raises
        ------
        ModelError
            If the derivative has a ``DiracDelta`` (a kink in a smooth formula, e.g.
            ``Abs``) or stays unevaluated.
        """
        d = sp.diff(self.expr, self.z, order)
        d = d.replace(lambda e: isinstance(e, sp.Heaviside) and len(e.args) == 1, _heaviside)
        if d.has(sp.DiracDelta) or d.has(sp.Derivative) or d.has(sp.Subs):
            raise ModelError(
                f"the loss {self.expr} has no derivative of order {order} in {self.z} "
                f"everywhere (sympy gives {d}); write its kinks with Max/Piecewise so that "
                "its proximal operator is derived piece by piece"
            )
        return d

    def __repr__(self):
        return f"Loss({self.expr})"


def _heaviside(h):
    return sp.Heaviside(h.args[0], sp.S.Half)


def _evaluator(expr, y, z):
    """``(y, z) -> mpf`` or None where not a real number (mpmath: no overflow, 30 digits)."""
    body = expr.rewrite(sp.Piecewise) if expr.has(sp.Heaviside) else expr
    fn = sp.lambdify((y, z), body, "mpmath")

    def value(yv, zv):
        with mpmath.workdps(30):
            try:
                v = fn(mpmath.mpf(yv), mpmath.mpf(zv))
            except (TypeError, ValueError, ZeroDivisionError):
                return None
            if isinstance(v, mpmath.mpc) or not mpmath.isfinite(v):
                return None
            return mpmath.mpf(v)

    return value


@memoized
def _check_convex(loss):
    """Discrete second differences of the loss on a grid must be non-negative."""
    terms = sp.Add.make_args(loss.expr)
    value = _evaluator(loss.expr, loss.y, loss.z)
    for yv in _Y_GRID:
        values = [value(yv, zv) for zv in _Z_GRID]
        if any(v is None for v in values):
            bad = _Z_GRID[[v is None for v in values].index(True)]
            raise ModelError(f"the loss {loss.expr} is not a real number at y = {yv}, z = {bad}")
        for k in range(1, len(values) - 1):
            second = values[k - 1] - 2 * values[k] + values[k + 1]
            if second < -1e-12 * (1 + abs(values[k])):
                culprit = [t for t in terms if len(terms) > 1 and _concave_at(t, loss, yv, k)]
                named = f" (the term(s) {', '.join(map(str, culprit))})" if culprit else ""
                raise ModelError(
                    f"the loss {loss.expr} is not convex in {loss.z}: its second difference "
                    f"at y = {yv}, z = {_Z_GRID[k]} is {float(second):.3g} < 0{named}"
                )
    return True


def _concave_at(term, loss, yv, k):
    value = _evaluator(term, loss.y, loss.z)
    vals = [value(yv, _Z_GRID[j]) for j in (k - 1, k, k + 1)]
    return None not in vals and vals[0] - 2 * vals[1] + vals[2] < 0


def _quadratic_prox(piece, z):
    """The stationary point of ``piece + (z - omega)^2 / (2 V)`` for a piece of degree <= 2 in z."""
    try:
        poly = sp.Poly(sp.expand(piece), z)
    except sp.PolynomialError:
        return None
    if poly.degree() > 2:
        return None
    (root,) = sp.solve(sp.Eq(z - OMEGA + V * sp.diff(piece, z), 0), z)
    return sp.simplify(root)


def _breakpoints(pw, z):
    """Sorted numerical kinks of a Piecewise in ``z``, or None when they are not numbers."""
    points = set()
    for _, cond in pw.args:
        for rel in cond.atoms(sp.core.relational.Relational):
            gap = sp.expand(rel.lhs - rel.rhs)
            if not gap.has(z):
                continue
            if not sp.Poly(gap, z).degree() == 1:
                return None
            (root,) = sp.solve(gap, z)
            if not root.is_number:
                return None
            points.add(sp.nsimplify(root))
    return sorted(points, key=float)


def _piece_at(pw, z, point):
    for expr, cond in pw.args:
        if cond.subs(z, point) in (True, sp.true):
            return expr
    return None


def _prox_on_pieces(expr, z):
    r"""The proximal operator of a convex loss quadratic on pieces of the line, as a Piecewise in ``omega``.

    On the piece ``(b_{j-1}, b_j)`` with loss ``l_j``, the stationarity condition
    :math:`z - \omega + V \ell_j'(z) = 0` gives ``z_j(omega, V)``; since
    :math:`G(z) = z - \omega + V\ell'(z)` is increasing (convexity), the prox is ``z_j``
    for :math:`\omega < b_j + V\ell_j'(b_j)`, the kink ``b_j`` itself for
    :math:`b_j + V\ell_j'(b_j) \le \omega < b_j + V\ell_{j+1}'(b_j)`, and so on.
    """
    smooth = _quadratic_prox(expr, z)
    if smooth is not None:
        return smooth
    pw = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    if not isinstance(pw, sp.Piecewise):
        return None
    points = _breakpoints(pw, z)
    if not points:
        return None
    edges = [-sp.oo] + points + [sp.oo]
    pieces, roots = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mid = (
            (lo + hi) / 2 if lo.is_finite and hi.is_finite else (hi - 1 if lo == -sp.oo else lo + 1)
        )
        piece = _piece_at(pw, z, mid)
        if piece is None:
            return None
        root = _quadratic_prox(piece, z)
        if root is None:
            return None
        pieces.append(piece)
        roots.append(root)
    branches = []
    for j, b in enumerate(points):
        left = b + V * sp.diff(pieces[j], z).subs(z, b)
        right = b + V * sp.diff(pieces[j + 1], z).subs(z, b)
        branches.append((roots[j], OMEGA < left))
        if sp.simplify(right - left) != 0:
            branches.append((b, OMEGA < right))
    branches.append((roots[-1], True))
    return sp.Piecewise(*branches)


@memoized
def prox(loss, support=None):
    r"""The proximal operator :math:`\mathrm{prox}_{V\ell(y,\cdot)}(\omega)` in closed form, or None.

    .. math::
        \mathrm{prox}_{V\ell(y,\cdot)}(\omega) = \arg\min_z \Big[\ell(y, z) + \frac{(z-\omega)^2}{2V}\Big]

    Closed when the loss is a polynomial of degree at most two in ``z`` (square loss, any
    ``y``), or, for labels in a finite ``support``, quadratic on pieces of the line
    (hinge): the piecewise stationarity condition is solved piece by piece (see
    :func:`_prox_on_pieces`) and the result is a ``Piecewise`` in ``y``. None otherwise
    (logistic): ``numerics`` then solves :math:`z - \omega + V\ell'(y, z) = 0` by
    safeguarded Newton iterations in the compiled kernel.

    Returns
    -------
    sympy expression in ``y``, ``omega``, ``V``, or None
    """
    expr = loss.expr.xreplace({loss.y: Y, loss.z: Z})
    smooth = _quadratic_prox(expr, Z)
    if smooth is not None:
        return smooth
    if support is None:
        return None
    branches = []
    for value in support:
        branch = _prox_on_pieces(expr.xreplace({Y: value}), Z)
        if branch is None:
            return None
        branches.append((branch, sp.Eq(Y, value)))
    branches[-1] = (branches[-1][0], True)
    return sp.Piecewise(*branches)


class ERM(Model):
    """A full-batch learning problem: a loss, a teacher channel and a nonlinearity ``f(u)``.

    ``model = ERM(Loss.logistic(), Channel.sign(), sp.erf(u), u)`` in a model file is what
    ``cavitylab derive / export / verify`` take.
    """

    def __init__(self, loss, teacher, f, variable):
        if not isinstance(loss, Loss):
            raise ModelError(f"ERM needs a Loss, got {type(loss).__name__}")
        if not isinstance(teacher, Channel):
            raise ModelError(f"ERM needs a teacher Channel, got {type(teacher).__name__}")
        if not isinstance(variable, sp.Symbol):
            raise ModelError(f"the variable of the nonlinearity must be a Symbol, got {variable!r}")
        f = sp.sympify(f)
        extra = f.free_symbols - {variable}
        if extra:
            raise ModelError(
                f"the nonlinearity {f} depends on {sorted(map(str, extra))}, not only on "
                f"its variable {variable}"
            )
        self.loss, self.teacher, self.f, self.variable = loss, teacher, f, variable
        self._freeze()

    def _content(self):
        return (self.loss, self.teacher, self.f, self.variable)

    @property
    def params(self):
        return self.teacher.params

    def __repr__(self):
        return f"ERM({self.loss!r}, {self.teacher!r}, f={self.f})"


@memoized
def erm(loss, teacher, f=None, variable=None):
    r"""The channel-side point functions of the ERM saddle point (Gerace et al. 2020).

    With :math:`\omega = \sqrt{q}\,\xi` (the student's field), the teacher's field given
    it has mean :math:`\omega_0 = (m/\sqrt{q})\xi` and variance :math:`V_0 = \rho - m^2/q`;
    the conjugate order parameters are (Gerace et al. 2020, eq. (3.5); Loureiro et al.
    2021, eq. (29))

    .. math::
        \hat V = -\alpha\,\mathbb{E}_{\xi, y}\,\partial_\omega g, \qquad
        \hat q = \alpha\,\mathbb{E}_{\xi, y}\, g^2, \qquad
        \hat m = \alpha\,\mathbb{E}_{\xi, y}\, \partial_{\omega_0}\log Z^t_\mathrm{out}\; g,

    under :math:`\int dy\, Z^t_\mathrm{out}(y, \omega_0, V_0)`, with
    :math:`g = (\mathrm{prox} - \omega)/V`. ``f`` enters only through its Gaussian moments
    ``(a, b, c)`` on the prior side (``numerics.erm``), so it is not needed here.

    Returns
    -------
    Equations
        ``kind="map"``, inputs ``y, z, omega, V, omega_0, V_0``; outputs ``ell``, ``ell_z``,
        ``ell_zz`` (the loss and its derivatives at ``z``), ``log_Z0`` and ``g0`` (the
        teacher's :math:`\log Z_\mathrm{out}` and its :math:`\omega_0`-derivative), and,
        when the proximal operator closes (:func:`prox`), ``prox`` and ``dprox``
        (:math:`\partial_\omega \mathrm{prox}`); ``methods`` says which.
    """
    if isinstance(loss, ERM):
        loss, teacher = loss.loss, loss.teacher
    if not isinstance(loss, Loss):
        raise InputError(f"erm needs a derive.Loss, got {type(loss).__name__}")
    if not isinstance(teacher, Channel):
        raise InputError(f"erm needs a teacher derive.Channel, got {type(teacher).__name__}")
    expr = loss.expr.xreplace({loss.y: Y, loss.z: Z})
    closed = prox(loss, teacher.support)
    d1 = loss.derivative(1).xreplace({loss.y: Y, loss.z: Z})
    if closed is None:  # Newton needs the curvature everywhere
        d2 = loss.derivative(2).xreplace({loss.y: Y, loss.z: Z})
    else:  # only off the kinks (the simulation's solvers); a Dirac mass there is dropped
        d2 = sp.diff(d1, Z).replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
    log_z0 = _log_zout(teacher).xreplace({OMEGA: OMEGA0, V: V0})
    g0 = sp.diff(log_z0, OMEGA0)
    outputs = {
        sp.Symbol("ell", real=True): expr,
        sp.Symbol("ell_z", real=True): d1,
        sp.Symbol("ell_zz", real=True): d2,
        sp.Symbol("log_Z0", real=True): log_z0,
        sp.Symbol("g0", real=True): g0,
    }
    if closed is not None:
        outputs[sp.Symbol("prox", real=True)] = closed
        outputs[sp.Symbol("dprox", real=True)] = sp.diff(closed, OMEGA)
    return Equations(
        "ERM channel (zero-temperature mismatched student)",
        "map",
        (Y, Z, OMEGA, V, OMEGA0, V0),
        teacher.params,
        outputs,
        model=(loss, teacher),
        description="Loss, its z-derivatives, the teacher's log Zout(y, omega_0, V_0) and its "
        "omega_0-derivative; prox_{V l(y,.)}(omega) and its omega-derivative where "
        "closed (else numerics solves z - omega + V l'(y, z) = 0 by Newton). "
        "Gerace, Loureiro, Krzakala, Mezard & Zdeborova, ICML 2020, eqs. (3.3)-(3.5).",
    )
