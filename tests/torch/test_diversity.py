"""The DPP term in PyTorch autograd: exact gradient, proper sub-gradients, mixing, bad input."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="spectral_ml.torch needs the optional torch extra")

from spectral_ml.dpp import dpp_diversity, gaussian_kernel  # noqa: E402 - after the optional dependency is found or skipped
from spectral_ml.testing import taylor_test  # noqa: E402 - after the optional dependency is found or skipped
from spectral_ml.torch import DPPDiversity, contrastive_loss, dpp_diversity_loss  # noqa: E402 - after the optional dependency is found or skipped

SIGMA = 0.2


def _spread(seed, n=20, d=3, dtype=torch.float64):
    """A batch whose kernel matrix is well conditioned but far from the identity."""
    X = np.random.default_rng(seed).uniform(-0.5, 0.5, size=(n, d))
    return torch.tensor(X, dtype=dtype)


def _with_duplicate(seed, n=20, d=3, dtype=torch.float64):
    X = _spread(seed, n, d, dtype)
    X[7] = X[2]
    return X


def _min_eigenvalue(F, sigma=SIGMA):
    L = gaussian_kernel(F.detach().double().numpy(), sigma)
    return float(np.linalg.eigvalsh(L)[0])


# ------------------------------------------------------------------------ exact path
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("objective", ["logdet", "det"])
@pytest.mark.parametrize("shape", [(6, 2), (12, 2), (20, 3)])
def test_gradcheck_exact_path(seed, objective, shape):
    X = _spread(seed, *shape).requires_grad_()
    assert _min_eigenvalue(X) > 1e-2

    def f(Z):
        return dpp_diversity_loss(Z, SIGMA, objective=objective, method="exact")

    assert torch.autograd.gradcheck(f, (X,), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_gradcheck_auto_on_well_conditioned_batch_is_the_exact_path(seed):
    X = _spread(seed + 10).requires_grad_()
    info = {}
    dpp_diversity_loss(X, SIGMA, info=info)
    assert info["method"] == "exact" and info["is_gradient"]
    assert torch.autograd.gradcheck(lambda Z: dpp_diversity_loss(Z, SIGMA), (X,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("objective", ["logdet", "det"])
def test_taylor_order_two_through_autograd(seed, objective):
    X0 = _spread(seed + 20, n=15, d=2)
    X = X0.clone().requires_grad_()
    dpp_diversity_loss(X, SIGMA, objective=objective, method="exact").backward()

    def f(Z):
        return float(dpp_diversity_loss(Z, SIGMA, objective=objective, method="exact"))

    res = taylor_test(f, X.grad.detach(), X0, seed=seed)
    assert abs(res.order - 2.0) < 0.15, str(res)


def test_wrong_gradient_fails_the_taylor_test():
    # The check can fail: a perturbed gradient gives order 1.
    X0 = _spread(30, n=15, d=2)
    X = X0.clone().requires_grad_()
    dpp_diversity_loss(X, SIGMA, method="exact").backward()
    wrong = X.grad.detach() * 1.01
    res = taylor_test(lambda Z: float(dpp_diversity_loss(Z, SIGMA, method="exact")), wrong, X0)
    assert abs(res.order - 1.0) < 0.2


@pytest.mark.parametrize("objective", ["logdet", "det"])
def test_value_is_the_array_level_value(objective):
    X = _spread(40)
    ref = dpp_diversity(X.numpy(), SIGMA, objective=objective, method="exact")
    out = dpp_diversity_loss(X, SIGMA, objective=objective, method="exact")
    assert out.shape == () and out.dtype == torch.float64
    assert float(out) == pytest.approx(ref.value, rel=1e-12)


def test_upstream_gradient_scales_the_direction():
    X = _spread(41)
    ref = dpp_diversity(X.numpy(), SIGMA).grad
    Y = X.clone().requires_grad_()
    (-3.5 * dpp_diversity_loss(Y, SIGMA)).backward()
    np.testing.assert_allclose(Y.grad.numpy(), -3.5 * ref, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------- singular batches
@pytest.mark.parametrize(
    "method,subgradient", [("auto", "dppsg*"), ("auto", "dppsg"), ("dppsg", "dppsg*"), ("dppsg*", "dppsg*")]
)
@pytest.mark.parametrize("seed", range(3))
def test_autograd_passes_the_array_level_subgradient(method, subgradient, seed):
    X = _with_duplicate(seed)
    ref = dpp_diversity(X, SIGMA, method=method, subgradient=subgradient, delta=1e-3)
    assert ref.method in ("dppsg", "dppsg*")
    Y = X.clone().requires_grad_()
    info = {}
    dpp_diversity_loss(Y, SIGMA, method=method, subgradient=subgradient, delta=1e-3, info=info).backward()
    assert info["method"] == ref.method and not info["is_gradient"]
    assert float(ref.grad.norm()) > 0
    torch.testing.assert_close(Y.grad, ref.grad, rtol=0, atol=0)


@pytest.mark.parametrize("method", ["dppsg", "dppsg*"])
@pytest.mark.parametrize("seed", range(3))
def test_ascent_step_separates_near_duplicates_of_singular_batch(method, seed):
    # A pair 1e-6 apart: det L < β, so the automatic switch takes the sub-gradient. Along the
    # direction autograd returns the pair separates (first order and after a step) and the
    # smallest eigenvalue of L, the pair's, grows.
    X = _spread(seed + 50, n=20, d=2)
    X[9] = X[4] + 1e-6
    Y = X.clone().requires_grad_()
    info = {}
    dpp_diversity_loss(Y, SIGMA, subgradient=method, delta=1e-3, info=info).backward()
    assert info["method"] == method
    d = Y.grad
    diff = X[9] - X[4]
    assert float(diff @ (d[9] - d[4])) > 0
    t = 0.1 * float(diff.norm()) / float((d[9] - d[4]).norm())
    Xt = X + t * d
    assert float((Xt[9] - Xt[4]).norm()) > float(diff.norm())
    assert _min_eigenvalue(Xt) > _min_eigenvalue(X)


class _SmallNet(torch.nn.Module):
    """Linear map 6 → 2 whose inputs 0 and 1 differ in its null space: identical features."""

    def __init__(self, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.lin = torch.nn.Linear(6, 2, bias=True).double()
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(2, 6, generator=g, dtype=torch.float64))

    def forward(self, inputs):
        return self.lin(inputs)


def _singular_inputs(net, seed, gap=0.0, n=24):
    """Inputs whose features 0 and 1 coincide (gap 0) or lie ``gap`` apart, from distinct inputs."""
    g = torch.Generator().manual_seed(seed + 100)
    inputs = 0.2 * torch.randn(n, 6, generator=g, dtype=torch.float64)
    W = net.lin.weight.detach()
    null = torch.linalg.svd(W, full_matrices=True).Vh[-1]
    # inputs[1] − inputs[0] in the null space of the weight, plus a row-space part of size gap.
    inputs[1] = inputs[0] + 0.5 * null + gap * W[0] / float(W[0] @ W[0])
    return inputs


# Exact duplicates receive identical directions (∂L_ij/∂x_i ∝ x_i − x_j = 0); DPPSG's lift is
# then confined to the pair and its direction in feature space vanishes, so DPPSG is checked
# on a pair singular to working precision, DPPSG* on both.
_SINGULAR_CASES = [("dppsg*", 0.0), ("dppsg*", 1e-7), ("dppsg", 1e-7)]


@pytest.mark.parametrize("subgradient,gap", _SINGULAR_CASES)
@pytest.mark.parametrize("seed", range(3))
def test_network_step_along_dpp_gradient_makes_singular_batch_positive_definite(subgradient, gap, seed):
    net = _SmallNet(seed)
    inputs = _singular_inputs(net, seed, gap)
    F = net(inputs)
    assert float((F[0] - F[1]).detach().norm()) <= 2 * gap + 1e-12
    lam0 = _min_eigenvalue(F)
    assert lam0 < 1e-12
    info = {}
    value = dpp_diversity_loss(F, SIGMA, subgradient=subgradient, delta=1e-3, info=info)
    assert info["method"] == subgradient
    params = list(net.parameters())
    grads = torch.autograd.grad(value, params)
    # The parameter gradient is the array-level direction pulled back through the network.
    direction = dpp_diversity(F.detach(), SIGMA, subgradient=subgradient, delta=1e-3).grad
    assert float(direction.norm()) > 0
    pulled = torch.autograd.grad(net(inputs), params, grad_outputs=direction)
    for a, b in zip(grads, pulled, strict=False):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)
    assert float(grads[0].norm()) > 1e-6 * float(direction.norm()) * float(inputs.norm())
    with torch.no_grad():
        for p, g in zip(params, grads, strict=False):
            p.add_(1e-2 * g / float(grads[0].norm()))
        F_step = net(inputs)
    assert float((F_step[0] - F_step[1]).norm()) > max(10 * gap, 1e-6)
    assert _min_eigenvalue(F_step) > 1e3 * max(lam0, 1e-16)


@pytest.mark.parametrize("subgradient,gap", _SINGULAR_CASES)
def test_mixed_losses_gradient_is_the_sum_of_parts(subgradient, gap):
    net = _SmallNet(3)
    inputs = _singular_inputs(net, 3, gap)
    y = torch.arange(inputs.shape[0]) % 3
    params = list(net.parameters())
    lam = 10.0

    def parts():
        F = net(inputs)
        return [
            contrastive_loss(F, y, reduction="sum"),
            -lam * dpp_diversity_loss(F, SIGMA, subgradient=subgradient, delta=1e-3),
            (F**2).mean(),
        ]

    separate = [torch.autograd.grad(term, params, retain_graph=True) for term in parts()]
    total = sum(parts())
    combined = torch.autograd.grad(total, params)
    for k, g in enumerate(combined):
        np.testing.assert_allclose(g.numpy(), sum(s[k] for s in separate).numpy(), rtol=1e-12, atol=1e-12)
    # The DPP part is −λ times the array-level direction pulled back through the network.
    F = net(inputs)
    direction = dpp_diversity(F.detach().numpy(), SIGMA, subgradient=subgradient, delta=1e-3).grad
    pulled = torch.autograd.grad(F, params, grad_outputs=torch.from_numpy(-lam * direction))
    for a, b in zip(separate[1], pulled, strict=False):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
    # The weight's part is not zero (the bias's is, up to round-off: the term is translation invariant).
    assert float(pulled[0].norm()) > 1e-6 * lam * float(np.linalg.norm(direction))


# ---------------------------------------------------------------- options and dtypes
def test_float32_stays_float32_and_matches_array_level():
    X = _with_duplicate(60, dtype=torch.float32).requires_grad_()
    out = dpp_diversity_loss(X, SIGMA)
    out.backward()
    ref = dpp_diversity(X.detach(), SIGMA)
    assert out.dtype == torch.float32 and X.grad.dtype == torch.float32
    torch.testing.assert_close(X.grad, ref.grad, rtol=0, atol=0)


def test_compute_value_false_gives_nan_on_dppsg_star_path_and_the_same_gradient():
    X = _with_duplicate(61)
    grads = []
    for compute_value in (True, False):
        Y = X.clone().requires_grad_()
        out = dpp_diversity_loss(Y, SIGMA, method="dppsg*", compute_value=compute_value)
        assert math.isnan(float(out.detach())) == (not compute_value)
        out.backward()
        grads.append(Y.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)
    # On the exact path the value is a by-product and always returned.
    assert math.isfinite(float(dpp_diversity_loss(_spread(62), SIGMA, compute_value=False)))


def test_module_matches_function_and_records_the_path():
    term = DPPDiversity(SIGMA, method="auto", subgradient="dppsg", delta=1e-3)
    X = _with_duplicate(63)
    out = term(X)
    assert term.last_info["method"] == "dppsg"
    assert float(out) == float(dpp_diversity_loss(X, SIGMA, subgradient="dppsg", delta=1e-3))
    assert "dppsg" in repr(term)


def test_double_backward_raises_a_clear_error():
    X = _spread(64).requires_grad_()
    value = dpp_diversity_loss(X, SIGMA)
    (g,) = torch.autograd.grad(value, X, create_graph=True)
    with pytest.raises(RuntimeError, match="no second derivative"):
        g.sum().backward()
    # A first-order backward with create_graph=True alone does not raise.
    Y = _spread(65).requires_grad_()
    (gy,) = torch.autograd.grad(dpp_diversity_loss(Y, SIGMA), Y, create_graph=True)
    torch.testing.assert_close(gy.detach(), dpp_diversity(Y.detach(), SIGMA).grad, rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
def test_cuda_matches_cpu(dtype, method):
    X = _spread(66, n=40, d=2, dtype=torch.float64)
    ref = X.clone().requires_grad_()
    ref_value = dpp_diversity_loss(ref, SIGMA, method=method)
    ref_value.backward()
    # Both devices solve with L (condition number about 7e3 here) in the working precision:
    # their directions carry the forward error κ·eps of that precision, which in float32
    # exceeds 1e-4 on this batch on the CPU alone. Each device is held to that bound
    # against the float64 reference, and float64 results to each other.
    kappa = float(torch.linalg.cond(gaussian_kernel(X, SIGMA)))
    bound = 10 * kappa * torch.finfo(dtype).eps
    outs = []
    for device in ("cpu", "cuda"):
        Y = X.to(device=device, dtype=dtype, copy=True).requires_grad_()  # a fresh leaf on each device
        out = dpp_diversity_loss(Y, SIGMA, method=method)
        out.backward()
        assert out.device.type == device and Y.grad.device.type == device and Y.grad.dtype == dtype
        grad = Y.grad.cpu().double()
        scale = float(ref.grad.abs().max())
        assert float((grad - ref.grad).abs().max()) <= bound * scale, device
        assert float(out.detach()) == pytest.approx(float(ref_value.detach()), rel=bound, abs=bound)
        outs.append((float(out.detach()), grad))
    if dtype == torch.float64:
        assert outs[0][0] == pytest.approx(outs[1][0], rel=1e-9)
        torch.testing.assert_close(outs[0][1], outs[1][1], rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "X,kwargs,match",
    [
        (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), {}, "X"),
        (torch.tensor([[0.0, float("inf")], [1.0, 1.0]]), {}, "X"),
        (torch.zeros(5), {}, "X"),
        (torch.zeros(2, 3, 2), {}, "X"),
        (torch.zeros(1, 2), {}, "X"),
        (torch.zeros(4, 2, dtype=torch.float16), {}, "X"),
        (torch.zeros(4, 2, dtype=torch.int64), {}, "X"),
        (np.zeros((4, 2)), {}, "X"),
        (torch.rand(4, 2), {"sigma": 0.0}, "sigma"),
        (torch.rand(4, 2), {"sigma": -1.0}, "sigma"),
        (torch.rand(4, 2), {"sigma": float("nan")}, "sigma"),
        (torch.rand(4, 2), {"sigma": "wide"}, "sigma"),
        (torch.rand(4, 2), {"objective": "trace"}, "objective"),
        (torch.rand(4, 2), {"method": "svd"}, "method"),
        (torch.rand(4, 2), {"subgradient": "exact"}, "subgradient"),
        (torch.rand(4, 2), {"beta": 0.0}, "beta"),
        (torch.rand(4, 2), {"delta": -1e-7}, "delta"),
        (torch.rand(4, 2), {"theta": 1.5}, "theta"),
        (torch.rand(4, 2), {"compute_value": 1}, "compute_value"),
        (torch.rand(4, 2), {"info": []}, "info"),
        (torch.rand(4, 2), {"underflow": "ignore"}, "underflow"),
        (torch.tensor([[0.0], [1.0]]), {"sigma": 1e-3}, "sigma"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        dpp_diversity_loss(X, **kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"sigma": 0.0}, "sigma"),
        ({"theta": 0.0}, "theta"),
        ({"method": "svd"}, "method"),
        ({"compute_value": "yes"}, "compute_value"),
    ],
)
def test_module_checks_its_settings_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DPPDiversity(**kwargs)


def test_exact_method_on_singular_batch_raises_linalg_error():
    with pytest.raises(np.linalg.LinAlgError):
        dpp_diversity_loss(_with_duplicate(70), SIGMA, method="exact")


def test_underflow_allow_gives_zero_gradient_for_a_batch_far_apart_at_width_sigma():
    X = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64, requires_grad=True)
    out = dpp_diversity_loss(X, 1e-3, underflow="allow")
    out.backward()
    assert float(out.detach()) == 0.0
    assert float(X.grad.abs().max()) == 0.0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_array_level_term_accepts_half_precision_cpu_tensors(dtype):
    # The array-level term keeps a half-precision tensor's dtype; only the autograd
    # function is limited to float32 and float64. In half precision the kernel's exponents
    # (up to ~13 here) carry an absolute error of 13 eps, 10 % in bfloat16, so the
    # direction is compared by its angle to the float64 one on the same rounded points.
    g = torch.tensor([-0.25, 0.0, 0.25], dtype=torch.float64)
    Xh = (torch.cartesian_prod(g, g) + 0.01 * torch.arange(9, dtype=torch.float64)[:, None]).to(dtype)
    res = dpp_diversity(Xh, SIGMA)
    ref = dpp_diversity(Xh.double(), SIGMA)
    assert res.grad.dtype == dtype and res.method == ref.method == "exact"
    a, b = res.grad.double().reshape(-1), ref.grad.reshape(-1)
    assert float(a @ b / (a.norm() * b.norm())) > 0.95


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"method": "dppsg", "delta": 1e-3},
        {"method": "exact"},
        {"objective": "det", "theta": 0.3},
        {"subgradient": "dppsg"},
    ],
)
def test_settings_object_gives_the_keywords_result_bit_for_bit(kwargs):
    from spectral_ml.dpp import DPPSettings

    settings = DPPSettings(sigma=SIGMA, **kwargs)
    for X in (_spread(70), _with_duplicate(71)):
        grads, values, infos = [], [], []
        for call in (
            lambda Y, info: dpp_diversity_loss(Y, SIGMA, info=info, **kwargs),
            lambda Y, info: dpp_diversity_loss(Y, info=info, settings=settings),
            lambda Y, info: DPPDiversity(settings=settings)(Y),
        ):
            Y = X.clone().requires_grad_()
            info = {}
            try:
                out = call(Y, info)
            except ValueError:  # the exact path on the duplicated batch, whichever the call
                assert kwargs.get("method") == "exact"
                continue
            (2.0 * out).backward()
            grads.append(Y.grad)
            values.append(float(out.detach()))
            infos.append(info)
        for g, v in zip(grads[1:], values[1:], strict=True):
            torch.testing.assert_close(g, grads[0], rtol=0, atol=0)
            assert v == values[0]
        if infos:
            assert infos[1] == infos[0]


def test_module_holds_its_settings_as_one_object():
    from spectral_ml.dpp import DPPSettings

    term = DPPDiversity(0.3, theta=0.2)
    assert term.settings == DPPSettings(sigma=0.3, theta=0.2) and term.sigma == 0.3
    # The repr shows every setting, θ included: it is the one that decides what DPPSG* does.
    assert repr(term) == (
        "DPPDiversity(sigma=0.3, objective='logdet', method='auto', subgradient='dppsg*', theta=0.2, "
        f"beta={term.settings.beta}, delta={term.settings.delta}, underflow={term.settings.underflow!r})"
    )
    with pytest.raises(ValueError, match="theta=0.2 was given with settings"):
        DPPDiversity(theta=0.2, settings=DPPSettings())
    with pytest.raises(ValueError, match="sigma=0.5 was given with settings"):
        dpp_diversity_loss(_spread(72), 0.5, settings=DPPSettings())
    with pytest.raises(ValueError, match="settings must be a DPPSettings"):
        DPPDiversity(settings={"sigma": 0.2})
