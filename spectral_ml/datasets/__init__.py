"""Benchmark data: scikit-learn's small sets, ``.npz`` files of the papers' data, synthetic data.

The ``.npz`` files are read from a data directory given as ``data_dir`` or by the environment
variable ``SPECTRAL_ML_DATA``; :func:`list_datasets` shows what is available.
"""

from ._loaders import (
    DATA_ENV_VAR,
    EMBEDDED_DATASETS,
    DatasetFileError,
    DatasetNotFoundError,
    check_dataset,
    list_datasets,
    load_dataset,
)
from ._synthetic import make_aml_synthetic

__all__ = [
    "load_dataset",
    "check_dataset",
    "list_datasets",
    "make_aml_synthetic",
    "DatasetNotFoundError",
    "DatasetFileError",
    "DATA_ENV_VAR",
    "EMBEDDED_DATASETS",
]
