"""Retrieval metrics against a brute-force pure-Python reference and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score
from sklearn.neighbors import KNeighborsClassifier

from spectral_ml._backend import to_numpy
from spectral_ml.evaluation import (
    map_at_r,
    mean_average_precision_at_k,
    precision_at_1,
    precision_at_k,
)
from spectral_ml.evaluation.retrieval import leading_indices

# ---------------------------------------------------------------------------
# Pure-Python reference: explicit sort by (distance, index), explicit sums.
# ---------------------------------------------------------------------------


def _ref_relevance(Q, ql, D, dl, leave_one_out):
    """Per query: the 0/1 relevance list along the ranking and R."""
    out = []
    for i, q in enumerate(Q.tolist()):
        items = []
        for j, d in enumerate(D.tolist()):
            if leave_one_out and j == i:
                continue
            items.append((sum((a - b) ** 2 for a, b in zip(q, d, strict=True)), j))
        items.sort()
        rel = [int(dl[j] == ql[i]) for _, j in items]
        out.append((rel, sum(rel)))
    return out


def _ref_ap(rel, K, R, divisor):
    hits = 0
    acc = 0.0
    for i in range(K):
        if rel[i]:
            hits += 1
            acc += hits / (i + 1)
    den = {"hits": hits, "R": R, "min(K,R)": min(K, R)}[divisor]
    return acc / den if den > 0 else 0.0


def _ref_map(Q, ql, D, dl, K, divisor, loo):
    rows = _ref_relevance(Q, ql, D, dl, loo)
    return sum(_ref_ap(rel, K, R, divisor) for rel, R in rows) / len(rows)


def _ref_precision(Q, ql, D, dl, K, loo):
    rows = _ref_relevance(Q, ql, D, dl, loo)
    return sum(sum(rel[:K]) / K for rel, _ in rows) / len(rows)


def _ref_map_at_r(Q, ql, D, dl, loo):
    rows = _ref_relevance(Q, ql, D, dl, loo)
    return sum(_ref_ap(rel, R, R, "R") if R else 0.0 for rel, R in rows) / len(rows)


def _case(seed, n_q=13, n_db=17, d=3, n_classes=3, ties=False):
    rng = np.random.default_rng(seed)
    if ties:
        # Small integer coordinates: many exactly equal distances, all computed exactly.
        Q = rng.integers(0, 3, size=(n_q, d)).astype(float)
        D = rng.integers(0, 3, size=(n_db, d)).astype(float)
    else:
        Q = rng.normal(size=(n_q, d))
        D = rng.normal(size=(n_db, d))
    return Q, rng.integers(0, n_classes, n_q), D, rng.integers(0, n_classes, n_db)


def _to(xp, *arrays):
    return [xp.asarray(a) for a in arrays]


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("divisor", ["hits", "R", "min(K,R)"])
def test_map_matches_reference_with_database(xp, seed, ties, divisor):
    Q, ql, D, dl = _case(seed, ties=ties)
    ks = [1, 2, 5, 10, 17]
    got = mean_average_precision_at_k(*_to(xp, Q, ql), ks, *_to(xp, D, dl), divisor=divisor)
    assert list(got) == ks
    for K in ks:
        expected = _ref_map(Q, ql, D, dl, K, divisor, loo=False)
        assert isinstance(got[K], float)
        assert got[K] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", [4, 5, 6])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("divisor", ["hits", "R", "min(K,R)"])
def test_map_matches_reference_leave_one_out(xp, seed, ties, divisor):
    Q, ql, _, _ = _case(seed, n_q=15, ties=ties)
    for K in (1, 3, 14):
        got = mean_average_precision_at_k(*_to(xp, Q, ql), K, divisor=divisor)
        assert got == pytest.approx(_ref_map(Q, ql, Q, ql, K, divisor, loo=True), abs=1e-12)


def test_ties_are_broken_by_database_index(xp):
    # Every database item is at the same distance: the ranking is the database order.
    D = np.zeros((4, 2))
    dl = np.array([1, 0, 0, 1])
    Q = np.zeros((1, 2))
    ql = np.array([0])
    got = mean_average_precision_at_k(*_to(xp, Q, ql), [1, 2, 3, 4], *_to(xp, D, dl))
    # Ranking relevance 0,1,1,0: AP@1 = 0, AP@2 = (1/2)/1, AP@3 = (1/2 + 2/3)/2.
    assert got == pytest.approx({1: 0.0, 2: 0.5, 3: (0.5 + 2 / 3) / 2, 4: (0.5 + 2 / 3) / 2})
    assert precision_at_k(*_to(xp, Q, ql), [1, 2, 3], *_to(xp, D, dl)) == pytest.approx({1: 0.0, 2: 0.5, 3: 2 / 3})


def test_query_never_retrieves_itself(xp):
    # Each point's nearest other point has the other label.
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    y = np.array([0, 1, 0, 1])
    X, y = _to(xp, X, y)
    assert precision_at_1(X, y) == 0.0
    assert mean_average_precision_at_k(X, y, 1) == 0.0
    # Leave-one-out R = 1 (not 2); the one relevant item comes second for the outer points
    # (AP 1/2) and third for the inner ones (AP 1/3).
    assert map_at_r(X, y) == 0.0
    assert mean_average_precision_at_k(X, y, 3, divisor="R") == pytest.approx(5 / 12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_precision_matches_reference(xp, seed, ties):
    Q, ql, D, dl = _case(seed, ties=ties)
    got = precision_at_k(*_to(xp, Q, ql), (1, 4, 17), *_to(xp, D, dl))
    for K in (1, 4, 17):
        assert got[K] == pytest.approx(_ref_precision(Q, ql, D, dl, K, loo=False), abs=1e-12)
    got = precision_at_k(*_to(xp, Q, ql), 5)
    assert got == pytest.approx(_ref_precision(Q, ql, Q, ql, 5, loo=True), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_map_at_r_matches_reference(xp, seed, ties):
    Q, ql, D, dl = _case(seed, ties=ties)
    got = map_at_r(*_to(xp, Q, ql), *_to(xp, D, dl))
    assert got == pytest.approx(_ref_map_at_r(Q, ql, D, dl, loo=False), abs=1e-12)
    got = map_at_r(*_to(xp, Q, ql))
    assert got == pytest.approx(_ref_map_at_r(Q, ql, Q, ql, loo=True), abs=1e-12)


def test_map_at_r_query_without_relevant_items_scores_zero():
    D = np.array([[0.0], [1.0]])
    dl = np.array([0, 0])
    Q = np.array([[0.0], [0.0]])
    ql = np.array([0, 1])  # the second query has R = 0
    assert map_at_r(Q, ql, D, dl) == pytest.approx(0.5)
    assert mean_average_precision_at_k(Q, ql, 2, D, dl, divisor="R") == pytest.approx(0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_divisor_r_at_full_depth_equals_sklearn_average_precision(xp, seed):
    # With K = database size and divisor R, AP@K is the usual (non-interpolated) AP.
    Q, ql, D, dl = _case(seed, n_q=9, n_db=25)
    expected = []
    for q, label in zip(Q, ql, strict=True):
        relevant = dl == label
        if not relevant.any():
            expected.append(0.0)
            continue
        expected.append(average_precision_score(relevant, -np.sum((D - q) ** 2, axis=1)))
    got = mean_average_precision_at_k(*_to(xp, Q, ql), 25, *_to(xp, D, dl), divisor="R")
    assert got == pytest.approx(np.mean(expected), abs=1e-12)


def test_precision_at_1_equals_one_nearest_neighbour_accuracy(xp):
    Q, ql, D, dl = _case(7, n_q=40, n_db=60, d=4)
    knn = KNeighborsClassifier(n_neighbors=1).fit(D, dl)
    got = precision_at_1(*_to(xp, Q, ql), *_to(xp, D, dl))
    assert got == pytest.approx(knn.score(Q, ql), abs=1e-12)


def test_paper_definition_differs_from_other_divisors():
    # One relevant item at rank 2 of K = 3 with R = 3 relevant in the database.
    D = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    dl = np.array([1, 0, 1, 0, 0])
    Q, ql = np.array([[0.0]]), np.array([0])
    assert mean_average_precision_at_k(Q, ql, 3, D, dl, divisor="hits") == pytest.approx(0.5)
    assert mean_average_precision_at_k(Q, ql, 3, D, dl, divisor="R") == pytest.approx(1 / 6)
    assert mean_average_precision_at_k(Q, ql, 3, D, dl, divisor="min(K,R)") == pytest.approx(1 / 6)
    assert mean_average_precision_at_k(Q, ql, 1, D, dl, divisor="hits") == 0.0


def test_perfectly_clustered_embedding_scores_one(xp):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    X = 100.0 * y[:, None] + rng.normal(scale=0.1, size=(30, 2))
    X, y = _to(xp, X, y)
    assert mean_average_precision_at_k(X, y, [1, 5, 9]) == {1: 1.0, 5: 1.0, 9: 1.0}
    assert mean_average_precision_at_k(X, y, 29, divisor="min(K,R)") == pytest.approx(1.0)
    assert map_at_r(X, y) == pytest.approx(1.0)
    assert precision_at_k(X, y, 9) == pytest.approx(1.0)
    assert precision_at_k(X, y, 29) == pytest.approx(9 / 29)


@pytest.mark.parametrize("batch_size", [1, 2, 5, 1000])
def test_result_does_not_depend_on_batch_size(batch_size):
    Q, ql, D, dl = _case(3, n_q=11, ties=True)
    ref = mean_average_precision_at_k(Q, ql, [1, 4, 9], D, dl)
    got = mean_average_precision_at_k(Q, ql, [1, 4, 9], D, dl, batch_size=batch_size)
    assert got == pytest.approx(ref, abs=1e-14)
    # Blocks change only the order of the final floating-point sum.
    assert map_at_r(Q, ql, batch_size=batch_size) == pytest.approx(map_at_r(Q, ql), abs=1e-14)
    assert precision_at_k(Q, ql, 3, batch_size=batch_size) == pytest.approx(precision_at_k(Q, ql, 3), abs=1e-14)


def test_float32_and_lists_are_accepted():
    Q, ql, D, dl = _case(1)
    ref = mean_average_precision_at_k(Q, ql, 5, D, dl)
    got = mean_average_precision_at_k(Q.astype(np.float32), list(ql), 5, D.tolist(), dl.tolist())
    assert got == pytest.approx(ref)


def test_k_may_be_a_numpy_integer_and_sequence_order_is_kept():
    Q, ql, D, dl = _case(1)
    assert isinstance(mean_average_precision_at_k(Q, ql, np.int64(3), D, dl), float)
    assert list(precision_at_k(Q, ql, [5, 1, 3], D, dl)) == [5, 1, 3]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "k must be >= 1"),
        ({"k": 18}, "k=18 exceeds"),
        ({"k": [1, 0]}, "k must be >= 1"),
        ({"k": []}, "k must be"),
        ({"k": True}, "k must be a positive int"),
        ({"k": 2.5}, "k must be a positive int"),
        ({"k": "3"}, "k must be a positive int"),
        ({"k": 3, "divisor": "all"}, "divisor"),
        ({"k": 3, "batch_size": 0}, "batch_size"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    Q, ql, D, dl = _case(0)
    with pytest.raises(ValueError, match=match):
        mean_average_precision_at_k(Q, ql, database=D, database_labels=dl, **kwargs)


def test_invalid_inputs_raise():
    Q, ql, D, dl = _case(0)
    with pytest.raises(ValueError, match="queries"):
        precision_at_k(Q[:, 0], ql, 1)
    with pytest.raises(ValueError, match="query_labels"):
        precision_at_k(Q, ql[:-1], 1)
    with pytest.raises(ValueError, match="database_labels"):
        precision_at_k(Q, ql, 1, D, dl[:-1])
    with pytest.raises(ValueError, match="database_labels"):
        precision_at_k(Q, ql, 1, D)
    with pytest.raises(ValueError, match="database"):
        precision_at_k(Q, ql, 1, D[:, :2], dl)
    with pytest.raises(ValueError, match="queries"):
        bad = Q.copy()
        bad[0, 0] = np.nan
        map_at_r(bad, ql)
    with pytest.raises(ValueError, match="queries"):
        precision_at_1(Q[:1], ql[:1])
    # Leave-one-out: a query can retrieve at most n - 1 items.
    with pytest.raises(ValueError, match="exceeds"):
        precision_at_k(Q, ql, Q.shape[0])


@pytest.mark.parametrize("seed", [0, 1])
def test_shallow_cutoffs_in_a_large_tied_database(xp, seed):
    # K much smaller than the database (NumPy selects candidates before sorting): the items
    # tied with the K-th distance must still be taken in index order.
    Q, ql, D, dl = _case(seed, n_q=10, n_db=200, d=2, ties=True)
    got = mean_average_precision_at_k(*_to(xp, Q, ql), [1, 5, 20], *_to(xp, D, dl))
    prec = precision_at_k(*_to(xp, Q, ql), [1, 5, 20], *_to(xp, D, dl))
    for K in (1, 5, 20):
        assert got[K] == pytest.approx(_ref_map(Q, ql, D, dl, K, "hits", loo=False), abs=1e-12)
        assert prec[K] == pytest.approx(_ref_precision(Q, ql, D, dl, K, loo=False), abs=1e-12)


@pytest.mark.parametrize("depth", [1, 3, 12])
def test_leading_indices_equals_a_stable_argsort(xp, depth):
    rng = np.random.default_rng(depth)
    # Many ties: the order among equal distances must be the column order.
    dist = rng.integers(0, 4, size=(6, 40)).astype(np.float64)
    expected = np.argsort(dist, axis=1, kind="stable")[:, :depth]
    np.testing.assert_array_equal(to_numpy(leading_indices(xp.asarray(dist), depth)), expected)
