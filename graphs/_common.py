"""What every solver on a graph shares: checked inputs and the model's arrays."""

import math
from dataclasses import dataclass

import numpy as np

from derive import ModelError
from derive.spins import BETA, PairwiseModel

from .csr import directed_edge_values, edge_values, node_values, to_csr

__all__ = ["check_beta", "check_model", "GraphArrays", "graph_arrays", "alphabet_values"]


def check_beta(beta):
    """``beta`` as a float, or a ValueError saying what is wrong with it."""
    try:
        b = float(beta)
    except (TypeError, ValueError):
        raise ValueError(f"beta must be a positive number, got {beta!r}") from None
    if not math.isfinite(b) or b <= 0:
        raise ValueError(f"beta must be a finite positive number (beta = 1/T), got {beta!r}")
    return b


def check_model(model):
    if not isinstance(model, PairwiseModel):
        raise ModelError(f"expected a derive.PairwiseModel, got {type(model).__name__}")
    return model


def alphabet_values(model):
    """The alphabet as a float64 array, in the model's order."""
    return np.array([float(a) for a in model.alphabet])


@dataclass
class GraphArrays:
    """CSR structure plus per-node and per-edge parameter columns for some Equations."""

    csr: object
    node_values: np.ndarray
    edge_values: np.ndarray  # per directed edge, in CSR order

    @property
    def graph_args(self):
        """``(indptr, indices, edge_id)``: the first arguments of generated graph functions."""
        c = self.csr
        return c.indptr, c.indices, c.edge_id


def graph_arrays(G, equations, params=None, beta=None):
    """Arrays of ``equations.node_params`` (nodes) and ``equations.edge_params`` (directed edges).

    A parameter is read from the node or edge attribute of the same name,
    falling back to ``params[name]``; ``beta``, if the equations use it, comes
    from the argument of that name.
    """
    params = {str(k): v for k, v in dict(params or {}).items()}
    csr = to_csr(G)
    node_names = [p.name for p in equations.node_params]
    defaults = dict(params)
    if BETA in equations.node_params:
        defaults[BETA.name] = check_beta(beta)
    nodes = node_values(G, csr, [n for n in node_names if n != BETA.name], defaults)
    if BETA in equations.node_params:  # beta is global: never read from node attributes
        col = node_names.index(BETA.name)
        nodes = np.insert(nodes, col, defaults[BETA.name], axis=1)
    edges = edge_values(G, csr, [p.name for p in equations.edge_params], defaults)
    edges = directed_edge_values(csr, edges)
    return GraphArrays(csr, np.ascontiguousarray(nodes), np.ascontiguousarray(edges))
