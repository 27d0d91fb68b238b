"""``spectral-ml dpp-retrieval --network``: the PyTorch CNN beside the default perceptron."""

import sys

import numpy as np
import pytest

from spectral_ml import cli


def _one_line_error(argv, capsys, *needles):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("spectral-ml: error: ") and "\n" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def test_perceptron_is_the_default_network():
    args = cli.build_parser().parse_args(["dpp-retrieval"])
    assert args.network == "perceptron"
    args = cli.build_parser().parse_args(["dpp-retrieval", "--network", "paper-cnn"])
    assert args.network == "paper-cnn"


def test_unknown_network_is_refused(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["dpp-retrieval", "--network", "resnet"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_paper_cnn_without_torch_is_one_line_naming_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    out = tmp_path / "out"
    _one_line_error(
        ["dpp-retrieval", "--network", "paper-cnn", "--out", str(out)],
        capsys,
        "--network paper-cnn",
        "torch extra",
        "--network perceptron",
    )
    assert not out.exists()


def test_paper_cnn_needs_mnist(tmp_path, capsys):
    pytest.importorskip("torch", reason="the check of the data set comes after the check of PyTorch")
    out = tmp_path / "out"
    _one_line_error(
        ["dpp-retrieval", "--network", "paper-cnn", "--dataset", "digits", "--out", str(out)],
        capsys,
        "--dataset mnist",
        "'digits'",
    )
    assert not out.exists()


def test_paper_cnn_defaults_to_mnist_also_when_quick():
    args = cli.build_parser().parse_args(["dpp-retrieval", "--network", "paper-cnn", "--quick"])
    assert cli.single_dataset(args) == "mnist"
    args = cli.build_parser().parse_args(["dpp-retrieval", "--quick"])
    assert cli.single_dataset(args) == "digits"


def test_paper_cnn_retrieval_writes_its_own_table(tmp_path):
    pytest.importorskip("torch", reason="spectral_ml.torch needs the optional torch extra")
    from spectral_ml.experiments.dpp import run_dpp_retrieval

    rng = np.random.default_rng(0)

    def images(n):
        y = np.arange(n) % 2
        X = rng.integers(0, 50, size=(n, 28, 28))
        X[y == 0, :14] += 200
        X[y == 1, 14:] += 200
        return X.reshape(n, 784).astype(np.uint8), y

    X_train, y_train = images(200)
    X_test, y_test = images(60)
    data = tmp_path / "data"
    data.mkdir()
    np.savez(data / "mnist.npz", X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
    out = run_dpp_retrieval(
        "mnist",
        tmp_path / "out",
        seeds=(0,),
        data_dir=data,
        epochs=1,
        variants=("baseline", "DPPSG*"),
        progress=False,
        network="paper-cnn",
    )
    names = {p.name for p in map(type(tmp_path), out["files"])}
    assert "dpp_retrieval_mnist_paper_cnn.csv" in names
    assert "dpp_retrieval_mnist_paper_cnn_features.png" in names
    assert [row[0] for row in out["table"].rows] == ["baseline", "DPPSG*"]
    assert out["settings"]["DPPSG*"]["dpp_weight"] == 1e3 and out["settings"]["DPPSG*"]["dpp"] == "dppsg*"
    assert any("paper's CNN" in note for note in out["notes"])
    with pytest.raises(ValueError, match="network"):
        run_dpp_retrieval("mnist", tmp_path / "out2", seeds=(0,), data_dir=data, network="vgg")
    with pytest.raises(ValueError, match="dataset must be 'mnist'"):
        run_dpp_retrieval("digits", tmp_path / "out3", seeds=(0,), network="paper-cnn")


def test_device_is_for_the_paper_cnn_only(tmp_path, capsys):
    out = tmp_path / "out"
    _one_line_error(
        ["dpp-retrieval", "--device", "cuda", "--out", str(out)], capsys, "--device cuda", "--network paper-cnn"
    )
    assert not out.exists()
    assert cli.build_parser().parse_args(["dpp-retrieval"]).device == "cpu"


@pytest.mark.parametrize("device, needle", [("tpu", "'tpu'"), ("gpu0", "'gpu0'"), ("cuda:7", "cuda:7")])
def test_unusable_device_is_one_line(tmp_path, capsys, device, needle):
    torch = pytest.importorskip("torch", reason="the device is checked by PyTorch")
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a GPU numbered 7")
    out = tmp_path / "out"
    _one_line_error(
        ["dpp-retrieval", "--network", "paper-cnn", "--device", device, "--out", str(out)], capsys, "--device", needle
    )
    assert not out.exists()


def test_check_device():
    torch = pytest.importorskip("torch", reason="spectral_ml.torch needs the optional torch extra")
    from spectral_ml.torch._device import check_device

    assert check_device("cpu") == torch.device("cpu")
    assert check_device(torch.device("cpu")) == torch.device("cpu")
    for bad in ("nonsense", 3.5, "meta"):
        with pytest.raises(ValueError, match="device"):
            check_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA GPU"):
            check_device("cuda")
    else:
        assert check_device("cuda").type == "cuda"
        with pytest.raises(ValueError, match="numbered from 0"):
            check_device(f"cuda:{torch.cuda.device_count()}")


def test_perceptron_refuses_a_gpu_device():
    from spectral_ml.experiments.dpp import retrieval_records

    with pytest.raises(ValueError, match="device"):
        retrieval_records("digits", seeds=(0,), quick=True, variants=("baseline",), progress=False, device="cuda")


def test_paper_cnn_learner_checks_its_device():
    pytest.importorskip("torch", reason="spectral_ml.torch needs the optional torch extra")
    from spectral_ml.torch import PaperCNNLearner

    X, y = np.zeros((20, 784), dtype=np.float32), np.arange(20) % 2
    with pytest.raises(ValueError, match="device"):
        PaperCNNLearner(device="nonsense", batch_size=10, epochs=1).fit(X, y)


@pytest.mark.gpu
def test_paper_cnn_trains_on_cuda(tmp_path):
    torch = pytest.importorskip("torch", reason="spectral_ml.torch needs the optional torch extra")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from spectral_ml.torch import PaperCNNLearner

    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    X = rng.random((200, 784), dtype=np.float32)
    X[y == 0, :392] += 1.0
    params = dict(dpp="dppsg*", wgan=True, wgan_n_critic=2, batch_size=100, epochs=2, random_state=0)
    gpu = PaperCNNLearner(device="cuda", **params).fit(X, y)
    assert next(gpu.net_.parameters()).is_cuda
    Z = gpu.transform(X)
    assert Z.shape == (200, 2) and Z.dtype == np.float32 and np.all(np.isfinite(Z))
    # Same seed on the CPU: the same training up to the order of floating-point sums.
    cpu = PaperCNNLearner(device="cpu", **params).fit(X, y)
    np.testing.assert_allclose(Z, cpu.transform(X), rtol=0.05, atol=0.05)
