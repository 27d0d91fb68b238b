"""Exact k-NN and retrieval on Dask arrays: blockwise top-k and merge, equal to in memory."""

import numpy as np
import pytest

from spectral_ml._dask import smallest_k
from spectral_ml.evaluation import (
    knn_error,
    knn_predict,
    map_at_r,
    mean_average_precision_at_k,
    precision_at_1,
    precision_at_k,
)
from spectral_ml.metric import GMMLMetric
from tests._dask_cluster import client, da  # noqa: F401  (skips without Dask)

pytestmark = pytest.mark.usefixtures("client")


def _split(seed=0, n_train=1300, n_test=400, d=4, n_classes=5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, d))
    y_tr = rng.integers(0, n_classes, n_train)
    y_te = rng.integers(0, n_classes, n_test)
    X_tr = centres[y_tr] + rng.normal(size=(n_train, d))
    X_te = centres[y_te] + rng.normal(size=(n_test, d))
    return X_tr, y_tr, X_te, y_te


@pytest.mark.parametrize("n, k", [(20000, 5), (1003, 7), (37, 5), (11, 3), (9, 9)])
def test_smallest_k_is_the_head_of_a_stable_sort(rng, n, k):
    dist = rng.normal(size=(64, n))
    dist[:, 3:6] = dist[:, :1]  # ties, which must stay in column order
    dist[::5] = np.round(dist[::5], 1)  # rows full of ties
    values, cols = smallest_k(dist, k)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(cols, order)
    np.testing.assert_array_equal(values, np.take_along_axis(dist, order, axis=1))


@pytest.mark.parametrize("metric", ["none", "matrix", "estimator"])
def test_knn_predict_on_dask_equals_in_memory(metric):
    X_tr, y_tr, X_te, y_te = _split()
    if metric == "none":
        M = None
    elif metric == "matrix":
        M = np.cov(np.random.default_rng(1).normal(size=(9, 4)).T) + np.eye(4)
    else:
        M = GMMLMetric(n_pairs="all").fit(X_tr, y_tr)
    ref = knn_predict(X_tr, y_tr, X_te, metric=M, k=5)
    pred = knn_predict(
        da.from_array(X_tr, chunks=(200, 4)),
        da.from_array(y_tr, chunks=300),
        da.from_array(X_te, chunks=(150, 4)),
        metric=M,
        k=5,
    )
    assert isinstance(pred, da.Array)
    np.testing.assert_array_equal(pred.compute(), ref)


def test_knn_error_on_dask_equals_in_memory_with_string_labels():
    X_tr, y_tr, X_te, y_te = _split(2)
    names = np.array(["ant", "bee", "cow", "dog", "elk"])
    ref = knn_error(X_tr, names[y_tr], X_te, names[y_te], k=5)
    err = knn_error(
        da.from_array(X_tr, chunks=(250, 4)), names[y_tr], da.from_array(X_te, chunks=(90, 4)), names[y_te], k=5
    )
    assert isinstance(err, float)
    assert abs(err - ref) < 1e-8
    # The query side alone may be Dask (the database in memory), and the other way round.
    assert (
        abs(
            knn_error(X_tr, y_tr, da.from_array(X_te, chunks=(90, 4)), y_te, k=5)
            - knn_error(X_tr, y_tr, X_te, y_te, k=5)
        )
        < 1e-8
    )
    assert (
        abs(
            knn_error(da.from_array(X_tr, chunks=(250, 4)), y_tr, X_te, y_te, k=5)
            - knn_error(X_tr, y_tr, X_te, y_te, k=5)
        )
        < 1e-8
    )


@pytest.mark.parametrize("divisor", ["hits", "R", "min(K,R)"])
@pytest.mark.parametrize("with_database", [True, False])
def test_map_at_k_on_dask_equals_in_memory(divisor, with_database):
    X_tr, y_tr, X_te, y_te = _split(3)
    if with_database:
        ref = mean_average_precision_at_k(X_te, y_te, [1, 4, 10], X_tr, y_tr, divisor=divisor)
        got = mean_average_precision_at_k(
            da.from_array(X_te, chunks=(100, 4)),
            y_te,
            [1, 4, 10],
            da.from_array(X_tr, chunks=(300, 4)),
            da.from_array(y_tr, chunks=300),
            divisor=divisor,
        )
    else:
        ref = mean_average_precision_at_k(X_te, y_te, [1, 4, 10], divisor=divisor)
        got = mean_average_precision_at_k(da.from_array(X_te, chunks=(70, 4)), y_te, [1, 4, 10], divisor=divisor)
    assert got.keys() == ref.keys()
    for kk in ref:
        assert abs(got[kk] - ref[kk]) < 1e-8


@pytest.mark.parametrize("with_database", [True, False])
def test_precision_and_map_at_r_on_dask_equal_in_memory(with_database):
    X_tr, y_tr, X_te, y_te = _split(7)
    if with_database:
        args = (X_te, y_te)
        kwargs = {"database": X_tr, "database_labels": y_tr}
        lazy = (da.from_array(X_te, chunks=(100, 4)), y_te)
        lazy_kwargs = {
            "database": da.from_array(X_tr, chunks=(300, 4)),
            "database_labels": da.from_array(y_tr, chunks=300),
        }
    else:
        args, kwargs = (X_te, y_te), {}
        lazy, lazy_kwargs = (da.from_array(X_te, chunks=(70, 4)), da.from_array(y_te, chunks=70)), {}
    ref = precision_at_k(*args, [1, 4, 10], **kwargs)
    got = precision_at_k(*lazy, [1, 4, 10], **lazy_kwargs)
    assert got.keys() == ref.keys()
    for kk in ref:
        assert abs(got[kk] - ref[kk]) < 1e-12
    assert abs(precision_at_1(*lazy, **lazy_kwargs) - precision_at_1(*args, **kwargs)) < 1e-12
    assert 0.3 < ref[10] < 0.9  # neither trivial nor hopeless: the test can tell them apart
    ref_r = map_at_r(*args, **kwargs)
    got_r = map_at_r(*lazy, **lazy_kwargs)
    assert isinstance(got_r, float)
    assert abs(got_r - ref_r) < 1e-12
    assert 0.1 < ref_r < 0.9


def test_map_at_r_on_dask_with_a_class_only_in_the_database():
    # The depth of the search is R of the queries' classes; a database class that no query
    # has (here the largest) must not change the result.
    X_tr, y_tr, X_te, y_te = _split(8)
    y_tr = y_tr.copy()
    y_tr[:700] = 9
    keep = y_te != 9
    ref = map_at_r(X_te[keep], y_te[keep], X_tr, y_tr)
    got = map_at_r(da.from_array(X_te[keep], chunks=(100, 4)), y_te[keep], da.from_array(X_tr, chunks=(300, 4)), y_tr)
    assert abs(got - ref) < 1e-12
    # A query class absent from the database: R = 0 everywhere gives 0, as in memory.
    none = map_at_r(
        da.from_array(X_te, chunks=(100, 4)), np.full(len(y_te), 42), da.from_array(X_tr, chunks=(300, 4)), y_tr
    )
    assert none == 0.0 == map_at_r(X_te, np.full(len(y_te), 42), X_tr, y_tr)


def test_retrieval_on_dask_bad_input():
    X_tr, y_tr, X_te, y_te = _split(9)
    Xd = da.from_array(X_te, chunks=(100, 4))
    with pytest.raises(ValueError, match="k=1301"):
        precision_at_k(Xd, y_te, 1301, X_tr, y_tr)
    with pytest.raises(ValueError, match="k=400"):
        precision_at_k(Xd, y_te, 400)  # leave-one-out: 399 retrievable
    with pytest.raises(ValueError, match="database_labels is required"):
        map_at_r(Xd, y_te, X_tr)
    with pytest.raises(ValueError, match="query_labels"):
        map_at_r(Xd, y_te[:-1])
    bad = X_te.copy()
    bad[5, 1] = np.inf
    with pytest.raises(ValueError, match="queries contains NaN or infinity"):
        precision_at_k(da.from_array(bad, chunks=(100, 4)), y_te, 3)


def test_knn_on_dask_with_ties_keeps_database_order():
    """Duplicated database rows: the neighbours are the first copies, as in memory."""
    rng = np.random.default_rng(4)
    base = rng.normal(size=(60, 3))
    X_tr = np.concatenate([base, base, base])
    y_tr = np.concatenate([np.zeros(60, int), np.ones(60, int), np.full(60, 2)])
    X_te = base[:25] + 1e-3
    ref = knn_predict(X_tr, y_tr, X_te, k=1, method="brute")
    got = knn_predict(da.from_array(X_tr, chunks=(50, 3)), y_tr, da.from_array(X_te, chunks=(10, 3)), k=1)
    np.testing.assert_array_equal(got.compute(), ref)
    np.testing.assert_array_equal(ref, np.zeros(25, int))


def test_knn_on_dask_bad_input():
    X_tr, y_tr, X_te, y_te = _split(5)
    bad = X_tr.copy()
    bad[777, 2] = np.nan
    with pytest.raises(ValueError, match="X_train contains NaN"):
        knn_error(da.from_array(bad, chunks=(200, 4)), y_tr, X_te, y_te, k=5)
    with pytest.raises(ValueError, match="unknown size"):
        Xd = da.from_array(X_tr, chunks=(200, 4))
        knn_error(Xd[da.from_array(y_tr, chunks=200) > 0], y_tr[y_tr > 0], X_te, y_te, k=5)
    with pytest.raises(ValueError, match="y_train"):
        knn_error(da.from_array(X_tr, chunks=(200, 4)), y_tr[:-1], X_te, y_te, k=5)
    with pytest.raises(ValueError, match="k=2000"):
        knn_error(da.from_array(X_tr, chunks=(200, 4)), y_tr, X_te, y_te, k=2000)
    with pytest.raises(ValueError, match="features"):
        knn_error(da.from_array(X_tr, chunks=(200, 4)), y_tr, X_te[:, :3], y_te, k=5)


def test_tiles_smaller_than_blocks_give_the_same_neighbours(monkeypatch):
    """Distance tiles split a block's rows and columns; the result must not depend on them."""
    from spectral_ml._dask import neighbours as _blockwise

    monkeypatch.setattr(_blockwise, "_TILE_COLUMNS", 64)  # the workers run in this process
    monkeypatch.setattr(_blockwise, "_TILE_ENTRIES", 64 * 24)
    X_tr, y_tr, X_te, y_te = _split(6)
    pred = knn_predict(da.from_array(X_tr, chunks=(500, 4)), y_tr, da.from_array(X_te, chunks=(150, 4)), k=7)
    np.testing.assert_array_equal(pred.compute(), knn_predict(X_tr, y_tr, X_te, k=7, method="brute"))
    got = mean_average_precision_at_k(da.from_array(X_te, chunks=(150, 4)), y_te, [1, 5], divisor="R")
    ref = mean_average_precision_at_k(X_te, y_te, [1, 5], divisor="R")
    for kk in ref:
        assert abs(got[kk] - ref[kk]) < 1e-8
