"""Contrastive loss: values against the pairwise definition, feature gradients, input checks."""

import numpy as np
import pytest

from spectral_ml.nn import contrastive_loss
from spectral_ml.testing import taylor_test

from ._helpers import np_of, to_xp


def _brute_force_contrastive(F, y, margin, alpha):
    """Direct double loop over the pairs i < j (the definition)."""
    n = F.shape[0]
    total = 0.0
    grad = np.zeros_like(F)
    for i in range(n):
        for j in range(i + 1, n):
            diff = F[i] - F[j]
            D = diff @ diff
            if y[i] == y[j]:
                total += D
                grad[i] += 2 * diff
                grad[j] -= 2 * diff
            elif D < margin:
                total += alpha * (margin - D)
                grad[i] -= 2 * alpha * diff
                grad[j] += 2 * alpha * diff
    return total, grad


def _features(n=14, d=3, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    F = 0.5 * rng.standard_normal((n, d))
    y = rng.integers(0, classes, size=n)
    return F, y


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_contrastive_matches_pairwise_definition(xp, reduction):
    F, y = _features()
    margin, alpha = 0.8, 5.0
    ref_value, ref_grad = _brute_force_contrastive(F, y, margin, alpha)
    P = F.shape[0] * (F.shape[0] - 1) / 2 if reduction == "mean" else 1.0
    # The margin must matter for this check to mean something.
    D = ((F[:, None] - F[None]) ** 2).sum(-1)
    diff = y[:, None] != y[None, :]
    assert (diff & (D < margin)).any() and (diff & (D > margin)).any()
    value, dF = contrastive_loss(to_xp(xp, F), y, margin=margin, alpha=alpha, reduction=reduction)
    assert isinstance(value, float)
    assert type(dF) is type(to_xp(xp, F))
    assert value == pytest.approx(ref_value / P, rel=1e-12)
    np.testing.assert_allclose(np_of(dF), ref_grad / P, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_contrastive_gradient_taylor(xp, seed):
    F, y = _features(seed=seed)
    F_x = to_xp(xp, F)

    def f(Fv):
        return contrastive_loss(Fv, y, margin=0.8, alpha=5.0)[0]

    def g(Fv):
        return contrastive_loss(Fv, y, margin=0.8, alpha=5.0)[1]

    res = taylor_test(f, g, F_x, seed=seed, steps=0.02 * 2.0 ** -np.arange(10))
    assert abs(res.order - 2) < 0.2, str(res)


def test_contrastive_gradient_taylor_negative_control():
    F, y = _features(seed=3)

    def f(Fv):
        return contrastive_loss(Fv, y)[0]

    def g(Fv):
        return contrastive_loss(Fv, y)[1] * 1.01

    res = taylor_test(f, g, F, steps=0.02 * 2.0 ** -np.arange(10))
    assert abs(res.order - 1) < 0.2, str(res)


def test_contrastive_small_example_by_hand():
    F = np.array([[0.0, 0.0], [0.1, 0.0], [0.5, 0.0], [3.0, 0.0]])
    y = np.array(["a", "a", "b", "b"])
    value, dF = contrastive_loss(F, y, margin=0.8, alpha=2.0, reduction="sum")
    # same pairs: (0,1) 0.01, (2,3) 6.25; different pairs inside the margin: (0,2) 0.25, (1,2) 0.16.
    assert value == pytest.approx(0.01 + 6.25 + 2.0 * (0.55 + 0.64))
    # Feature 3 is pulled only toward its same-label partner 2.
    np.testing.assert_allclose(dF[3], [2 * 2.5, 0.0])


def test_contrastive_float32_and_label_types(xp):
    F, y = _features()
    v64, g64 = contrastive_loss(to_xp(xp, F), y)
    v32, g32 = contrastive_loss(to_xp(xp, F.astype(np.float32)), y.astype(str))
    assert g32.dtype == xp.float32
    assert v32 == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(np_of(g32), np_of(g64), rtol=1e-4, atol=1e-6)
    v_list, _ = contrastive_loss(to_xp(xp, F), y.tolist())
    v_ns, _ = contrastive_loss(to_xp(xp, F), to_xp(xp, y))
    assert v_list == v64 and v_ns == pytest.approx(v64, rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float16, np.uint64, np.bool_, object])
def test_contrastive_host_labels_of_any_dtype(xp, dtype):
    # Host labels that not every namespace holds (float16, uint64, objects) are encoded;
    # the same partition of the batch gives the same loss.
    F, _ = _features()
    y = np.arange(F.shape[0]) % 2
    v_ref, g_ref = contrastive_loss(to_xp(xp, F), y)
    v, g = contrastive_loss(to_xp(xp, F), (y == 1 if dtype is np.bool_ else y + 7).astype(dtype))
    assert v == v_ref
    np.testing.assert_array_equal(np_of(g), np_of(g_ref))


def test_contrastive_label_validation_in_features_namespace(xp):
    F = to_xp(xp, np.ones((3, 2)))
    with pytest.raises(ValueError, match="y"):
        contrastive_loss(F, to_xp(xp, np.zeros(2)))
    with pytest.raises(ValueError, match="y"):
        contrastive_loss(F, to_xp(xp, np.zeros((3, 1))))
    with pytest.raises(ValueError, match="y"):
        contrastive_loss(F, to_xp(xp, np.array([0.0, np.nan, 1.0])))


def test_contrastive_all_same_label_gradient_is_centering():
    F, _ = _features(n=6)
    y = np.zeros(6)
    value, dF = contrastive_loss(F, y, reduction="sum")
    n = F.shape[0]
    # Σ_{i<j} ‖f_i − f_j‖² = n Σ ‖f_i − mean‖², gradient 2n (f_i − mean).
    centered = F - F.mean(axis=0)
    assert value == pytest.approx(n * (centered**2).sum())
    np.testing.assert_allclose(dF, 2 * n * centered, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(F=np.ones(3), y=[0, 1, 0]), "F"),
        (dict(F=np.ones((1, 2)), y=[0]), "F"),
        (dict(F=np.array([[0.0, np.nan], [1.0, 1.0]]), y=[0, 1]), "F"),
        (dict(F=np.ones((3, 2)), y=[0, 1]), "y"),
        (dict(F=np.ones((3, 2)), y=np.zeros((3, 1))), "y"),
        (dict(F=np.ones((2, 2)), y=[0.0, np.nan]), "y"),
        (dict(F=np.ones((2, 2)), y=[[0, 1]]), "y"),
        (dict(F=np.ones((2, 2)), y=[0, 1], margin=-1.0), "margin"),
        (dict(F=np.ones((2, 2)), y=[0, 1], alpha=float("inf")), "alpha"),
        (dict(F=np.ones((2, 2)), y=[0, 1], reduction="avg"), "reduction"),
    ],
)
def test_contrastive_invalid_input(kwargs, match):
    F = kwargs.pop("F")
    y = kwargs.pop("y")
    with pytest.raises(ValueError, match=match):
        contrastive_loss(F, y, **kwargs)
