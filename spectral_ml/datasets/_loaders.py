"""Loading the benchmark data sets: scikit-learn's embedded sets and ``.npz`` files."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

__all__ = [
    "load_dataset",
    "list_datasets",
    "check_dataset",
    "DatasetNotFoundError",
    "DatasetFileError",
    "DATA_ENV_VAR",
]

#: Environment variable naming the directory of the ``.npz`` data files.
DATA_ENV_VAR = "SPECTRAL_ML_DATA"

_MISSING_POLICIES = ("impute_median", "drop", "raise")
_SPLITS = ("all", "train", "test")
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _sklearn_loader(name: str):
    from sklearn import datasets

    return {
        "digits": datasets.load_digits,
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
        "breast_cancer": datasets.load_breast_cancer,
    }[name]


#: Data sets shipped inside scikit-learn (no file needed).
EMBEDDED_DATASETS = ("breast_cancer", "digits", "iris", "wine")

# Descriptions of the files the papers' experiments use; any other NAME.npz loads too.
_FILE_DESCRIPTIONS = {
    "breast_cancer_wisconsin": (
        "Breast Cancer Wisconsin (Original), UCI: 699 fine-needle aspirates, 9 cytology scores "
        "(1..10), 2 classes (0 benign, 1 malignant). 16 rows miss 'bare_nuclei'. Not the 569-row "
        "Diagnostic set of scikit-learn's load_breast_cancer. Wolberg and Mangasarian, PNAS 87, "
        "1990; UCI Machine Learning Repository."
    ),
    "vehicle": (
        "Statlog (Vehicle Silhouettes), UCI: 846 silhouettes, 18 shape features, 4 classes "
        "(bus, opel, saab, van). Siebert, Turing Institute memorandum TIRM-87-018, 1987; UCI "
        "Machine Learning Repository."
    ),
    "german_credit_numeric": (
        "Statlog (German Credit Data), numeric version, UCI: 1000 applicants, 24 integer "
        "attributes of very different ranges, 2 classes (0 good, 1 bad). Hofmann, 1994; UCI "
        "Machine Learning Repository."
    ),
    "image_segment": (
        "Statlog (Image Segmentation), UCI: 2310 3x3 regions of outdoor images, 19 features "
        "(one constant), 7 classes of 330. Vision Group, University of Massachusetts, 1990; UCI "
        "Machine Learning Repository."
    ),
    "mnist": (
        "MNIST handwritten digits: 70000 grey-scale 28x28 images (60000 training rows, then "
        "10000 test rows), 784 pixel features, 10 classes. LeCun, Bottou, Bengio and Haffner, "
        "Proc. IEEE 86(11), 1998."
    ),
}

# Files whose pixels are stored as raw 0..255 bytes.
_PIXEL_DATASETS = ("mnist",)


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a data set's ``.npz`` file (or the data directory) cannot be found.

    A subclass of :class:`FileNotFoundError`; its message names the file, the directory it
    was looked for in, and how to point the loader at the right directory (the ``data_dir``
    argument or the ``SPECTRAL_ML_DATA`` environment variable).
    """


class DatasetFileError(ValueError):
    """Raised when a data set's ``.npz`` file exists but cannot be used.

    A subclass of :class:`ValueError`: the file is empty, not an ``.npz`` archive (random
    bytes, a truncated download, a single ``.npy`` array), has a corrupt member, lacks the
    arrays ``X`` and ``y``, or holds them with the wrong shapes, dtypes or values. The
    message names the file, says what is wrong with it and how to write a usable one.
    """


#: How to write a file that :func:`load_dataset` reads.
_HOW_TO_WRITE = "write it with numpy.savez(path, X=X, y=y), X 2-D numeric and y 1-D with one label per row of X"


def _resolve_data_dir(data_dir) -> tuple[Path | None, str]:
    """Return the data directory and a phrase saying where it came from."""
    if data_dir is not None:
        return Path(os.fspath(data_dir)).expanduser(), "given as data_dir"
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser(), f"from the environment variable {DATA_ENV_VAR}"
    return None, ""


def _not_found(name: str, directory: Path | None, origin: str) -> DatasetNotFoundError:
    filename = f"{name}.npz"
    how = f"pass data_dir=<directory> to load_dataset or set the environment variable {DATA_ENV_VAR}=<directory>"
    builtin = ", ".join(EMBEDDED_DATASETS)
    if directory is None:
        message = (
            f"Dataset {name!r} is read from the file {filename!r} in a data directory, but no "
            f"data directory is configured. Put {filename!r} in a directory and {how}. "
            f"Data sets that need no file: {builtin}."
        )
    elif not directory.is_dir():
        message = (
            f"Dataset {name!r}: the data directory {str(directory)!r} ({origin}) does not exist. "
            f"Put {filename!r} in an existing directory and {how}."
        )
    else:
        message = (
            f"Dataset {name!r}: file {filename!r} not found in the data directory "
            f"{str(directory)!r} ({origin}). Put {filename!r} in that directory, or {how} "
            f"to point at the directory that holds it."
        )
    return DatasetNotFoundError(message)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}.")
    if name.endswith(".npz"):
        name = name[: -len(".npz")]
    if not _NAME_PATTERN.match(name) or ".." in name:
        raise ValueError(f"name must be a data set name (letters, digits, '_', '-', '.'; no path), got {name!r}.")
    return name


def _check_n_samples(n_samples: Any, n_rows: int):
    if n_samples is None:
        return None
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise ValueError(f"n_samples must be a positive int or None, got {n_samples!r}.")
    n_samples = int(n_samples)
    if not 1 <= n_samples <= n_rows:
        raise ValueError(f"n_samples must be between 1 and the number of rows ({n_rows}), got {n_samples}.")
    return n_samples


def _stratified_subset(y: np.ndarray, n_samples: int, random_state) -> np.ndarray:
    """Indices (sorted) of ``n_samples`` rows drawn without replacement, class proportions kept.

    Each class gets ``floor(n_samples * n_c / n)`` rows; the rows left over go to the classes
    with the largest fractional parts (lowest label first among equal parts).
    """
    rng = np.random.default_rng(random_state)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = n_samples * counts / y.shape[0]
    quota = np.floor(exact).astype(np.int64)
    remainder = n_samples - int(quota.sum())
    if remainder:
        # Stable sort keeps the lower label first among equal fractional parts.
        quota[np.argsort(-(exact - quota), kind="stable")[:remainder]] += 1
    chosen = [
        rng.choice(np.flatnonzero(inverse == c), size=int(q), replace=False) for c, q in enumerate(quota) if q > 0
    ]
    return np.sort(np.concatenate(chosen))


def _encode_labels(y: np.ndarray, source: str) -> tuple[np.ndarray, list[str] | None]:
    """Return labels as int64 ``0..c-1`` and, when they had to be re-coded, the original values."""
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DatasetFileError(f"y in {source} must hold class labels; got non-integer floats.")
        y = y.astype(np.int64)
    if y.dtype.kind in "iub":
        values = np.unique(y)
        if values.size and values[0] == 0 and values[-1] == values.size - 1:
            return y.astype(np.int64), None
    elif y.dtype.kind not in "US":
        raise DatasetFileError(f"y in {source} must hold integer or string labels, got dtype {y.dtype}.")
    values, codes = np.unique(y, return_inverse=True)
    return codes.astype(np.int64), [str(v) for v in values]


def _handle_missing(
    X: np.ndarray, missing: str, source: str, label: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Apply the missing-value policy; return ``X``, the indices of the rows kept and a note
    saying what was done (empty when nothing was missing)."""
    rows = np.arange(X.shape[0])
    if X.dtype.kind != "f":
        return X, rows, []
    if np.isinf(X).any():
        raise DatasetFileError(f"X in {source} contains infinite values; replace them or mark them missing (NaN).")
    nan = np.isnan(X)
    if not nan.any():
        return X, rows, []
    n_values, n_rows = int(nan.sum()), int(nan.any(axis=1).sum())
    if missing == "raise":
        raise DatasetFileError(
            f"X in {source} has {n_values} missing values (NaN) in {n_rows} "
            f"rows; choose missing='impute_median' or missing='drop'."
        )
    if missing == "drop":
        keep = ~nan.any(axis=1)
        if not keep.any():
            raise DatasetFileError(f"X in {source}: every row has a missing value; missing='drop' leaves nothing.")
        note = f"{label or source}: {n_rows} of {X.shape[0]} rows had missing values (NaN) and were dropped."
        return X[keep], rows[keep], [note]
    empty = nan.all(axis=0)
    if empty.any():
        raise DatasetFileError(
            f"X in {source}: column(s) {np.flatnonzero(empty).tolist()} have no observed value to "
            f"impute from; use missing='drop' or fix the file."
        )
    X = X.copy()
    medians = np.nanmedian(X, axis=0)
    X[nan] = np.take(medians, np.nonzero(nan)[1])
    note = (
        f"{label or source}: {n_values} missing value(s) (NaN) in {n_rows} row(s) replaced by the median of "
        f"their column (missing='impute_median')."
    )
    return X, rows, [note]


def _open_zip(path: Path, source: str) -> zipfile.ZipFile:
    """The file as a zip archive, or a :class:`DatasetFileError` saying what it is instead."""
    if path.stat().st_size == 0:
        raise DatasetFileError(f"{source} is empty (0 bytes); {_HOW_TO_WRITE}.")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise DatasetFileError(
            f"{source} holds a single array (.npy), not an .npz archive with 'X' and 'y'; {_HOW_TO_WRITE}."
        )
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DatasetFileError(
            f"{source} is not an .npz archive (not a zip file: corrupt, truncated or of another "
            f"format); {_HOW_TO_WRITE}."
        ) from exc


def _npz_headers(path: Path, source: str) -> dict:
    """Shape and dtype of every array of an ``.npz`` file, read from the array headers only."""
    headers = {}
    with _open_zip(path, source) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[: -len(".npy")]
            try:
                with archive.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    read = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read(fh)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise DatasetFileError(f"array {key!r} of {source} is corrupt ({exc}); {_HOW_TO_WRITE}.") from exc
            headers[key] = (tuple(shape), np.dtype(dtype))
    return headers


def _check_headers(headers: dict, split: str, source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Check the arrays a split needs; return the keys of its feature and label arrays."""
    keys = set(headers)
    x_keys: tuple[str, ...]
    y_keys: tuple[str, ...]
    if split == "all":
        if {"X", "y"} <= keys:
            x_keys, y_keys = ("X",), ("y",)
        elif {"X_train", "y_train", "X_test", "y_test"} <= keys:
            x_keys, y_keys = ("X_train", "X_test"), ("y_train", "y_test")
        else:
            raise DatasetFileError(f"{source} must contain arrays 'X' and 'y'; it has {sorted(keys)}; {_HOW_TO_WRITE}.")
    else:
        wanted = {f"X_{split}", f"y_{split}"}
        if not wanted <= keys:
            raise DatasetFileError(f"split={split!r} needs arrays {sorted(wanted)} in {source}; it has {sorted(keys)}.")
        x_keys, y_keys = (f"X_{split}",), (f"y_{split}",)
    for key in (*x_keys, *y_keys, "feature_names", "class_names"):
        if key in headers and headers[key][1].hasobject:
            raise DatasetFileError(
                f"array {key!r} of {source} holds Python objects, which cannot be loaded without "
                f"pickle (never enabled); store numbers or fixed-width strings instead."
            )
    n_features = None
    for x_key, y_key in zip(x_keys, y_keys, strict=True):
        (x_shape, x_dtype), (y_shape, _) = headers[x_key], headers[y_key]
        if len(x_shape) != 2:
            raise DatasetFileError(f"{x_key} in {source} must be 2-D (rows x features), got shape {x_shape}.")
        if x_dtype.kind not in "fiub":
            raise DatasetFileError(f"{x_key} in {source} must be numeric, got dtype {x_dtype}.")
        if len(y_shape) != 1 or y_shape[0] != x_shape[0]:
            raise DatasetFileError(
                f"{y_key} in {source} must be 1-D with {x_shape[0]} entries (one label per row of "
                f"{x_key}), got shape {y_shape}."
            )
        if n_features is not None and x_shape[1] != n_features:
            raise DatasetFileError(f"X_train and X_test in {source} have different numbers of features.")
        n_features = x_shape[1]
    if sum(headers[k][0][0] for k in x_keys) == 0:
        raise DatasetFileError(f"{source} holds no rows; {_HOW_TO_WRITE}.")
    return x_keys, y_keys


def _read_npz(path: Path, split: str):
    """Read ``X``, ``y`` (of the requested split) and the optional name arrays of a file."""
    source = f"file {str(path)!r}"
    x_keys, y_keys = _check_headers(_npz_headers(path, source), split, source)
    try:
        with np.load(path, allow_pickle=False) as archive:
            X = np.concatenate([archive[k] for k in x_keys]) if len(x_keys) > 1 else archive[x_keys[0]]
            y = np.concatenate([archive[k] for k in y_keys]) if len(y_keys) > 1 else archive[y_keys[0]]
            feature_names = archive["feature_names"] if "feature_names" in archive.files else None
            class_names = archive["class_names"] if "class_names" in archive.files else None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetFileError(f"{source} is corrupt: {exc}; {_HOW_TO_WRITE}.") from exc
    return X, y, feature_names, class_names


def _default_feature_names(name: str, n_features: int) -> list[str]:
    if name in _PIXEL_DATASETS and n_features == 784:
        return [f"pixel_{i // 28}_{i % 28}" for i in range(n_features)]
    return [f"x{i}" for i in range(n_features)]


def _check_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be a floating dtype, got {dtype!r}.") from None
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating dtype, got {dtype}.")
    return dtype


def load_dataset(
    name: str,
    *,
    data_dir: Any = None,
    missing: str = "impute_median",
    return_X_y: bool = False,
    n_samples: int | None = None,
    random_state: Any = None,
    split: str = "all",
    scale_pixels: bool = True,
    dtype: Any = np.float64,
) -> Any:
    """Load a benchmark data set as a float feature matrix and integer labels.

    Two kinds of data sets are available:

    * embedded in scikit-learn, no file needed: ``"digits"`` (1797 x 64, 10 classes),
      ``"iris"`` (150 x 4, 3), ``"wine"`` (178 x 13, 3) and ``"breast_cancer"`` (569 x 30, 2;
      the *Diagnostic* set);
    * any file ``NAME.npz`` in the data directory, loaded by its stem ``NAME`` without pickle.
      It must hold ``X`` (2-D, numeric) and ``y`` (1-D labels) and may hold ``feature_names``
      and ``class_names`` (string arrays), or instead ``X_train``/``y_train`` and
      ``X_test``/``y_test``. The papers' files are ``breast_cancer_wisconsin`` (699 x 9, 2
      classes, 16 rows with a missing value; the *Original* set), ``vehicle`` (846 x 18, 4),
      ``german_credit_numeric`` (1000 x 24, 2), ``image_segment`` (2310 x 19, 7) and
      ``mnist`` (70000 x 784, 10; training rows then test rows).

    The embedded names always mean the scikit-learn sets, whatever files the directory holds.
    Nothing is scaled or centred, except MNIST's pixels (see ``scale_pixels``).

    Parameters
    ----------
    name : str
        Data set name (see above); a trailing ``.npz`` is ignored.
    data_dir : str or path-like, optional
        Directory of the ``.npz`` files. Defaults to the environment variable
        ``SPECTRAL_ML_DATA``.
    missing : {"impute_median", "drop", "raise"}, default="impute_median"
        What to do with missing values (NaN) in ``X``: replace each by the median of the
        observed values of its column (keeps every row: the 699 examples the AML paper reports
        for breast cancer), drop the rows that have one (683 rows for breast cancer), or raise
        ``ValueError``.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of the Bunch.
    n_samples : int, optional
        Return a stratified random subset of this many rows (after the missing-value
        policy): each class keeps its proportion, rounded by largest remainder. The AML paper
        evaluates on 4000 MNIST images: ``load_dataset("mnist", n_samples=4000,
        random_state=0)``.
    random_state : int, numpy.random.Generator or None, optional
        Seed of the subset draw (``numpy.random.default_rng`` semantics).
    split : {"all", "train", "test"}, default="all"
        For files that store a train/test split (``X_train``, ``X_test``, as ``mnist`` does):
        which part to return. ``"all"`` returns ``X`` (for MNIST the 60000 training rows then
        the 10000 test rows).
    scale_pixels : bool, default=True
        For data sets of raw 0..255 pixels (``mnist``): divide by 255 so features lie in
        [0, 1]. With ``False`` the raw values are returned (as ``dtype``). Ignored otherwise.
    dtype : floating dtype, default=numpy.float64
        dtype of ``X`` (``numpy.float32`` halves MNIST's 440 MB).

    Returns
    -------
    data : sklearn.utils.Bunch
        With attributes ``X`` (ndarray of ``dtype``, shape (n_samples, n_features)), ``y``
        (int64 ndarray; labels ``0..c-1``), ``feature_names`` and ``class_names`` (lists of
        str; ``class_names[k]`` names label ``k``), ``name``, ``description`` and ``rows``
        (indices of the returned rows in the file or scikit-learn order) and ``notes`` (list
        of str: what the missing-value policy did, empty when nothing was missing; show it to
        whoever reads the results). Labels stored in a
        file as anything other than ``0..c-1`` are re-coded to ``0..c-1`` in sorted order of
        the original values, whose string forms become ``class_names`` when the file has none.
    (X, y) : tuple of ndarray
        When ``return_X_y`` is true.

    Raises
    ------
    DatasetNotFoundError
        (a ``FileNotFoundError``) when the file or the data directory does not exist; the
        message says which file to put where and how to set ``SPECTRAL_ML_DATA``.
    DatasetFileError
        (a ``ValueError``) when the file is empty, corrupt, not an ``.npz`` archive, lacks
        ``X`` or ``y``, holds them with wrong shapes or values, or has missing values with
        ``missing="raise"``; the message names the file and what is wrong with it.
    ValueError
        On an invalid argument.

    See Also
    --------
    check_dataset, list_datasets, make_aml_synthetic

    Examples
    --------
    >>> from spectral_ml.datasets import load_dataset
    >>> data = load_dataset("iris")
    >>> data.X.shape, data.class_names
    ((150, 4), ['setosa', 'versicolor', 'virginica'])
    >>> X, y = load_dataset("wine", n_samples=30, random_state=0, return_X_y=True)
    >>> X.shape, [int((y == c).sum()) for c in range(3)]
    ((30, 13), [10, 12, 8])
    """
    name = _check_name(name)
    if missing not in _MISSING_POLICIES:
        raise ValueError(f"missing must be one of {_MISSING_POLICIES}, got {missing!r}.")
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}.")
    dtype = _check_dtype(dtype)

    if name in EMBEDDED_DATASETS:
        if split != "all":
            raise ValueError(f"split={split!r}: the embedded data set {name!r} has no train/test split.")
        raw = _sklearn_loader(name)()
        X, y = np.asarray(raw.data), np.asarray(raw.target)
        feature_names = [str(f) for f in getattr(raw, "feature_names", [])] or None
        class_names = [str(c) for c in raw.target_names]
        description = raw.DESCR
        source = label = f"the scikit-learn data set {name!r}"
    else:
        directory, origin = _resolve_data_dir(data_dir)
        path = None if directory is None else directory / f"{name}.npz"
        if path is None or not path.is_file():
            raise _not_found(name, directory, origin)
        X, y, feature_names, class_names = _read_npz(path, split)
        description = _FILE_DESCRIPTIONS.get(name, f"User data set loaded from {path.name}.")
        source = f"file {str(path)!r}"
        # Notes end up in reports that are shared: they name the file, not where it lies.
        label = f"file {path.name!r}"

    # Coding labels before any row is removed keeps class_names aligned with the codes even
    # when a class disappears from the rows returned.
    y, original_values = _encode_labels(np.asarray(y), source)
    if class_names is None:
        class_names = original_values or [str(c) for c in range(int(y.max(initial=-1)) + 1)]
    class_names = [str(c) for c in class_names]
    X, rows, notes = _handle_missing(X, missing, source, label)
    y = y[rows]
    n_samples = _check_n_samples(n_samples, X.shape[0])
    if n_samples is not None and n_samples < X.shape[0]:
        subset = _stratified_subset(y, n_samples, random_state)
        X, y, rows = X[subset], y[subset], rows[subset]

    if feature_names is None or len(feature_names) != X.shape[1]:
        feature_names = _default_feature_names(name, X.shape[1])
    feature_names = [str(f) for f in feature_names]

    pixels = name in _PIXEL_DATASETS and X.dtype == np.uint8
    X = X.astype(dtype)
    if pixels and scale_pixels:
        X /= dtype.type(255)

    if return_X_y:
        return X, y
    return Bunch(
        X=X,
        y=y,
        feature_names=feature_names,
        class_names=class_names,
        name=name,
        description=description,
        rows=rows,
        notes=notes,
    )


def list_datasets(data_dir: Any = None) -> list[str]:
    """Names accepted by :func:`load_dataset` right now.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Directory of ``.npz`` files; defaults to the environment variable
        ``SPECTRAL_ML_DATA``. A missing or unset directory contributes no names.

    Returns
    -------
    list of str
        The embedded scikit-learn data sets followed by the stems of the ``.npz`` files in the
        data directory, each group sorted (names already in the first group are not repeated).

    Examples
    --------
    >>> from spectral_ml.datasets import list_datasets
    >>> list_datasets(data_dir="/nonexistent")
    ['breast_cancer', 'digits', 'iris', 'wine']
    """
    names = list(EMBEDDED_DATASETS)
    directory, _ = _resolve_data_dir(data_dir)
    if directory is not None and directory.is_dir():
        stems = sorted(p.stem for p in directory.glob("*.npz") if p.is_file() and _NAME_PATTERN.match(p.stem))
        names.extend(s for s in stems if s not in EMBEDDED_DATASETS)
    return names


def check_dataset(name: str, *, data_dir: Any = None, split: str = "all") -> Bunch:
    """Check that a data set can be loaded, reading only the array headers of its file.

    Finds the file and checks that it is an ``.npz`` archive with ``X`` and ``y`` of usable
    shapes and dtypes, without reading the data (a program can check every data set it will
    need before it starts working). The values (labels, missing values) are checked by
    :func:`load_dataset`.

    Parameters
    ----------
    name : str
        Data set name, as for :func:`load_dataset`.
    data_dir : str or path-like, optional
        Directory of the ``.npz`` files (default: ``SPECTRAL_ML_DATA``).
    split : {"all", "train", "test"}, default="all"
        The part that will be loaded.

    Returns
    -------
    sklearn.utils.Bunch
        ``name``, ``n_samples``, ``n_features``, ``n_classes``, ``min_class_count`` (rows of
        the smallest class) and ``path`` (None for an embedded set).

    Raises
    ------
    DatasetNotFoundError
        When the file or the data directory does not exist.
    DatasetFileError
        When the file is empty, corrupt or lacks usable ``X`` and ``y``.

    Examples
    --------
    >>> from spectral_ml.datasets import check_dataset
    >>> info = check_dataset("wine")
    >>> info.n_samples, info.n_features
    (178, 13)
    >>> info.n_classes, info.min_class_count
    (3, 48)
    """
    name = _check_name(name)
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}.")
    if name in EMBEDDED_DATASETS:
        X, y = load_dataset(name, return_X_y=True)
        counts = np.bincount(y)
        return Bunch(
            name=name,
            n_samples=X.shape[0],
            n_features=X.shape[1],
            n_classes=counts.size,
            min_class_count=int(counts.min()),
            path=None,
        )
    directory, origin = _resolve_data_dir(data_dir)
    path = None if directory is None else directory / f"{name}.npz"
    if path is None or not path.is_file():
        raise _not_found(name, directory, origin)
    source = f"file {str(path)!r}"
    headers = _npz_headers(path, source)
    x_keys, y_keys = _check_headers(headers, split, source)
    try:
        with np.load(path, allow_pickle=False) as archive:
            y = np.concatenate([archive[k] for k in y_keys])
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetFileError(f"{source} is corrupt: {exc}; {_HOW_TO_WRITE}.") from exc
    counts = np.bincount(_encode_labels(y, source)[0])
    counts = counts[counts > 0]
    return Bunch(
        name=name,
        n_samples=sum(headers[k][0][0] for k in x_keys),
        n_features=headers[x_keys[0]][0][1],
        n_classes=counts.size,
        min_class_count=int(counts.min()),
        path=path,
    )
