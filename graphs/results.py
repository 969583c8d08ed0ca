"""Results of solvers on graphs: per-node arrays in the order ``list(G)``.

Every graph result follows the project's result protocol (:class:`numerics.Result`):
``converged``, ``iterations``, ``residual`` with its history ``residuals``, ``message``,
a readable ``repr``, :meth:`~numerics.Result.to_dict` and ``finish(strict)``.
"""

from dataclasses import dataclass

import numpy as np

from numerics import Result

__all__ = ["GraphResult"]


@dataclass(kw_only=True, repr=False)
class GraphResult(Result):
    """Common fields of every graph result.

    Attributes
    ----------
    nodes : tuple
        ``list(G)``: the order of every per-node array.
    alphabet : ndarray
        The states, in the model's order.
    marginals : ndarray, shape (n_nodes, len(alphabet))
        ``P(s_i = a)``.
    """

    nodes: tuple = ()
    alphabet: np.ndarray = None
    marginals: np.ndarray = None

    @property
    def magnetization(self):
        """``E[s_i]`` per node: the marginals averaged over the alphabet values."""
        return self.marginals @ self.alphabet

    def node_marginal(self, node):
        """The marginal of one node, by its networkx name."""
        return self.marginals[self.nodes.index(node)]
