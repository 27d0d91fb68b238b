"""Metric learners on Dask arrays: one reduction over row blocks, equal to in-memory fits."""

import warnings

import numpy as np
import pytest

from spectral_ml.metric import AMLMetric, AMLMetricCV, GMMLMetric
from spectral_ml.metric._class_statistics import all_pair_statistics
from tests._dask_cluster import client, da  # noqa: F401  (skips without Dask)

pytestmark = pytest.mark.usefixtures("client")


def _data(seed=0, n=900, d=5, n_classes=4, offset=3.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    X = offset + rng.normal(size=(n_classes, d))[y] * 2 + rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    return X, y


def _rel(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def test_statistics_are_one_reduction_over_blocks(monkeypatch):
    from spectral_ml.metric import _class_statistics as cs

    X, y = _data()
    ref = all_pair_statistics(X, y)
    seen = []
    block_moments = cs._block_moments

    def recording(Xb, *args, **kwargs):
        seen.append((kwargs["first_row"], Xb.shape[0]))
        return block_moments(Xb, *args, **kwargs)

    monkeypatch.setattr(cs, "_block_moments", recording)  # the workers run in this process
    Xd = da.from_array(X, chunks=(128, 5))
    A, B, n_sim, n_dis = all_pair_statistics(Xd, da.from_array(y, chunks=200))
    assert isinstance(A, np.ndarray)
    assert (n_sim, n_dis) == ref[2:]
    assert _rel(A, ref[0]) < 1e-12 and _rel(B, ref[1]) < 1e-12
    # Every row block was reduced on its own, once: no block was joined to another.
    starts = np.cumsum((0,) + Xd.chunks[0][:-1])
    assert sorted(seen) == list(zip(starts.tolist(), Xd.chunks[0], strict=True))


def test_column_chunks_are_joined_per_row_block():
    X, y = _data(1)
    ref = all_pair_statistics(X, y)
    A, B, _, _ = all_pair_statistics(da.from_array(X, chunks=(100, 2)), y)
    assert _rel(A, ref[0]) < 1e-12 and _rel(B, ref[1]) < 1e-12


@pytest.mark.parametrize("make", [lambda: GMMLMetric(n_pairs="all"), lambda: AMLMetric(n_pairs="all")])
def test_fit_on_dask_equals_fit_in_memory(make):
    X, y = _data(2)
    ref = make().fit(X, y)
    est = make().fit(da.from_array(X, chunks=(150, 5)), da.from_array(y, chunks=150))
    assert isinstance(est.mahalanobis_matrix_, np.ndarray)
    assert _rel(est.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-8
    assert est.n_pairs_ == X.shape[0] * (X.shape[0] - 1) // 2
    assert est.n_features_in_ == 5


def test_default_pairs_on_dask_switch_to_all_with_a_warning():
    X, y = _data(3)
    ref = GMMLMetric(n_pairs="all").fit(X, y)
    with pytest.warns(UserWarning, match="n_pairs='all'"):
        est = GMMLMetric().fit(da.from_array(X, chunks=(200, 5)), y)
    assert _rel(est.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-8
    with pytest.raises(ValueError, match="n_pairs='all'"):
        GMMLMetric(n_pairs=1000).fit(da.from_array(X, chunks=(200, 5)), y)


def test_transform_of_dask_is_lazy_and_equal():
    X, y = _data(4)
    est = GMMLMetric(n_pairs="all").fit(X, y)
    Xd = da.from_array(X, chunks=(128, 5))
    Z = est.transform(Xd)
    assert isinstance(Z, da.Array)
    assert Z.chunks[0] == Xd.chunks[0]
    assert _rel(Z.compute(), est.transform(X)) < 1e-12


def test_aml_cv_on_dask_equals_in_memory():
    X, y = _data(5, n=300, d=3, n_classes=3)
    kwargs = dict(alphas=(0.1, 10.0), betas=(0.5,), cv=3, n_pairs="all")
    ref = AMLMetricCV(**kwargs).fit(X, y)
    est = AMLMetricCV(**kwargs).fit(da.from_array(X, chunks=(70, 3)), da.from_array(y, chunks=70))
    assert (est.alpha_, est.beta_) == (ref.alpha_, ref.beta_)
    np.testing.assert_allclose(est.cv_results_["mean_test_error"], ref.cv_results_["mean_test_error"], atol=1e-12)
    assert _rel(est.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-8


@pytest.mark.parametrize(
    "make",
    [
        lambda: GMMLMetric(n_pairs="all"),
        lambda: AMLMetric(n_pairs="all"),
        lambda: AMLMetricCV(alphas=(1.0,), betas=(1.0,), n_pairs="all"),
    ],
)
def test_nan_in_dask_x_is_named_and_leaves_the_estimator_unfitted(make):
    X, y = _data(6)
    X[333, 1] = np.nan
    est = make()
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(in rows 300 to 399\)"):
        est.fit(da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100))
    fitted = [name for name in vars(est) if name.endswith("_") and not name.startswith("_")]
    assert fitted == []


def test_refit_failure_keeps_the_previous_fit_whole():
    X, y = _data(7)
    est = GMMLMetric(n_pairs="all").fit(X, y)
    M = est.mahalanobis_matrix_.copy()
    bad = X[:, :3].copy()
    bad[5, 0] = np.inf
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        est.fit(da.from_array(bad, chunks=(100, 3)), y)
    # Nothing of the failed fit was kept: the previous metric and its feature count.
    assert est.n_features_in_ == 5
    np.testing.assert_array_equal(est.mahalanobis_matrix_, M)


@pytest.mark.parametrize(
    "make_X, make_y, match",
    [
        (
            lambda X, y: da.from_array(X, chunks=(100, 5))[da.from_array(y, chunks=100) > 0],
            lambda X, y: y[y > 0],
            "unknown size",
        ),
        (lambda X, y: da.from_array(X, chunks=(100, 5)), lambda X, y: y[:-1], "labels but X has"),
        (
            lambda X, y: da.from_array(X, chunks=(100, 5)),
            lambda X, y: da.from_array(y[:-3], chunks=100),
            "labels but X has",
        ),
        (lambda X, y: da.from_array(X, chunks=(100, 5)), lambda X, y: np.r_[y[:-1], 99], "only one sample"),
        (lambda X, y: da.from_array(X[:, 0], chunks=100), lambda X, y: y, "2-D"),
    ],
)
def test_bad_dask_input_raises_before_computing(make_X, make_y, match):
    X, y = _data(8)
    est = AMLMetric(n_pairs="all")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=match):
            est.fit(make_X(X, y), make_y(X, y))
    assert not hasattr(est, "components_")


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_dask_blocks_of_other_dtypes_are_reduced_in_float64(dtype):
    X, y = _data(9)
    X = (X * 10).astype(dtype)
    A0, B0, _, _ = all_pair_statistics(X.astype(np.float64), y)
    A, B, _, _ = all_pair_statistics(da.from_array(X, chunks=(120, 5)), y)
    assert A.dtype == np.float64
    assert _rel(A, A0) < 1e-12 and _rel(B, B0) < 1e-12


def test_fit_pairs_on_dask_equals_in_memory():
    rng = np.random.default_rng(10)
    pairs = rng.normal(size=(700, 2, 4)) + 5.0
    labels = np.where(rng.random(700) < 0.5, 1, -1)
    pairs[labels == 1, 1] = pairs[labels == 1, 0] + 0.3 * rng.normal(size=((labels == 1).sum(), 4))
    ref = AMLMetric().fit_pairs(pairs, labels)
    est = AMLMetric().fit_pairs(da.from_array(pairs, chunks=(90, 2, 4)), da.from_array(labels, chunks=100))
    assert est.n_pairs_ == 700 and est.n_features_in_ == 4
    assert _rel(est.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-8
    bad = pairs.copy()
    bad[123, 1, 2] = np.inf
    fresh = AMLMetric()
    with pytest.raises(ValueError, match=r"pairs contains NaN or infinity \(in pairs 90 to 179\)"):
        fresh.fit_pairs(da.from_array(bad, chunks=(90, 2, 4)), labels)
    assert not hasattr(fresh, "n_features_in_")


# ---------------------------------------------------------------------------------------
# Local pairs: the blockwise search and the scatters over pairs of blocks
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunks", [64, 200, 900])
def test_neighbor_pairs_on_dask_are_the_in_memory_pairs(chunks):
    from spectral_ml.metric import neighbor_pairs

    X, y = _data(seed=3, n=600)
    ref_idx, ref_lab = neighbor_pairs(X, y, 4, 7)
    idx, lab = neighbor_pairs(da.from_array(X, chunks=(chunks, 5)), da.from_array(y, chunks=chunks), 4, 7)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(lab, ref_lab)


def test_local_pair_fits_on_dask_match_in_memory_fits():
    X, y = _data(seed=4, n=700)
    Xd = da.from_array(X, chunks=(150, 5))
    for make in (
        lambda: GMMLMetric(pairs="neighbors", n_refine=1),
        lambda: GMMLMetric(pairs="neighbors", path="ratio", t=2.0),
        lambda: AMLMetric(pairs="neighbors"),
    ):
        ref, est = make().fit(X, y), make().fit(Xd, y)
        assert est.n_pairs_ == ref.n_pairs_
        assert _rel(est.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-8


def test_nan_in_a_dask_block_is_named_by_the_local_search():
    from spectral_ml.metric import neighbor_pairs

    X, y = _data(seed=5, n=300)
    X[250, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(in rows 200 to 299\)"):
        neighbor_pairs(da.from_array(X, chunks=(100, 5)), y)


def test_cv_over_local_pairs_on_dask_matches_in_memory():
    X, y = _data(seed=6, n=450)
    kw = dict(alphas=(0.1, 1.0), betas=(1.0,), pairs="neighbors", ts=(0.5, 2.0), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = AMLMetricCV(**kw).fit(X, y)
        est = AMLMetricCV(**kw).fit(da.from_array(X, chunks=(100, 5)), y)
    np.testing.assert_array_equal(est.cv_results_["mean_test_error"], ref.cv_results_["mean_test_error"])
    assert est.best_index_ == ref.best_index_
    assert _rel(est.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-6
