"""The package's one home for Dask: everything that builds or computes a Dask graph.

Every public function of the package that accepts Dask arrays has one dispatch point
(``if is_dask_array(...)`` or ``any_dask_array(...)``) that calls a function of this
package; the mathematics done on each block (class moments, pair scatters, ranking sums)
stays in the module that owns it and is handed here as a function. Dask itself is imported
only inside the functions that need it, so importing this package does not need Dask.

* :mod:`.rows`: checks of row-chunked arrays, their blocks and labels, reductions over
  row blocks (``reduce_row_blocks``), lazy maps (``map_row_blocks``).
* :mod:`.neighbours`: exact k nearest neighbours, blockwise (k-NN predictions and error,
  the neighbour lists of retrieval, the candidates of local pairs).
"""

from .neighbours import (
    RetrievalGraph,
    Transform,
    as_dask_rows,
    block_pair_candidates,
    knn_error,
    knn_predict,
    neighbour_graph,
    smallest_k,
    transform_for_blocks,
)
from .rows import (
    check_dask_rows,
    classes_of,
    compute_in_turn,
    encode_labels_block,
    label_blocks,
    label_counts,
    map_row_blocks,
    reduce_row_block_pairs,
    reduce_row_blocks,
    row_blocks,
    tree_reduce,
)

__all__ = [
    "RetrievalGraph",
    "Transform",
    "as_dask_rows",
    "block_pair_candidates",
    "check_dask_rows",
    "classes_of",
    "compute_in_turn",
    "encode_labels_block",
    "knn_error",
    "knn_predict",
    "label_blocks",
    "label_counts",
    "map_row_blocks",
    "neighbour_graph",
    "reduce_row_block_pairs",
    "reduce_row_blocks",
    "row_blocks",
    "smallest_k",
    "transform_for_blocks",
    "tree_reduce",
]
