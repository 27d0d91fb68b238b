"""Data set loading: embedded sets, user .npz files, missing values, the shared files."""

import hashlib
import os

import numpy as np
import pytest

from spectral_ml.datasets import (
    DATA_ENV_VAR,
    DatasetNotFoundError,
    list_datasets,
    load_dataset,
)


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)


def _write(path, **arrays):
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture
def user_dir(tmp_path):
    X = np.array(
        [[1.0, 2.0, 3.0], [np.nan, 5.0, 6.0], [7.0, np.nan, 9.0], [3.0, 4.0, 1.0], [5.0, 0.0, 2.0]],
        dtype=np.float32,
    )
    y = np.array([0, 1, 1, 0, 1])
    _write(
        tmp_path / "toy.npz", X=X, y=y, feature_names=np.array(["a", "b", "c"]), class_names=np.array(["neg", "pos"])
    )
    return tmp_path


# --------------------------------------------------------------------------- embedded


@pytest.mark.parametrize(
    "name, shape, n_classes",
    [("iris", (150, 4), 3), ("wine", (178, 13), 3), ("digits", (1797, 64), 10), ("breast_cancer", (569, 30), 2)],
)
def test_embedded_sets_load(name, shape, n_classes):
    data = load_dataset(name)
    assert data.X.shape == shape
    assert data.X.dtype == np.float64 and data.y.dtype == np.int64
    assert sorted(np.unique(data.y)) == list(range(n_classes))
    assert len(data.class_names) == n_classes
    assert len(data.feature_names) == shape[1]
    assert data.name == name and data.description
    X, y = load_dataset(name, return_X_y=True)
    np.testing.assert_array_equal(X, data.X)
    np.testing.assert_array_equal(y, data.y)


def test_embedded_names_need_no_data_directory(no_env, tmp_path):
    # A file named like an embedded set does not shadow it.
    _write(tmp_path / "iris.npz", X=np.zeros((3, 2)), y=np.array([0, 1, 0]))
    assert load_dataset("iris", data_dir=tmp_path).X.shape == (150, 4)


def test_stratified_subset_keeps_class_proportions():
    full = load_dataset("digits")
    data = load_dataset("digits", n_samples=500, random_state=3)
    assert data.X.shape == (500, 64)
    full_counts = np.bincount(full.y)
    counts = np.bincount(data.y, minlength=10)
    assert counts.sum() == 500
    assert np.all(np.abs(counts - 500 * full_counts / full_counts.sum()) < 1)
    # rows index the original order and the subset is reproducible.
    np.testing.assert_array_equal(data.X, full.X[data.rows])
    assert np.all(np.diff(data.rows) > 0)
    again = load_dataset("digits", n_samples=500, random_state=3)
    np.testing.assert_array_equal(again.rows, data.rows)
    other = load_dataset("digits", n_samples=500, random_state=4)
    assert not np.array_equal(other.rows, data.rows)


def test_float32_dtype():
    assert load_dataset("wine", dtype=np.float32).X.dtype == np.float32


# --------------------------------------------------------------------------- user files


def test_user_file_impute_median(user_dir):
    data = load_dataset("toy", data_dir=user_dir)
    assert data.X.dtype == np.float64 and data.X.shape == (5, 3)
    # Column medians of the observed values: (1, 7, 3, 5) -> 4, (2, 5, 4, 0) -> 3.
    assert data.X[1, 0] == 4.0 and data.X[2, 1] == 3.0
    assert not np.isnan(data.X).any()
    assert data.feature_names == ["a", "b", "c"] and data.class_names == ["neg", "pos"]
    np.testing.assert_array_equal(data.rows, np.arange(5))


def test_user_file_drop_and_raise(user_dir):
    data = load_dataset("toy", data_dir=user_dir, missing="drop")
    assert data.X.shape == (3, 3)
    np.testing.assert_array_equal(data.rows, [0, 3, 4])
    np.testing.assert_array_equal(data.y, [0, 0, 1])
    with pytest.raises(ValueError, match="missing values"):
        load_dataset("toy", data_dir=user_dir, missing="raise")
    with pytest.raises(ValueError, match="missing"):
        load_dataset("toy", data_dir=user_dir, missing="mean")


def test_user_file_from_environment_variable(user_dir, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, os.fspath(user_dir))
    assert load_dataset("toy.npz").X.shape == (5, 3)
    assert "toy" in list_datasets()


def test_user_file_labels_are_recoded_and_names_defaulted(tmp_path):
    _write(tmp_path / "letters.npz", X=np.arange(8.0).reshape(4, 2), y=np.array(["b", "a", "c", "a"]))
    _write(tmp_path / "shifted.npz", X=np.arange(8).reshape(4, 2), y=np.array([3, 5, 3, 5]))
    data = load_dataset("letters", data_dir=tmp_path)
    np.testing.assert_array_equal(data.y, [1, 0, 2, 0])
    assert data.class_names == ["a", "b", "c"]
    assert data.feature_names == ["x0", "x1"]
    data = load_dataset("shifted", data_dir=tmp_path)
    assert data.X.dtype == np.float64
    np.testing.assert_array_equal(data.y, [0, 1, 0, 1])
    assert data.class_names == ["3", "5"]


def test_class_names_stay_aligned_when_a_class_is_dropped(tmp_path):
    X = np.array([[np.nan], [1.0], [2.0]])
    _write(tmp_path / "gone.npz", X=X, y=np.array([0, 1, 2]))
    data = load_dataset("gone", data_dir=tmp_path, missing="drop")
    np.testing.assert_array_equal(data.y, [1, 2])
    assert data.class_names == ["0", "1", "2"]


def test_train_test_split_files(tmp_path):
    _write(
        tmp_path / "split.npz",
        X_train=np.ones((4, 2)),
        y_train=np.array([0, 1, 0, 1]),
        X_test=np.zeros((2, 2)),
        y_test=np.array([1, 0]),
    )
    assert load_dataset("split", data_dir=tmp_path, split="test").X.shape == (2, 2)
    assert load_dataset("split", data_dir=tmp_path, split="train").X.shape == (4, 2)
    everything = load_dataset("split", data_dir=tmp_path)
    np.testing.assert_array_equal(everything.y, [0, 1, 0, 1, 1, 0])
    with pytest.raises(ValueError, match="split"):
        load_dataset("iris", split="train")


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"X": np.zeros((3, 2))}, "'X' and 'y'"),
        ({"X": np.zeros(3), "y": np.zeros(3, int)}, "2-D"),
        ({"X": np.zeros((3, 2)), "y": np.zeros(4, int)}, "3 entries"),
        ({"X": np.zeros((3, 2)), "y": np.array([0.5, 1.0, 0.0])}, "non-integer"),
        ({"X": np.array([[np.inf, 0.0], [0.0, 0.0]]), "y": np.array([0, 1])}, "infinite"),
        ({"X": np.array([[np.nan, 0.0], [np.nan, 1.0]]), "y": np.array([0, 1])}, "column"),
    ],
)
def test_malformed_files_raise(tmp_path, arrays, match):
    _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        load_dataset("bad", data_dir=tmp_path)


def test_object_arrays_are_refused(tmp_path):
    np.savez(tmp_path / "pickled.npz", X=np.zeros((2, 2)), y=np.array([0, "a"], dtype=object))
    with pytest.raises(ValueError, match=r"'y' of file .*pickle"):
        load_dataset("pickled", data_dir=tmp_path)


# --------------------------------------------------------------------------- missing files


def test_missing_file_message_names_file_directory_and_variable(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("vehicle", data_dir=tmp_path)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "'vehicle.npz'" in message and str(tmp_path) in message and DATA_ENV_VAR in message


def test_missing_data_directory_message(no_env):
    with pytest.raises(FileNotFoundError, match=rf"vehicle\.npz.*{DATA_ENV_VAR}"):
        load_dataset("vehicle")


def test_nonexistent_data_directory(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset("vehicle", data_dir=tmp_path / "absent")


def test_list_datasets(no_env, user_dir):
    assert list_datasets() == ["breast_cancer", "digits", "iris", "wine"]
    (user_dir / "notes.txt").write_text("not data")
    assert list_datasets(user_dir) == ["breast_cancer", "digits", "iris", "wine", "toy"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "../toy"}, "name"),
        ({"name": ""}, "name"),
        ({"name": 3}, "name"),
        ({"name": "toy", "n_samples": 0}, "n_samples"),
        ({"name": "toy", "n_samples": 6}, "n_samples"),
        ({"name": "toy", "n_samples": 2.0}, "n_samples"),
        ({"name": "toy", "split": "val"}, "split"),
        ({"name": "toy", "dtype": np.int32}, "dtype"),
    ],
)
def test_invalid_arguments(user_dir, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_dataset(data_dir=user_dir, **kwargs)


# --------------------------------------------------------------------------- shared files


def _digest(a):
    return hashlib.sha256(a.tobytes()).hexdigest()[:16]


@pytest.mark.parametrize(
    "name, shape, counts",
    [
        ("breast_cancer_wisconsin", (699, 9), [458, 241]),
        ("vehicle", (846, 18), [218, 212, 217, 199]),
        ("german_credit_numeric", (1000, 24), [700, 300]),
        ("image_segment", (2310, 19), [330] * 7),
    ],
)
def test_shared_files_load(data_dir, name, shape, counts):
    data = load_dataset(name, data_dir=data_dir)
    assert data.X.shape == shape and data.X.dtype == np.float64
    np.testing.assert_array_equal(np.bincount(data.y), counts)
    assert len(data.class_names) == len(counts) and len(data.feature_names) == shape[1]
    assert np.isfinite(data.X).all()


def test_shared_files_match_published_hashes(data_dir):
    data = load_dataset("vehicle", data_dir=data_dir)
    assert _digest(data.X.astype(np.float32)) == "5843f6c49c853a2f"
    assert _digest(data.y.astype("<i8")) == "bf17e0c8a4416563"


def test_breast_cancer_missing_value_policies(data_dir):
    imputed = load_dataset("breast_cancer_wisconsin", data_dir=data_dir)
    dropped = load_dataset("breast_cancer_wisconsin", data_dir=data_dir, missing="drop")
    assert imputed.X.shape == (699, 9)
    assert dropped.X.shape == (683, 9)
    np.testing.assert_array_equal(np.bincount(dropped.y), [444, 239])
    filled = np.setdiff1d(np.arange(699), dropped.rows)
    assert filled.size == 16
    # The column median of 'bare_nuclei' over the 683 observed values is 1.
    np.testing.assert_array_equal(imputed.X[filled, 5], 1.0)
    with pytest.raises(ValueError, match="16 missing values"):
        load_dataset("breast_cancer_wisconsin", data_dir=data_dir, missing="raise")


def test_mnist_subset_and_scaling(data_dir):
    data = load_dataset("mnist", data_dir=data_dir, n_samples=4000, random_state=0)
    assert data.X.shape == (4000, 784) and data.X.dtype == np.float64
    assert data.X.min() == 0.0 and data.X.max() == 1.0
    assert len(data.class_names) == 10 and data.feature_names[29] == "pixel_1_1"
    counts = np.bincount(data.y, minlength=10)
    assert counts.sum() == 4000 and counts.min() >= 350
    raw = load_dataset("mnist", data_dir=data_dir, split="test", scale_pixels=False, dtype=np.float32)
    assert raw.X.shape == (10000, 784) and raw.X.dtype == np.float32 and raw.X.max() == 255.0
    np.testing.assert_array_equal(np.bincount(raw.y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


def test_files_that_are_not_archives_are_refused(tmp_path):
    np.save(tmp_path / "single.npy", np.zeros((2, 2)))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(ValueError, match="single array"):
        load_dataset("single", data_dir=tmp_path)


# --------------------------------------------------------------------------- unusable files


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", r"is empty \(0 bytes\)"),
        (bytes(range(256)) * 2, "not an .npz archive"),
        (b"PK\x03\x04" + b"\x00" * 40, "not an .npz archive|corrupt"),
    ],
)
def test_unreadable_files_name_the_file_and_the_fix(tmp_path, content, match):
    from spectral_ml.datasets import DatasetFileError, check_dataset

    (tmp_path / "broken.npz").write_bytes(content)
    for load in (load_dataset, check_dataset):
        with pytest.raises(DatasetFileError, match=match) as info:
            load("broken", data_dir=tmp_path)
        assert "broken.npz" in str(info.value) and "numpy.savez" in str(info.value)
        assert isinstance(info.value, ValueError)


def test_truncated_archive_is_refused(tmp_path):
    from spectral_ml.datasets import DatasetFileError

    _write(tmp_path / "whole.npz", X=np.random.default_rng(0).random((200, 5)), y=np.arange(200) % 2)
    data = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetFileError, match="cut.npz"):
        load_dataset("cut", data_dir=tmp_path)


def test_check_dataset_reads_headers_and_labels_only(tmp_path):
    from spectral_ml.datasets import check_dataset

    _write(tmp_path / "s.npz", X=np.zeros((7, 3)), y=np.array([5, 5, 9, 9, 9, 5, 5]))
    info = check_dataset("s", data_dir=tmp_path)
    assert (info.n_samples, info.n_features, info.n_classes, info.min_class_count) == (7, 3, 2, 3)
    assert info.path == tmp_path / "s.npz"
    _write(
        tmp_path / "t.npz",
        X_train=np.zeros((4, 2)),
        y_train=np.array([0, 1, 0, 1]),
        X_test=np.zeros((2, 2)),
        y_test=np.array([1, 0]),
    )
    assert check_dataset("t", data_dir=tmp_path, split="test").n_samples == 2
    assert check_dataset("t", data_dir=tmp_path).n_samples == 6
    with pytest.raises(DatasetNotFoundError):
        check_dataset("absent", data_dir=tmp_path)


def test_missing_value_policy_is_stated_in_notes(user_dir):
    imputed = load_dataset("toy", data_dir=user_dir)
    assert len(imputed.notes) == 1
    assert "2 missing value(s)" in imputed.notes[0] and "median" in imputed.notes[0]
    assert "toy.npz" in imputed.notes[0]
    dropped = load_dataset("toy", data_dir=user_dir, missing="drop")
    assert "2 of 5 rows" in dropped.notes[0] and "dropped" in dropped.notes[0]
    # Notes go into shared reports: the file's name, not the directory it lies in.
    assert str(user_dir) not in imputed.notes[0] and str(user_dir) not in dropped.notes[0]
    assert load_dataset("iris").notes == []
