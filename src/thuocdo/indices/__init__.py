"""The index engine: pure numpy functions over (entities × indicators) arrays, no SQL and no I/O.

One module per step, as in COINr: ``tree`` (the framework as data), ``impute``, ``normalise``, ``aggregate``,
``rank`` (with ties, changes), ``merge`` (the merged-province rule), ``spec`` (every step's parameters: the
step log), ``compute`` (the pipeline), ``uncertainty`` (Monte Carlo and sensitivity) and ``targets`` (the
national scorecard). ``workflow`` (the use cases that read the store) and ``cli`` (the thin command-line
face) are the only modules with I/O; ``demo_data`` makes plausible indicator values for the demo.
"""

from thuocdo.indices.compute import IndexResult, compute_index
from thuocdo.indices.normalise import Normalisation
from thuocdo.indices.spec import IndexSpec, Step, spec_from_framework
from thuocdo.indices.tree import IndexTree, TreeNode
from thuocdo.indices.uncertainty import Alternative, MonteCarloResult, leave_one_out, monte_carlo

__all__ = [
    "Alternative",
    "IndexResult",
    "IndexSpec",
    "IndexTree",
    "MonteCarloResult",
    "Normalisation",
    "Step",
    "TreeNode",
    "compute_index",
    "leave_one_out",
    "monte_carlo",
    "spec_from_framework",
]
