"""cavitylab's symbolic layer: models written in sympy, and every derivation.

``derive`` imports sympy (and mpmath) only. Every derivation returns an
:class:`Equations`, the one object that crosses into ``numerics``.
"""

from .bp import belief_propagation, bethe_edge, bp_stability
from .definitions import DefinedFunction, define, inline_definitions
from .epidemics import Compartmental, dmp, ibmf
from .equations import ROLES, Equations
from .erm import ERM, Loss, erm
from .errors import CavitylabError, InputError, ModelError
from .functions import GaussianExpectation, LogSumExp
from .gardner import gardner, gardner_capacity, gardner_kind, separability
from .gaussian import multivariate_expectation
from .get import GETMoments, get_moments
from .glm import (
    GLM,
    Channel,
    Prior,
    classification_errors,
    denoisers,
    free_entropy,
    mismatched_state_evolution,
    state_evolution,
)
from .model import Model, clear_memo, memoized
from .online import CommitteeMachine, committee_integrals, saad_solla
from .online_manifold import manifold_coefficients, saad_solla_manifold
from .replica import replica_symmetric, tap
from .spins import BETA, PairwiseModel, local_energy, meanfield

__all__ = [
    "Loss",
    "ERM",
    "erm",
    "Equations",
    "ROLES",
    "CavitylabError",
    "ModelError",
    "InputError",
    "Model",
    "memoized",
    "clear_memo",
    "GaussianExpectation",
    "LogSumExp",
    "define",
    "DefinedFunction",
    "inline_definitions",
    "multivariate_expectation",
    "CommitteeMachine",
    "committee_integrals",
    "saad_solla",
    "saad_solla_manifold",
    "manifold_coefficients",
    "GETMoments",
    "get_moments",
    "gardner",
    "gardner_capacity",
    "gardner_kind",
    "separability",
    "PairwiseModel",
    "meanfield",
    "local_energy",
    "belief_propagation",
    "bethe_edge",
    "bp_stability",
    "replica_symmetric",
    "tap",
    "BETA",
    "Prior",
    "Channel",
    "GLM",
    "denoisers",
    "state_evolution",
    "free_entropy",
    "classification_errors",
    "mismatched_state_evolution",
    "Compartmental",
    "ibmf",
    "dmp",
]
