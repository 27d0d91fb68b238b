"""Layers: backward passes (Taylor tests on NumPy and array-api-strict), modes, state, validation."""

import numpy as np
import pytest

from spectral_ml.nn import (
    MLP,
    BatchNorm1d,
    LeakyReLU,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)

from ._helpers import input_taylor, np_of, param_taylor, to_xp


def _batch(xp, n=7, d=4, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return to_xp(xp, scale * rng.standard_normal((n, d)))


def _layers(xp):
    return {
        "linear": lambda: Linear(4, 3, random_state=0, xp=xp),
        "linear_glorot_nobias": lambda: Linear(4, 3, init="glorot", bias=False, random_state=1, xp=xp),
        "relu": ReLU,
        "leaky_relu": lambda: LeakyReLU(0.1),
        "tanh": Tanh,
        "sigmoid": Sigmoid,
        "batchnorm_train": lambda: BatchNorm1d(4, xp=xp),
        "batchnorm_no_affine": lambda: BatchNorm1d(4, affine=False, xp=xp),
        "batchnorm_eval": lambda: _eval_bn(xp),
    }


def _eval_bn(xp):
    bn = BatchNorm1d(4, xp=xp)
    bn.forward(_batch(xp, n=20, seed=9, scale=2.0) + 1.0)
    bn.weight.data = to_xp(xp, [1.5, -0.5, 2.0, 0.7])
    bn.bias.data = to_xp(xp, [0.1, 0.2, -0.3, 0.0])
    return bn.eval()


LAYER_NAMES = list(_layers(np).keys())


@pytest.mark.parametrize("name", LAYER_NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_backward_wrt_input_taylor(xp, name, seed):
    layer = _layers(xp)[name]()
    X = _batch(xp, seed=seed)
    out_dim = 3 if name.startswith("linear") else 4
    R = _batch(xp, d=out_dim, seed=seed + 10)
    res = input_taylor(layer, X, R, xp, seed=seed)
    assert abs(res.order - 2) < 0.2, f"{name}\n{res}"


@pytest.mark.parametrize("name", ["linear", "linear_glorot_nobias", "batchnorm_train", "batchnorm_eval"])
def test_backward_wrt_each_parameter_taylor(xp, name):
    layer = _layers(xp)[name]()
    X = _batch(xp, seed=3)
    out_dim = 3 if name.startswith("linear") else 4
    R = _batch(xp, d=out_dim, seed=4)
    # Move the parameters away from their (special) initial values.
    rng = np.random.default_rng(5)
    for p in layer.parameters():
        p.data = p.data + to_xp(xp, 0.3 * rng.standard_normal(p.shape))
    assert layer.parameters()
    for pname, p in layer.named_parameters():
        for seed in (0, 1):
            res = param_taylor(layer, p, X, R, xp, seed=seed)
            assert abs(res.order - 2) < 0.2, f"{name}.{pname}\n{res}"


@pytest.mark.parametrize("name", ["linear", "tanh", "batchnorm_train"])
def test_taylor_negative_control_perturbed_gradient(name):
    layer = _layers(np)[name]()
    X = _batch(np, seed=2)
    R = _batch(np, d=3 if name == "linear" else 4, seed=6)
    res = input_taylor(layer, X, R, np, perturb=1e-3)
    assert abs(res.order - 1) < 0.2, str(res)
    if layer.parameters():
        p = layer.parameters()[0]
        res = param_taylor(layer, p, X, R, np, perturb=1e-3)
        assert abs(res.order - 1) < 0.2, str(res)


def test_forward_backward_agree_across_namespaces(xp):
    """The same seeded network gives the same numbers on every backend."""
    X_np = np.random.default_rng(0).standard_normal((9, 5))
    G_np = np.random.default_rng(1).standard_normal((9, 2))
    results = []
    for ns, X, G in ((np, X_np, G_np), (xp, to_xp(xp, X_np), to_xp(xp, G_np))):
        net = MLP([5, 6, 2], activation="tanh", batch_norm=True, random_state=3, xp=ns if ns is not np else None)
        Y = net.forward(X)
        dX = net.backward(G)
        grads = [np_of(g) for g in net.gradients()]
        results.append((np_of(Y), np_of(dX), grads))
    (Y0, dX0, g0), (Y1, dX1, g1) = results
    np.testing.assert_allclose(Y1, Y0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dX1, dX0, rtol=1e-12, atol=1e-12)
    for a, b in zip(g0, g1, strict=False):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_outputs_stay_in_input_namespace(xp):
    net = MLP([4, 5, 3], activation="leaky_relu", batch_norm=True, random_state=0, xp=xp)
    X = _batch(xp)
    Y = net.forward(X)
    assert type(Y) is type(X)
    dX = net.backward(Y)
    assert type(dX) is type(X)
    for p in net.parameters():
        assert type(p.grad) is type(X)


def test_linear_values_match_definition():
    layer = Linear(3, 2, random_state=0)
    X = np.random.default_rng(0).standard_normal((4, 3))
    W, b = layer.weight.data, layer.bias.data
    np.testing.assert_allclose(layer.forward(X), X @ W.T + b)
    G = np.random.default_rng(1).standard_normal((4, 2))
    dX = layer.backward(G)
    np.testing.assert_allclose(dX, G @ W)
    np.testing.assert_allclose(layer.weight.grad, G.T @ X)
    np.testing.assert_allclose(layer.bias.grad, G.sum(axis=0))


def test_initializations_have_the_documented_scale():
    he = Linear(400, 300, init="he", random_state=0).weight.data
    assert abs(he.std() - np.sqrt(2 / 400)) < 0.02 * np.sqrt(2 / 400)
    gl = Linear(400, 300, init="glorot", random_state=0).weight.data
    a = np.sqrt(6 / 700)
    assert gl.max() <= a and gl.min() >= -a and gl.max() > 0.98 * a
    assert np.all(Linear(4, 3, random_state=0).bias.data == 0)
    # Same seed, same weights; different seed, different weights.
    np.testing.assert_array_equal(Linear(4, 3, random_state=7).weight.data, Linear(4, 3, random_state=7).weight.data)
    assert not np.array_equal(Linear(4, 3, random_state=7).weight.data, Linear(4, 3, random_state=8).weight.data)


def test_gradients_accumulate_until_zero_grad():
    layer = Linear(3, 2, random_state=0)
    X = np.ones((2, 3))
    G = np.ones((2, 2))
    layer.forward(X)
    layer.backward(G)
    first = layer.weight.grad.copy()
    layer.backward(G)
    np.testing.assert_allclose(layer.weight.grad, 2 * first)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None
    assert [np.all(g == 0) for g in layer.gradients()] == [True, True]
    layer.backward(G)
    layer.zero_grad(set_to_none=False)
    assert np.all(layer.weight.grad == 0)


def test_backward_flags_and_frozen_parameters():
    net = MLP([3, 4, 2], random_state=0)
    X = np.random.default_rng(0).standard_normal((5, 3))
    Y = net.forward(X)
    assert net.backward(np.ones_like(Y), input_grad=False) is None
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    net.forward(X)
    dX = net.backward(np.ones_like(Y), param_grad=False)
    assert dX.shape == X.shape
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    net.forward(X)
    net.backward(np.ones_like(Y))
    assert all(p.grad is None for p in net.parameters())


def test_activation_values():
    X = np.array([[-2.0, -0.5, 0.0, 0.5, 800.0, -700.0, -1000.0]])
    np.testing.assert_array_equal(ReLU().forward(X), np.maximum(X, 0))
    np.testing.assert_allclose(LeakyReLU(0.2).forward(X), np.where(X > 0, X, 0.2 * X))
    np.testing.assert_allclose(Tanh().forward(X), np.tanh(X))
    with np.errstate(over="ignore"):
        ref = 1 / (1 + np.exp(-X))
    s = Sigmoid().forward(X)  # large |x| must not overflow (RuntimeWarnings are errors)
    np.testing.assert_allclose(s, ref, rtol=1e-15)
    assert s[0, 4] == 1.0 and s[0, 5] > 0.0 and s[0, 6] == 0.0 and s[0, 2] == 0.5


def test_batchnorm_train_normalizes_and_updates_running_stats():
    rng = np.random.default_rng(0)
    X = 3.0 * rng.standard_normal((50, 3)) + np.array([1.0, -2.0, 5.0])
    bn = BatchNorm1d(3, momentum=0.1)
    Y = bn.forward(X)
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Y.var(axis=0), X.var(axis=0) / (X.var(axis=0) + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean, 0.1 * X.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * X.var(axis=0, ddof=1))


def test_batchnorm_eval_uses_running_statistics():
    rng = np.random.default_rng(1)
    bn = BatchNorm1d(2, momentum=0.5)
    for _ in range(30):
        bn.forward(rng.normal([2.0, -1.0], [0.5, 3.0], size=(64, 2)))
    rm, rv = bn.running_mean.copy(), bn.running_var.copy()
    np.testing.assert_allclose(rm, [2.0, -1.0], atol=0.5)
    bn.eval()
    X = rng.standard_normal((5, 2))
    Y = bn.forward(X)
    np.testing.assert_allclose(Y, (X - rm) / np.sqrt(rv + bn.eps))
    # Evaluation leaves the running statistics alone and works on a single sample.
    np.testing.assert_array_equal(bn.running_mean, rm)
    assert bn.forward(X[:1]).shape == (1, 2)
    with pytest.raises(ValueError, match="X"):
        bn.train().forward(X[:1])


def test_train_eval_modes_propagate():
    net = MLP([3, 4, 4, 2], batch_norm=True, random_state=0)
    assert all(m.training for _, m in net.named_modules())
    net.eval()
    assert not any(m.training for _, m in net.named_modules())
    net.train()
    assert all(m.training for _, m in net.named_modules())


def test_mlp_structure_and_names():
    net = MLP([5, 8, 6, 2], activation="tanh", batch_norm=True, final_activation="tanh", random_state=0)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Linear", "BatchNorm1d", "Tanh", "Linear", "Tanh"]
    assert net[0].init == "glorot" and MLP([3, 2, 1]).layers[0].init == "he"
    names = [n for n, _ in net.named_parameters()]
    assert names[:4] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert net.num_parameters() == 5 * 8 + 8 + 16 + 8 * 6 + 6 + 12 + 6 * 2 + 2
    assert [n for n, _ in net.named_buffers()][:2] == ["1.running_mean", "1.running_var"]
    assert "Linear(5, 8" in repr(net)
    custom = MLP([3, 4, 2], activation=lambda: LeakyReLU(0.3), random_state=0)
    assert isinstance(custom[1], LeakyReLU) and custom[1].negative_slope == 0.3
    assert BatchNorm1d(3, affine=False).parameters() == []
    seq = Sequential(Linear(2, 3, random_state=0)).append(ReLU())
    assert len(seq) == 2 and isinstance(seq[1], ReLU) and isinstance(seq[:1], Sequential)


def test_state_dict_round_trip_is_exact(xp):
    net = MLP([4, 6, 3], batch_norm=True, random_state=0, xp=xp, dtype="float32")
    X = _batch(xp, n=10)
    net.forward(X)  # move running statistics away from their defaults
    state = net.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert state["0.weight"].dtype == np.float32 and "1.running_var" in state
    other = MLP([4, 6, 3], batch_norm=True, random_state=1, xp=xp, dtype="float32")
    optimizer_view = other.parameters()
    other.load_state_dict(state)
    assert other.parameters()[0] is optimizer_view[0]  # parameter objects keep their identity
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
        assert value.dtype == state[key].dtype
    net.eval()
    other.eval()
    np.testing.assert_array_equal(np_of(other.forward(X)), np_of(net.forward(X)))
    # The saved state is a copy: later training does not change it.
    before = state["0.weight"].copy()
    net.parameters()[0].data[...] = 0.0
    np.testing.assert_array_equal(state["0.weight"], before)


def test_load_state_dict_rejects_mismatches():
    net = MLP([3, 4, 2], random_state=0)
    state = net.state_dict()
    with pytest.raises(ValueError, match="state_dict"):
        net.load_state_dict({k: v for k, v in state.items() if k != "0.bias"})
    with pytest.raises(ValueError, match="state_dict"):
        net.load_state_dict({**state, "extra": np.zeros(1)})
    bad = dict(state)
    bad["0.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match="0.weight"):
        net.load_state_dict(bad)
    with pytest.raises(ValueError, match="state_dict"):
        net.load_state_dict([1, 2])


def test_float32_end_to_end():
    net = MLP([6, 5, 2], batch_norm=True, activation="sigmoid", random_state=0, dtype=np.float32)
    X = np.random.default_rng(0).standard_normal((8, 6))  # float64 input is cast to the parameters' dtype
    Y = net.forward(X)
    assert Y.dtype == np.float32
    dX = net.backward(np.ones((8, 2), dtype=np.float32))
    assert dX.dtype == np.float32
    assert all(g.dtype == np.float32 for g in net.gradients())
    ref = MLP([6, 5, 2], batch_norm=True, activation="sigmoid", random_state=0)
    np.testing.assert_allclose(Y, ref.forward(X), rtol=1e-4, atol=1e-5)


def test_integer_input_is_accepted():
    net = MLP([3, 2], random_state=0)
    Y = net.forward(np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert Y.dtype == np.float64


def test_to_moves_parameters(xp):
    net = MLP([3, 4, 2], batch_norm=True, random_state=0)
    X = np.random.default_rng(0).standard_normal((5, 3))
    ref = net.forward(X)
    net.to(xp=xp, dtype="float32")
    assert all(p.data.dtype == xp.float32 for p in net.parameters())
    Y = net.forward(to_xp(xp, X.astype(np.float32)))
    np.testing.assert_allclose(np_of(Y), ref, rtol=1e-5, atol=1e-6)


def test_mixing_namespaces_is_refused():
    strict = pytest.importorskip("array_api_strict")
    net = Linear(3, 2, random_state=0)
    with pytest.raises(TypeError):
        net.forward(strict.ones((2, 3)))


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: Linear(0, 3), "in_features"),
        (lambda: Linear(3, 2.5), "out_features"),
        (lambda: Linear(3, 2, init="xavier"), "init"),
        (lambda: Linear(3, 2, dtype="int32"), "dtype"),
        (lambda: Linear(3, 2, random_state="seed"), "random_state"),
        (lambda: LeakyReLU(-0.1), "negative_slope"),
        (lambda: LeakyReLU(float("nan")), "negative_slope"),
        (lambda: BatchNorm1d(3, momentum=0.0), "momentum"),
        (lambda: BatchNorm1d(3, momentum=1.5), "momentum"),
        (lambda: BatchNorm1d(3, eps=-1.0), "eps"),
        (lambda: BatchNorm1d(True), "num_features"),
        (lambda: MLP([3]), "sizes"),
        (lambda: MLP([3, 0, 2]), "sizes"),
        (lambda: MLP(5), "sizes"),
        (lambda: MLP([3, 4, 2], activation="swish"), "activation"),
        (lambda: MLP([3, 4, 2], final_activation="swish"), "final_activation"),
        (lambda: Sequential(Linear(2, 2), "relu"), "layers"),
    ],
)
def test_invalid_construction_raises(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_invalid_inputs_raise():
    layer = Linear(3, 2, random_state=0)
    with pytest.raises(ValueError, match="X"):
        layer.forward(np.ones(3))
    with pytest.raises(ValueError, match="X"):
        layer.forward(np.ones((2, 4)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="grad_out"):
        _tanh_after_forward().backward(np.ones((3, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(3, 2).backward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="X"):
        BatchNorm1d(3).forward(np.ones((4, 2)))


def _tanh_after_forward():
    t = Tanh()
    t.forward(np.ones((2, 2)))
    return t


def test_parameter_and_module_basics():
    p = Parameter(np.zeros((2, 3)))
    assert p.shape == (2, 3) and p.size == 6 and p.dtype == np.float64 and "Parameter" in repr(p)
    p.accumulate(np.ones((2, 3)))
    p.accumulate(np.ones((2, 3)))
    assert np.all(p.grad == 2)
    frozen = Parameter(np.zeros(2), requires_grad=False)
    frozen.accumulate(np.ones(2))
    assert frozen.grad is None
    assert Module().parameters() == [] and Module().children() == []
