"""Task keys of the Dask measures: one key, one task graph, whatever ran before on the arrays.

The distributed scheduler logs "Detected different `run_spec` for key …" when a graph brings
a key it still holds with other dependencies (the same name for another task graph), which
can end in failures and deadlocks. Whether it still holds the key depends on timing: the
client releases a computation's keys through its event loop, and a measure's next graph can
reach the scheduler first. ``_HoldKeys`` takes that timing out: it holds every requested key,
as a client that has not released it yet, so that every key submitted twice is compared.
"""

import contextlib
import logging

import numpy as np
import pytest

from spectral_ml.evaluation import knn_error, knn_predict, map_at_r, mean_average_precision_at_k
from spectral_ml.metric import GMMLMetric
from tests._dask_cluster import client, da, distributed  # noqa: F401  (skips without Dask)

pytestmark = pytest.mark.usefixtures("client")

_COLLISION = "Detected different `run_spec`"


class _HoldKeys(distributed.SchedulerPlugin):
    """Wants every key a computation asks for, until the plugin is removed."""

    name = "spectral-ml-test-hold-keys"

    def update_graph(self, scheduler, *, keys, **kwargs):
        scheduler.client_desires_keys(keys=list(keys), client=self.name)


def _hold(dask_scheduler):
    dask_scheduler.add_plugin(_HoldKeys())


def _release(dask_scheduler):
    dask_scheduler.remove_plugin(name=_HoldKeys.name)
    dask_scheduler.remove_client(_HoldKeys.name)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        if _COLLISION in record.getMessage():
            self.messages.append(record.getMessage().split(" between ")[0])


@contextlib.contextmanager
def _key_collisions(client, *, hold):
    """The scheduler's collision warnings logged meanwhile (the scheduler runs in this process)."""
    handler = _Collect()
    logger = logging.getLogger("distributed.scheduler")
    logger.addHandler(handler)
    if hold:
        client.run_on_scheduler(_hold)
    try:
        yield handler.messages
    finally:
        if hold:
            client.run_on_scheduler(_release)
        logger.removeHandler(handler)


def _data():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 4, 600)
    X = rng.normal(size=(600, 3)) + y[:, None]
    Xd, yd = da.from_array(X, chunks=(100, 3)), da.from_array(y, chunks=100)
    # Slices: blocks named ('getitem-…', i, 0), behind which array optimization fuses a task.
    return X[:400], y[:400], Xd[:400], yd[:400]


def test_measures_on_the_same_arrays_reuse_no_key_for_another_graph(client):
    """The issue's sequence: knn_error and retrieval twice on the same arrays, then after a transform."""
    X, y, Xs, ys = _data()
    with _key_collisions(client, hold=True) as collisions:
        for labels in (y, ys):
            for _ in range(2):
                err = knn_error(Xs, labels, Xs, labels, k=5)
                got = mean_average_precision_at_k(Xs, labels, [1, 5], divisor="R")
        metric = GMMLMetric(n_pairs="all").fit(Xs, ys)
        Z = metric.transform(Xs)
        for _ in range(2):
            err_z = knn_error(Z, ys, Z, ys, k=5)
            map_r = map_at_r(Z, ys)
            err_m = knn_error(Xs, y, Xs, y, k=5, metric=metric)
    assert not collisions, sorted(set(collisions))
    # Held keys are reused, not recomputed: the results must still be the in-memory ones.
    assert err == knn_error(X, y, X, y, k=5)
    ref = mean_average_precision_at_k(X, y, [1, 5], divisor="R")
    assert all(abs(got[kk] - ref[kk]) < 1e-12 for kk in ref)
    Z_mem = metric.transform(X)
    assert err_z == knn_error(Z_mem, y, Z_mem, y, k=5) == err_m
    assert abs(map_r - map_at_r(Z_mem, y)) < 1e-12


def test_persisted_predictions_share_no_key_with_later_measures(client):
    """knn_predict's lazy result is optimized when persisted; later measures on its inputs
    must not bring the inputs' block keys for another graph (no timing involved here)."""
    X, y, Xs, ys = _data()
    with _key_collisions(client, hold=False) as collisions:
        pred = knn_predict(Xs, ys, Xs, k=5).persist()
        got = mean_average_precision_at_k(Xs, y, [1, 5])
        err = knn_error(Xs, ys, Xs, ys, k=5)
        np.testing.assert_array_equal(pred.compute(), knn_predict(X, y, X, k=5))
        del pred
    assert not collisions, sorted(set(collisions))
    ref = mean_average_precision_at_k(X, y, [1, 5])
    assert all(abs(got[kk] - ref[kk]) < 1e-12 for kk in ref)
    assert err == knn_error(X, y, X, y, k=5)
