"""Exact Wasserstein distance and the gap-to-uniform protocol."""

import itertools

import numpy as np
import pytest
import scipy.stats

from spectral_ml.evaluation import gap_to_reference, uniform_box_sampler, wasserstein_distance


def _brute_force(x, y, p):
    """Minimum over all permutations of the mean p-th power cost, to the power 1/p."""
    n = len(x)
    best = min(
        sum(np.linalg.norm(x[i] - y[perm[i]]) ** p for i in range(n)) / n for perm in itertools.permutations(range(n))
    )
    return best ** (1 / p)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("p", [1, 2, 3.5])
def test_matches_permutation_brute_force(xp, seed, p):
    rng = np.random.default_rng(seed)
    n, d = 6, 3
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.5
    got = wasserstein_distance(xp.asarray(x), xp.asarray(y), p=p)
    assert isinstance(got, float)
    assert got == pytest.approx(_brute_force(x, y, p), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_dimensional_w1_matches_scipy(xp, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=40), rng.exponential(size=40)
    expected = scipy.stats.wasserstein_distance(x, y)
    assert wasserstein_distance(xp.asarray(x), xp.asarray(y), p=1) == pytest.approx(expected, rel=1e-12)
    assert wasserstein_distance(x[:, None], y[:, None], p=1) == pytest.approx(expected, rel=1e-12)


def test_one_dimensional_w2_is_the_sorted_matching():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=30), rng.uniform(size=30)
    expected = np.sqrt(np.mean((np.sort(x) - np.sort(y)) ** 2))
    assert wasserstein_distance(x, y) == pytest.approx(expected, rel=1e-12)


def test_metric_properties():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
    assert wasserstein_distance(x, x[rng.permutation(20)]) == pytest.approx(0.0, abs=1e-15)
    assert wasserstein_distance(x, y) == pytest.approx(wasserstein_distance(y, x), rel=1e-12)
    # A translation by t moves every point by |t|.
    assert wasserstein_distance(x, x + np.array([3.0, 4.0])) == pytest.approx(5.0, rel=1e-12)


def test_invalid_inputs():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="samples has 5 points"):
        wasserstein_distance(x, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="samples has dimension 3"):
        wasserstein_distance(x, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="p must be"):
        wasserstein_distance(x, x, p=0.5)
    with pytest.raises(ValueError, match="features"):
        wasserstein_distance(np.full((4, 2), np.nan), x)
    with pytest.raises(ValueError, match="samples"):
        wasserstein_distance(x, np.zeros((4, 2, 1)))


# --------------------------------------------------------------------------- gap to P


def test_gap_is_small_for_uniform_features_and_large_for_collapsed_ones(xp):
    rng = np.random.default_rng(0)
    uniform = xp.asarray(rng.uniform(-1, 1, size=(400, 2)))
    collapsed = xp.asarray(rng.normal(scale=0.05, size=(400, 2)))
    near = gap_to_reference(uniform, n_samples=400, n_repeats=3, random_state=1)
    far = gap_to_reference(collapsed, n_samples=400, n_repeats=3, random_state=1)
    assert near < 0.2
    # The root mean square distance of U[-1,1]^2 to the origin is sqrt(2/3) ~ 0.816.
    assert far == pytest.approx(np.sqrt(2 / 3), abs=0.1)


def test_gap_protocol_reproducible_and_subsampled():
    rng = np.random.default_rng(2)
    features = rng.uniform(-1, 1, size=(500, 2))
    gap, runs = gap_to_reference(features, n_samples=100, n_repeats=4, random_state=7, return_all=True)
    assert runs.shape == (4,) and gap == pytest.approx(runs.mean())
    assert len(set(runs.tolist())) == 4  # fresh reference sample and subset every repeat
    assert gap_to_reference(features, n_samples=100, n_repeats=4, random_state=7) == gap
    assert gap_to_reference(features, n_samples=100, n_repeats=4, random_state=8) != gap


def test_gap_uses_all_features_when_fewer_than_n_samples():
    features = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]])
    seen = []

    def echo(n, d, rng):
        seen.append((n, d))
        return features[::-1].copy()

    assert gap_to_reference(features, sampler=echo, n_samples=2000, n_repeats=2) == 0.0
    assert seen == [(3, 2), (3, 2)]


def test_uniform_box_sampler():
    rng = np.random.default_rng(0)
    pts = uniform_box_sampler(0.0, 2.0)(1000, 3, rng)
    assert pts.shape == (1000, 3) and pts.min() >= 0.0 and pts.max() <= 2.0
    with pytest.raises(ValueError, match="low"):
        uniform_box_sampler(1.0, 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_repeats": 0}, "n_repeats"),
        ({"n_repeats": 2.0}, "n_repeats"),
        ({"p": 0}, "p must be"),
        ({"sampler": "uniform"}, "sampler"),
        ({"sampler": lambda n, d, rng: np.zeros((n, d + 1))}, "sampler must return"),
        ({"sampler": lambda n, d, rng: np.full((n, d), np.inf)}, "sampler must return"),
    ],
)
def test_gap_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gap_to_reference(np.zeros((5, 2)), **kwargs)


def test_uniform_box_sampler_pickles_and_compares():
    import pickle

    sampler = uniform_box_sampler(-2.0, 3.0)
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone == sampler and repr(clone) == "UniformBoxSampler(low=-2.0, high=3.0)"
    a = clone(5, 2, np.random.default_rng(0))
    np.testing.assert_array_equal(a, np.random.default_rng(0).uniform(-2.0, 3.0, size=(5, 2)))
    assert uniform_box_sampler() != sampler


@pytest.mark.parametrize("p, scale, word", [(400.0, 10.0, "overflow"), (40.0, 1e-10, "underflow")])
def test_p_whose_powers_leave_float64_is_rejected(p, scale, word):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(5, 2)) * scale, rng.uniform(size=(5, 2)) * scale
    with pytest.raises(ValueError, match=f"p={p:g} is too large.*{word}"):
        wasserstein_distance(x, y, p=p)
    assert wasserstein_distance(x / scale, y / scale, p=p) > 0
