"""cavitylab's numerical layer: compile, export and solve derived equations.

Imports numpy, scipy and numba, never networkx or matplotlib.
"""

from .amp import AMPResult, TeacherStudent, amp, export_amp, teacher_student, vamp
from .compile import Kernel, cache_dir, compile, load_source
from .erm import ERMResult, erm, erm_module, erm_optimal_lam, erm_source
from .erm_simulation import ERMSimulation, erm_simulation
from .errors import CompileError, ConvergenceError, InputError
from .export import export
from .fixed_point import FixedPointResult, fixed_point
from .gardner import GardnerResult, GardnerSaddle, gardner, gardner_saddle
from .gaussian_equivalence import (
    GETMomentsResult,
    evaluate_nonlinearity,
    get_covariance,
    get_moments,
    measured_covariance,
)
from .hidden_manifold import (
    HiddenManifoldData,
    TwoLayerTeacher,
    hidden_manifold,
    random_features,
)
from .homogeneous import (
    CriticalTemperature,
    HomogeneousMeanField,
    meanfield_critical_temperature,
    meanfield_homogeneous,
)
from .ode import ODEResult, integrate
from .online import OnlineResult, saad_solla
from .online_manifold import marchenko_pastur_nodes, saad_solla_manifold
from .online_sgd import HiddenManifold, online_sgd
from .population import (
    InstabilityResult,
    PopulationResult,
    population_dynamics,
    spin_glass_instability,
)
from .replica import RSResult, replica_symmetric
from .results import Result, SimulationResult
from .rs_phases import (
    OrderedRS,
    RSCrossing,
    RSLine,
    RSPhaseDiagram,
    rs_crossing,
    rs_phase_diagram,
    rs_transition_lines,
)
from .separability import (
    SeparabilityResult,
    hidden_manifold_correlation,
    is_separable,
    max_margin,
    separability_threshold,
)
from .stability import StabilityResult, bp_stability
from .state_evolution import SEResult, Thresholds, input_mmse, state_evolution, thresholds
from .sweep import SweepResult, sweep, sweep_defaults
from .tap import TAPResult, tap
from .threads import limit_blas_threads

__all__ = [
    "erm",
    "ERMResult",
    "erm_optimal_lam",
    "erm_module",
    "erm_source",
    "erm_simulation",
    "ERMSimulation",
    "sweep",
    "SweepResult",
    "sweep_defaults",
    "integrate",
    "ODEResult",
    "Result",
    "SimulationResult",
    "InputError",
    "compile",
    "export",
    "fixed_point",
    "Kernel",
    "FixedPointResult",
    "CompileError",
    "ConvergenceError",
    "cache_dir",
    "load_source",
    "bp_stability",
    "StabilityResult",
    "population_dynamics",
    "spin_glass_instability",
    "PopulationResult",
    "InstabilityResult",
    "replica_symmetric",
    "RSResult",
    "OrderedRS",
    "RSPhaseDiagram",
    "RSCrossing",
    "RSLine",
    "rs_phase_diagram",
    "rs_crossing",
    "rs_transition_lines",
    "meanfield_homogeneous",
    "HomogeneousMeanField",
    "meanfield_critical_temperature",
    "CriticalTemperature",
    "tap",
    "TAPResult",
    "state_evolution",
    "SEResult",
    "input_mmse",
    "thresholds",
    "Thresholds",
    "amp",
    "vamp",
    "AMPResult",
    "teacher_student",
    "TeacherStudent",
    "export_amp",
    "limit_blas_threads",
    "get_moments",
    "gardner",
    "gardner_saddle",
    "GardnerResult",
    "GardnerSaddle",
    "separability_threshold",
    "SeparabilityResult",
    "hidden_manifold_correlation",
    "is_separable",
    "max_margin",
    "GETMomentsResult",
    "get_covariance",
    "measured_covariance",
    "evaluate_nonlinearity",
    "hidden_manifold",
    "random_features",
    "HiddenManifoldData",
    "TwoLayerTeacher",
    "OnlineResult",
    "saad_solla",
    "online_sgd",
    "saad_solla_manifold",
    "marchenko_pastur_nodes",
    "HiddenManifold",
]
