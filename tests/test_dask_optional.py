"""Dask is an optional extra: the package imports and works where it cannot be imported."""

import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import sys

    class _NoDask:
        # Finder that makes every import of dask or distributed fail, as where they are absent.
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("dask", "distributed"):
                raise ImportError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, _NoDask())

    import numpy as np
    import spectral_ml
    from spectral_ml.evaluation import knn_error, mean_average_precision_at_k
    from spectral_ml.metric import AMLMetric, GMMLMetric, all_pair_statistics

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.normal(size=(3, 4))[y] + rng.normal(size=(60, 4))
    A, B, n_sim, n_dis = all_pair_statistics(X, y)
    assert (n_sim, n_dis) == (3 * 190, 1200)
    model = GMMLMetric(n_pairs="all").fit(X, y)
    AMLMetric(n_pairs="all").fit(X, y)
    assert knn_error(X, y, X, y, metric=model, k=1) == 0.0
    assert mean_average_precision_at_k(X, y, 1) > 0.5
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
    assert not loaded, loaded
    print("ok")
    """
)


def test_package_works_without_dask():
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_package_does_not_import_dask_by_itself():
    """Installed or not, Dask is imported only by a program that uses it."""
    script = (
        "import sys, numpy as np\n"
        "import spectral_ml, spectral_ml.metric, spectral_ml.evaluation\n"
        "from spectral_ml.metric import GMMLMetric\n"
        "X = np.random.default_rng(0).normal(size=(40, 3)); y = np.arange(40) % 2\n"
        "GMMLMetric(n_pairs='all').fit(X, y)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
