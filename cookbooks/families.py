"""What the command line does with a model, by the model's type: one table, one entry per family.

A family says which derivations ``cavitylab derive`` prints, which equations
``cavitylab export`` writes as a standalone solver, and which property checks
``cavitylab verify`` runs (a function of :mod:`cookbooks.verify`, or None while
there are none). A new family (GLM priors and channels, committee machines,
epidemics) adds one :class:`Family` with :func:`register`; the command line does
not change.
"""

from collections.abc import Callable
from dataclasses import dataclass

import derive
import numerics

from . import verify
from .errors import CookbookError
from .verify_epidemics import verify_compartmental
from .verify_erm import verify_erm
from .verify_glm import verify_glm
from .verify_online import verify_online

__all__ = ["Family", "FAMILIES", "register", "family_of", "pairwise_derivations", "glm_derivations"]


@dataclass(frozen=True)
class Family:
    """How the command line treats models of one type.

    Attributes
    ----------
    name : str
        The family, in words.
    model_type : type
        Models that are instances of it belong to the family.
    steps : callable
        ``model -> list of (key, title, thunk)``: what ``cavitylab derive`` prints, one
        derivation per step, done lazily (so that progress shows and ``--only KEY`` derives
        one); a thunk returns ``derive.Equations``, or None where the step does not apply.
    export : callable
        ``(model, path) -> path``: writes the standalone solver for ``cavitylab export``.
    verify : callable or None
        ``verify(model, examples, seed)`` yielding :class:`cookbooks.verify.Check`;
        None when the family has no property checks yet.
    """

    name: str
    model_type: type
    steps: Callable
    export: Callable
    verify: Callable | None = None

    def derivations(self, model):
        """Every applicable derivation of ``model``, as a list of ``derive.Equations``."""
        out = (thunk() for _, _, thunk in self.steps(model))
        return [eqs for eqs in out if eqs is not None]


def _bilinear_only(derivation, model):
    """``derivation(model)``, or None when the pair energy is not bilinear (no Gaussian-coupling
    theory exists for it: ``derive.replica_symmetric`` raises ``derive.ModelError``)."""
    try:
        derive.replica_symmetric(model)
    except derive.ModelError:
        return None
    return derivation(model)


def pairwise_steps(model):
    """The derivations of a :class:`derive.PairwiseModel`, as ``(key, title, thunk)``."""
    steps = [("mf", "naive mean-field", lambda: derive.meanfield(model))]
    if len(model.alphabet) >= 2:  # one state: nothing to pass along an edge
        steps.append(("bp", "belief propagation", lambda: derive.belief_propagation(model)))
    steps += [
        (
            "rs",
            "replica-symmetric saddle point",
            lambda: _bilinear_only(derive.replica_symmetric, model),
        ),
        ("tap", "TAP site law", lambda: _bilinear_only(derive.tap, model)),
    ]
    return steps


def glm_steps(glm):
    """The derivations of a :class:`derive.GLM`, as ``(key, title, thunk)``."""
    steps = [
        ("denoisers", "input and output denoisers", lambda: derive.denoisers(glm)),
        ("se", "Bayes-optimal state evolution", lambda: derive.state_evolution(glm)),
        ("phi", "replica-symmetric free entropy", lambda: derive.free_entropy(glm)),
    ]
    if glm.channel.support is not None:
        steps.append(("errors", "classification errors", lambda: derive.classification_errors(glm)))
    return steps


def pairwise_derivations(model):
    """What ``cavitylab derive`` prints for a :class:`derive.PairwiseModel`.

    Naive mean-field; belief propagation (for two states or more); and, only when the
    pair energy is bilinear, ``-K sigma(s_i) sigma(s_j)`` (``derive.replica_symmetric``
    raises ``derive.ModelError`` otherwise, and then both are skipped), the
    replica-symmetric saddle point and the TAP site law for dense Gaussian couplings.

    >>> import sympy as sp
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = derive.PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> [eqs.name for eqs in pairwise_derivations(ising)]
    ['naive mean-field', 'belief propagation', 'replica-symmetric saddle point', 'TAP site law']
    >>> potts = derive.PairwiseModel((0, 1, 2), -J * sp.KroneckerDelta(si, sj),
    ...                              variables=(si, sj))
    >>> [eqs.name for eqs in pairwise_derivations(potts)]
    ['naive mean-field', 'belief propagation']
    """
    out = (thunk() for _, _, thunk in pairwise_steps(model))
    return [eqs for eqs in out if eqs is not None]


def pairwise_solver_equations(model):
    """What ``cavitylab export`` writes for a :class:`derive.PairwiseModel`: one standalone
    module with the naive mean-field, belief-propagation (two states or more) and Monte Carlo
    drivers on CSR arrays (see :func:`numerics.export`).

    >>> import sympy as sp
    >>> si, sj, J = sp.symbols("s_i s_j J", real=True)
    >>> ising = derive.PairwiseModel((-1, 1), -J * si * sj, variables=(si, sj))
    >>> [eqs.name for eqs in pairwise_solver_equations(ising)]
    ['naive mean-field', 'belief propagation', 'local energy']
    """
    out = [derive.meanfield(model)]
    if len(model.alphabet) >= 2:  # one state: nothing to pass along an edge
        out.append(derive.belief_propagation(model))
    return out + [derive.local_energy(model)]


def glm_derivations(glm):
    """What ``cavitylab derive`` prints for a :class:`derive.GLM`: the denoisers, state
    evolution and the RS free entropy (and the classification errors for a discrete ``y``)."""
    return [thunk() for _, _, thunk in glm_steps(glm)]


FAMILIES = [
    Family(
        "pairwise spin models",
        derive.PairwiseModel,
        steps=pairwise_steps,
        export=lambda model, path: numerics.export(pairwise_solver_equations(model), path),
        verify=verify.verify_pairwise,
    ),
    Family(
        "generalized linear models",
        derive.GLM,
        steps=glm_steps,
        export=numerics.export_amp,
        verify=verify_glm,
    ),
]


def _unless_refused(derivation, model, *args):
    """``derivation(model, *args)``, or None where the model is outside its scope."""
    try:
        return derivation(model, *args)
    except derive.ModelError:
        return None


def compartmental_steps(model):
    """The derivations of a :class:`derive.Compartmental` model, as ``(key, title, thunk)``.

    DMP is skipped for models it does not support (a return to the susceptible state).
    """
    return [
        ("ibmf", "individual-based mean-field", lambda: derive.ibmf(model)),
        ("ibmf-linear", "linearised mean-field", lambda: derive.ibmf(model, "linear")),
        ("dmp", "dynamic message passing", lambda: _unless_refused(derive.dmp, model)),
        (
            "dmp-marginals",
            "DMP marginals",
            lambda: _unless_refused(derive.dmp, model, "marginals"),
        ),
    ]


def _export_compartmental(model, path):
    """The DMP kernels where DMP applies, else the IBMF ones (one module of contact kernels)."""
    eqs = _unless_refused(derive.dmp, model) or derive.ibmf(model)
    return numerics.export(eqs, path)


FAMILIES.append(
    Family(
        "compartmental epidemic models",
        derive.Compartmental,
        steps=compartmental_steps,
        export=_export_compartmental,
        verify=verify_compartmental,
    )
)


def erm_steps(model):
    """The derivation of a :class:`derive.ERM` problem: the channel side of its saddle point."""
    return [("erm", "ERM channel side", lambda: derive.erm(model.loss, model.teacher))]


def _export_erm(model, path):
    """The ERM kernel module with its channel-side driver (what ``numerics.erm`` runs)."""
    from pathlib import Path

    eqs = derive.erm(model.loss, model.teacher)
    path = Path(path)
    path.write_text(numerics.erm_source(eqs, model.teacher.support is not None))
    return path


FAMILIES.append(
    Family(
        "full-batch learning (ERM)",
        derive.ERM,
        steps=erm_steps,
        export=_export_erm,
        verify=verify_erm,
    )
)


def committee_steps(model):
    """The derivations of a :class:`derive.CommitteeMachine`: the Saad-Solla ODEs."""
    return [
        ("saad-solla", "Saad-Solla ODEs (v = 1)", lambda: derive.saad_solla(model)),
        (
            "saad-solla-v",
            "Saad-Solla ODEs, trained second layer",
            lambda: derive.saad_solla(model, train_second_layer=True),
        ),
    ]


FAMILIES.append(
    Family(
        "online learning (committee machines)",
        derive.CommitteeMachine,
        steps=committee_steps,
        export=lambda model, path: numerics.export(derive.saad_solla(model), path),
        verify=verify_online,
    )
)


def register(family):
    """Add a family (first match wins, so register subclasses before their bases)."""
    if not isinstance(family, Family):
        raise TypeError(f"register needs a Family, got {type(family).__name__}")
    FAMILIES.append(family)
    return family


def family_of(model):
    """The :class:`Family` of ``model``.

    Raises
    ------
    CookbookError
        If no family knows the model's type.

    Examples
    --------
    >>> import sympy as sp
    >>> si, sj, J = sp.symbols("s_i s_j J", real=True)
    >>> family_of(derive.PairwiseModel((-1, 1), -J * si * sj, variables=(si, sj))).name
    'pairwise spin models'
    >>> family_of(3.0)
    Traceback (most recent call last):
        ...
    cookbooks.errors.CookbookError: model is of type float, which no family of cavitylab knows; known model types: PairwiseModel, GLM, Compartmental, ERM, CommitteeMachine
    """
    for family in FAMILIES:
        if isinstance(model, family.model_type):
            return family
    known = ", ".join(f.model_type.__name__ for f in FAMILIES)
    raise CookbookError(
        f"model is of type {type(model).__name__}, which no family of cavitylab "
        f"knows; known model types: {known}"
    )
