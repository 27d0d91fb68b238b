"""Fitting a metric on data larger than memory, with Dask
======================================================

With a `Dask array <https://docs.dask.org/en/stable/array.html>`_
chunked by rows, the metric learners of :mod:`spectral_ml.metric` fit on
*all pairs* of samples in one pass over the blocks, ``transform`` stays
lazy, and the k-NN measures of :mod:`spectral_ml.evaluation` search
block by block. Memory holds a few blocks per thread, whatever the
number of rows. This example generates its data lazily, block by block
from a seeded generator, so that no row exists before a computation asks
for it, and runs on the threads of one machine (a ``dask.distributed``
client, when one is active, runs the same calls on a cluster).

Needs the ``dask`` extra (``pip install "spectral-ml[dask]"``).
"""

import time

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np

from spectral_ml.evaluation import knn_error
from spectral_ml.metric import AMLMetric, GMMLMetric
from spectral_ml.plotting import plot_embedding_2d

dask.config.set(
    scheduler="threads"
)  # the threads of this machine (Dask's default for arrays)

# %%
# Data generated block by block
# -----------------------------
# Four classes that differ in a plane of a 16-dimensional space, with
# much larger noise in the 14 other directions, all turned by a random
# rotation so that no single coordinate tells the classes apart. A block
# of rows is a function of its position alone: the labels and the
# features of block ``i`` come from generators seeded with
# ``(seed, i)``, so every pass over the data sees the same rows, and a
# block is made only when a task needs it. The same code could read the
# blocks from files (``da.from_zarr``, ``da.from_npy_stack``).
d, n_classes, block_rows = 16, 4, 50_000
setup = np.random.default_rng(0)
angles = 2 * np.pi * np.arange(n_classes) / n_classes
means = np.zeros((n_classes, d))
means[:, 0], means[:, 1] = 3.0 * np.cos(angles), 3.0 * np.sin(angles)
noise_scale = np.r_[1.0, 1.0, np.full(d - 2, 3.0)]
rotation = np.linalg.qr(setup.standard_normal((d, d)))[0]


def make_data(n_rows, seed):
    """Lazy Dask arrays X (n_rows × d) and y, chunked by rows."""
    n_blocks = n_rows // block_rows

    def labels(block_info=None):
        i = block_info[None]["chunk-location"][0]
        return np.random.default_rng([seed, i, 0]).integers(
            0, n_classes, block_rows
        )

    def features(y_block, block_info=None):
        i = block_info[0]["chunk-location"][0]
        rng = np.random.default_rng([seed, i, 1])
        noise = rng.standard_normal((len(y_block), d)) * noise_scale
        return (means[y_block] + noise) @ rotation.T

    row_chunks = ((block_rows,) * n_blocks,)
    y = da.map_blocks(labels, chunks=row_chunks, dtype=np.int64)
    X = y.map_blocks(
        features, new_axis=1, chunks=(block_rows, d), dtype=np.float64
    )
    return X, y


X_train, y_train = make_data(500_000, seed=1)
X_test, y_test = make_data(50_000, seed=2)
print(f"X_train: {type(X_train).__module__}.{type(X_train).__name__}")
print(f"shape {X_train.shape}, {X_train.nbytes / 1e6:.0f} MB")
print(f"{X_train.numblocks[0]} blocks of shape {X_train.chunksize}")

# %%
# Nothing has been computed yet: ``X_train`` is a recipe of 10 blocks.
# It has half a million rows (64 MB) so that this page builds in
# seconds; nothing below depends on its size, and with a thousand times
# more rows the same calls would still hold only a few blocks at a time,
# reading each block once per fit.
#
# Fitting on all pairs, in one pass
# ---------------------------------
# Every pair of training rows counts: pairs of one class are similar,
# pairs of different classes dissimilar. Their scatter matrices follow
# exactly from the counts, sums and second moments of each class, one
# reduction over the blocks, without forming a pair. ``n_pairs="all"``
# says so (it is what a Dask array always gets).
models = {}
for name, model in (
    ("GMML", GMMLMetric(n_pairs="all")),
    ("AML", AMLMetric(n_pairs="all", random_state=0)),
):
    start = time.perf_counter()
    models[name] = model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(f"{name}: {model.n_pairs_:.3g} pairs in {seconds:.1f} s")

# %%
# ``transform`` stays lazy
# ------------------------
# The learned map applies block by block; the result is another Dask
# array, computed when it is needed: here a sample of 2 000 test rows,
# drawn on their first two principal components.
Z_test = models["AML"].transform(X_test)
print(
    f"Z_test: lazy {type(Z_test).__name__}, blocks {Z_test.chunksize}"
)
sample = slice(0, 2000)
X_sample, Z_sample, y_sample = dask.compute(
    X_test[sample], Z_test[sample], y_test[sample]
)

fig, axes = plt.subplots(1, 2, figsize=(6.6, 3.6), layout="constrained")
plot_embedding_2d(
    X_sample,
    y_sample,
    ax=axes[0],
    title="input space",
    legend=False,
)
plot_embedding_2d(
    Z_sample,
    y_sample,
    ax=axes[1],
    title="AML embedding",
    class_names=list("ABCD"),
)

# %%
# On the principal components of the input, the noise hides the classes;
# after the learned map they separate.
#
# k-NN error, block by block
# --------------------------
# :func:`~spectral_ml.evaluation.knn_error` takes the Dask arrays and
# searches exactly, one block of queries against one block of the
# database at a time. Its cost grows with the product of the two sizes,
# far faster than a fit's: here 2 000 test rows query the first 25 000
# training rows.
queries, database = slice(0, 2_000), slice(0, 25_000)
data = (X_train[database], y_train[database])
data += (X_test[queries], y_test[queries])
print(f"Euclidean 5-NN test error {knn_error(*data, k=5):.3f}")
for name, model in models.items():
    error = knn_error(*data, metric=model, k=5)
    print(f"{name:<9s} 5-NN test error {error:.3f}")

# %%
# The user guide's page on Dask describes the blockwise algorithms, the
# errors they raise and how to run them on a ``dask.distributed``
# cluster.
