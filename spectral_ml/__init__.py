"""spectral_ml: spectral methods for metric learning.

Two capabilities rest on one spectral calculus (:mod:`spectral_ml.linalg`):

* the DPP diversity term of Yu et al. (ICLR 2020) with proper spectral sub-gradients
  (:mod:`spectral_ml.dpp`), and deep feature learning with it (:mod:`spectral_ml.nn`);
* Adversarial Metric Learning (Chen et al., IJCAI 2018) over the geometric-mean loss of
  GMML (Zadeh et al., ICML 2016) (:mod:`spectral_ml.metric`).

Array-level functions run on NumPy, CuPy, PyTorch or array-api-strict arrays: the namespace
of the inputs decides.
"""

from importlib import import_module

__version__ = "0.1.0"

# Public names resolved on first access, so `import spectral_ml` stays cheap and a
# subpackage's heavy imports (pymanopt, matplotlib) load only when used.
_LAZY = {
    "dpp_diversity": "spectral_ml.dpp",
    "DPPSettings": "spectral_ml.dpp",
    "AMLMetric": "spectral_ml.metric",
    "AMLMetricCV": "spectral_ml.metric",
    "GMMLMetric": "spectral_ml.metric",
    "DPPFeatureLearner": "spectral_ml.nn",
    "load_dataset": "spectral_ml.datasets",
    "taylor_test": "spectral_ml.testing",
}
_SUBMODULES = {
    "linalg",
    "testing",
    "dpp",
    "metric",
    "nn",
    "evaluation",
    "datasets",
    "plotting",
    "cli",
}

__all__ = sorted(_LAZY) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = import_module(f"spectral_ml.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'spectral_ml' has no attribute {name!r}")


def __dir__():
    return __all__
