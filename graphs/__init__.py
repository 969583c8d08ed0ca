"""cavitylab on networkx graphs: mean-field, belief propagation, exact enumeration, Monte Carlo.

Each solver converts the graph to CSR arrays once per call (:func:`to_csr`; nothing is
cached on the graph, which is mutable); every loop over edges runs in numba on those
arrays. Every solver validates its inputs (``derive.InputError`` / ``ModelError``), takes
``strict=`` and returns a result of the project's protocol (``numerics.Result``).
Imports networkx, never matplotlib.
"""

from . import contacts
from .bp import BPResult, belief_propagation
from .csr import CSRGraph, to_csr
from .epidemics import EpidemicMarginals, EpidemicSimulation, dmp, ibmf, simulate
from .exact import ExactResult, exact
from .meanfield import MeanFieldResult, meanfield
from .montecarlo import MonteCarloResult, monte_carlo
from .thermodynamics import ThermodynamicResult, thermodynamic_integration, uniform_energy

__all__ = [
    "to_csr",
    "CSRGraph",
    "meanfield",
    "MeanFieldResult",
    "exact",
    "ExactResult",
    "monte_carlo",
    "MonteCarloResult",
    "belief_propagation",
    "BPResult",
    "thermodynamic_integration",
    "ThermodynamicResult",
    "uniform_energy",
    "contacts",
    "simulate",
    "ibmf",
    "dmp",
    "EpidemicSimulation",
    "EpidemicMarginals",
]
