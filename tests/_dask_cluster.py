"""The Dask test modules' cluster: skip without the optional extra, else a LocalCluster."""

import pytest

da = pytest.importorskip("dask.array", reason="Dask is an optional extra: pip install 'spectral-ml[dask]'")
distributed = pytest.importorskip("distributed", reason="the dask extra includes dask.distributed")


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two in-process workers as the default scheduler, closed afterwards."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0", silence_logs=50
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()
