"""Losses on a batch of features, each returning its value and its gradient wrt the features.

The feature network is trained on

    L = L_C − λ₁ L_D + λ₂ L_G,

with the contrastive loss ``L_C`` (:func:`contrastive_loss`), the DPP diversity term ``L_D``
(maximized, hence the minus sign) and the WGAN generator loss ``L_G = −E[h(f(I))]``
(:func:`generator_loss`) that pulls the features toward a reference distribution 𝒫 through a
critic ``h`` (:class:`WassersteinCritic`), trained in alternation with the network to
maximize ``L_W = E_{z∼𝒫}[h(z)] − E[h(f(I))]`` (Yu, Li & Li, Sec. 3.3; Arjovsky, Chintala &
Bottou, 2017). Every loss function returns ``(value, dF)``: a Python float and the gradient
wrt the feature batch ``F``, so a training step is a weighted sum of the ``dF`` fed to the
network's ``backward``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._backend import (
    as_float_array,
    device_of,
    from_numpy,
    get_namespace,
    is_numpy_namespace,
    to_numpy,
    to_python_float,
)
from .layers import MLP
from .module import Module, check_real, check_rng
from .optim import SGD, Adam, Optimizer, RMSprop

__all__ = [
    "contrastive_loss",
    "uniform_sampler",
    "UniformSampler",
    "WassersteinCritic",
    "generator_loss",
]


def _same_label_mask(y: Any, n: int, xp, device):
    """Boolean n×n matrix ``y_i == y_j`` in namespace ``xp``, for labels of any dtype and namespace."""
    native = None
    if not is_numpy_namespace(xp) and not isinstance(y, (list, tuple, np.ndarray)):
        try:
            if get_namespace(y) is xp:
                native = y
        except TypeError:
            pass
    if native is not None:
        if native.ndim != 1:
            raise ValueError(f"y must be a 1-D array of labels, got shape {tuple(native.shape)}.")
        if int(native.shape[0]) != n:
            raise ValueError(f"y has {int(native.shape[0])} labels, F has {n} rows.")
        if xp.isdtype(native.dtype, "real floating") and not bool(xp.all(xp.isfinite(native))):
            raise ValueError("y contains NaN or infinity.")
        return native[:, None] == native[None, :]
    y_np = np.asarray(to_numpy(y))
    if y_np.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {tuple(y_np.shape)}.")
    if y_np.shape[0] != n:
        raise ValueError(f"y has {y_np.shape[0]} labels, F has {n} rows.")
    if np.issubdtype(y_np.dtype, np.floating) and not np.all(np.isfinite(y_np)):
        raise ValueError("y contains NaN or infinity.")
    if is_numpy_namespace(xp):
        return y_np[:, None] == y_np[None, :]
    # Labels of another library (or strings) become integer codes on the features' device.
    codes = np.unique(y_np, return_inverse=True)[1].reshape(-1).astype(np.int64)
    codes = from_numpy(codes, xp, device)
    return codes[:, None] == codes[None, :]


def _frobenius(A: Any, B: Any, xp) -> float:
    """Σ_ij A_ij B_ij as a Python float."""
    if is_numpy_namespace(xp):
        return float(np.vdot(A, B))
    return to_python_float(xp.vecdot(xp.reshape(A, (-1,)), xp.reshape(B, (-1,))))


def _zero_diagonal(M: Any, xp):
    """``M`` with a zero diagonal (in place for NumPy, a new array otherwise)."""
    if is_numpy_namespace(xp):
        np.fill_diagonal(M, 0)
        return M
    n = int(M.shape[0])
    return xp.where(xp.eye(n, dtype=xp.bool, device=device_of(M)), 0.0, M)


def contrastive_loss(F: Any, y: Any, *, margin: float = 0.8, alpha: float = 5.0, reduction: str = "mean"):
    """Pairwise contrastive loss over all pairs of a batch, and its gradient wrt the features.

    For features ``f_i`` (rows of ``F``) with labels ``y_i`` and squared distances
    ``D_ij = ‖f_i − f_j‖²``,

        L_C = (1/P) [ Σ_{i<j, y_i = y_j} D_ij + α Σ_{i<j, y_i ≠ y_j} max(µ − D_ij, 0) ],

    the loss of Yu, Li & Li (Sec. 4.1) with ``P = n(n−1)/2``, the number of pairs
    (``reduction="mean"``), or ``P = 1`` (``reduction="sum"``, the paper's literal sum).
    Dividing by the number of pairs keeps the scale (and a good learning rate) independent
    of the batch size.

    With ``W_ij = 1`` for same-label pairs, ``−α`` for different-label pairs inside the
    margin and 0 otherwise (``W_ii = 0``), the gradient is

        ∂L_C/∂F = (2/P) (diag(W 1) F − W F),

    computed with one n×n Gram matrix and one matrix product: O(n² d) time, O(n²) memory,
    no n×n×d tensor. The hinge has a kink at ``D_ij = µ``; there the derivative of
    ``max(µ − D, 0)`` is taken as 0.

    Parameters
    ----------
    F : array of shape (n_samples, n_features)
        Feature batch, n_samples >= 2 (any namespace; float32 stays float32).
    y : array_like of shape (n_samples,)
        Class labels (any dtype; NumPy or the namespace of ``F``).
    margin : float, default=0.8
        Margin µ on the squared distance of different-label pairs (paper: 0.8), >= 0.
    alpha : float, default=5.0
        Weight α of the different-label term (paper: 5 on MNIST, 1 on CIFAR-100), >= 0.
    reduction : {"mean", "sum"}, default="mean"
        Divide by the number of pairs n(n−1)/2, or not.

    Returns
    -------
    value : float
        The loss.
    dF : array of shape (n_samples, n_features)
        Gradient wrt ``F``, in the namespace, device and dtype of ``F``.

    Raises
    ------
    ValueError
        If ``F`` is not 2-D, has fewer than 2 rows or non-finite values, if ``y`` does not
        match, or a hyper-parameter is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import contrastive_loss
    >>> F = np.array([[0.0, 0.0], [0.1, 0.0], [0.5, 0.0]])
    >>> value, dF = contrastive_loss(F, [0, 0, 1], margin=0.8, alpha=1.0, reduction="sum")
    >>> round(value, 4)  # 0.01 + (0.8 - 0.25) + (0.8 - 0.16)
    1.2
    >>> dF.shape
    (3, 2)
    """
    xp = get_namespace(F)
    F = as_float_array(F, "F", xp=xp, ndim=2)
    margin = check_real(margin, "margin", low=0.0)
    alpha = check_real(alpha, "alpha", low=0.0)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")
    n = int(F.shape[0])
    if n < 2:
        raise ValueError(f"F must have at least 2 rows (pairs of samples), got {n}.")
    dev = device_of(F)
    same = _same_label_mask(y, n, xp, dev)
    dt = F.dtype
    sq = xp.sum(F * F, axis=1)[:, None]
    ones = xp.ones((n, 1), dtype=dt, device=dev)
    # D = sq 1ᵀ + 1 sqᵀ − 2 F Fᵀ as one product of (n, d+2) matrices.
    D = xp.concat([F, sq, ones], axis=1) @ xp.concat([-2.0 * F, ones, sq], axis=1).T
    # The product leaves rounding noise on the diagonal, which would leak into the same-label
    # sum. Off the diagonal a tiny negative D (cancellation) is harmless.
    D = _zero_diagonal(D, xp)
    S = xp.astype(same, dt)
    A = xp.astype(~same & (D < margin), dt)
    hinge = margin - D
    total = 0.5 * (_frobenius(S, D, xp) + alpha * _frobenius(A, hinge, xp))
    total = max(total, 0.0)
    A *= alpha
    W = _zero_diagonal(S - A, xp)
    scale = 2.0 / (n * (n - 1)) if reduction == "mean" else 1.0
    # W [F, 1] gives W F and the row sums W 1 in one product.
    WF1 = W @ xp.concat([F, ones], axis=1)
    d = int(F.shape[1])
    dF = WF1[:, d:] * F
    dF -= WF1[:, :d]
    dF *= 2.0 * scale
    return total * scale, dF


class UniformSampler:
    """Uniform distribution on the box ``[low, high]^d``; call as ``sampler(n, d, rng)``.

    Parameters
    ----------
    low, high : float
        Bounds of every coordinate, ``low < high``.
    """

    def __init__(self, low: float = -1.0, high: float = 1.0):
        self.low = check_real(low, "low")
        self.high = check_real(high, "high")
        if not self.low < self.high:
            raise ValueError(f"low must be smaller than high, got low={low!r}, high={high!r}.")

    def __call__(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` points of dimension ``d`` with generator ``rng`` (float64 NumPy array)."""
        return rng.uniform(self.low, self.high, size=(int(n), int(d)))

    def __repr__(self) -> str:
        return f"uniform_sampler(low={self.low}, high={self.high})"


def uniform_sampler(low: float = -1.0, high: float = 1.0) -> UniformSampler:
    """Reference sampler for the uniform distribution on ``[low, high]^d`` (default ``[−1, 1]^d``).

    Any callable ``sampler(n, d, rng)`` returning an ``(n, d)`` array (NumPy, or the
    namespace of the features) can replace it; ``rng`` is a ``numpy.random.Generator``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import uniform_sampler
    >>> Z = uniform_sampler()(1000, 2, np.random.default_rng(0))
    >>> Z.shape, bool(Z.min() >= -1 and Z.max() <= 1)
    ((1000, 2), True)
    """
    return UniformSampler(low, high)


_OPTIMIZERS = {"rmsprop": RMSprop, "adam": Adam, "sgd": SGD}


class WassersteinCritic(Module):
    """WGAN critic ``h: R^d → R`` estimating the Wasserstein-1 distance to a reference distribution.

    An MLP ``d → hidden… → 1`` whose parameters are clipped to ``[−c, c]`` after every
    update (Arjovsky et al., 2017), which keeps ``h`` K-Lipschitz for a fixed K. Each
    :meth:`critic_step` takes one step of its own optimizer to maximize

        L_W = E_{z∼𝒫}[h(z)] − E[h(f)]

    over a batch of features ``f`` and reference samples ``z``; the feature network then
    minimizes ``L_G = −E[h(f)]`` (:func:`generator_loss`). Alternate ``n_critic`` critic
    steps (:meth:`fit_steps`) with one step of the feature network.

    Parameters
    ----------
    n_features : int
        Feature dimension d.
    hidden : sequence of int, default=(64, 64)
        Hidden layer widths.
    activation : str or callable, default="relu"
        Hidden activation (see :class:`~spectral_ml.nn.MLP`).
    clip_value : float or None, default=0.01
        Weight-clipping bound c (None: no clipping).
    optimizer : {"rmsprop", "adam", "sgd"} or callable, default="rmsprop"
        The critic's optimizer, or a callable ``optimizer(params) -> Optimizer``.
    lr : float, default=1e-4
        Learning rate of a named optimizer (the paper uses RMSprop at 1e-4).
    n_critic : int, default=5
        Critic steps per feature-network step in :meth:`fit_steps`.
    sampler : callable, optional
        Reference sampler ``sampler(n, d, rng)``; default :func:`uniform_sampler` on
        ``[−1, 1]^d``.
    n_reference : int, optional
        Reference samples drawn per step; default: as many as features (the paper uses
        2000 on MNIST).
    random_state : None, int or numpy.random.Generator, optional
        Seed of the initialization and of the reference draws.
    xp, device, dtype : optional
        Namespace, device and dtype of the critic's parameters (default NumPy, float64).

    Attributes
    ----------
    net : MLP
        The critic network.
    optimizer : Optimizer
        Its optimizer.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import WassersteinCritic, generator_loss
    >>> critic = WassersteinCritic(2, hidden=(16,), random_state=0)
    >>> F = np.random.default_rng(1).normal(3.0, 0.1, size=(50, 2))
    >>> estimates = critic.fit_steps(F, n_steps=20)
    >>> value, dF = generator_loss(critic, F)
    >>> dF.shape
    (50, 2)
    """

    def __init__(
        self,
        n_features: int,
        hidden=(64, 64),
        *,
        activation: Any = "relu",
        clip_value: float | None = 0.01,
        optimizer: Any = "rmsprop",
        lr: float = 1e-4,
        n_critic: int = 5,
        sampler: Callable | None = None,
        n_reference: int | None = None,
        random_state: Any = None,
        xp=None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) or n_features < 1:
            raise ValueError(f"n_features must be a positive integer, got {n_features!r}.")
        self.n_features = int(n_features)
        try:
            hidden = [h for h in hidden]
        except TypeError:
            raise ValueError(f"hidden must be a sequence of positive integers, got {hidden!r}.") from None
        self.clip_value = None if clip_value is None else check_real(clip_value, "clip_value", low=0.0, low_open=True)
        if isinstance(n_critic, bool) or not isinstance(n_critic, (int, np.integer)) or n_critic < 1:
            raise ValueError(f"n_critic must be a positive integer, got {n_critic!r}.")
        self.n_critic = int(n_critic)
        if n_reference is not None and (
            isinstance(n_reference, bool) or not isinstance(n_reference, (int, np.integer)) or n_reference < 1
        ):
            raise ValueError(f"n_reference must be a positive integer or None, got {n_reference!r}.")
        self.n_reference = None if n_reference is None else int(n_reference)
        if sampler is None:
            sampler = uniform_sampler()
        if not callable(sampler):
            raise ValueError(f"sampler must be a callable sampler(n, d, rng), got {sampler!r}.")
        self.sampler = sampler
        self._rng = check_rng(random_state)
        try:
            self.net = MLP(
                [self.n_features, *hidden, 1],
                activation=activation,
                random_state=self._rng,
                xp=xp,
                device=device,
                dtype=dtype,
            )
        except ValueError as exc:
            if "sizes" in str(exc):
                raise ValueError(f"hidden must be a sequence of positive integers, got {hidden!r}.") from None
            raise
        params = self.net.parameters()
        if isinstance(optimizer, str):
            if optimizer not in _OPTIMIZERS:
                raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)} or a callable, got {optimizer!r}.")
            self.optimizer = _OPTIMIZERS[optimizer](params, lr=lr)
        elif callable(optimizer):
            self.optimizer = optimizer(params)
            if not isinstance(self.optimizer, Optimizer):
                raise ValueError("optimizer must return an Optimizer when called with the parameters.")
        else:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)} or a callable, got {optimizer!r}.")
        # The critic must start inside the clipped set, as after any update.
        self.clip_weights()

    def children(self) -> list:
        return [("net", self.net)]

    def forward(self, Z: Any) -> Any:
        """Critic values ``h(z)`` for the rows of ``Z``, shape ``(n,)``."""
        xp = get_namespace(Z)
        h = self.net.forward(Z)
        return xp.reshape(h, (-1,))

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        """Back-propagate a gradient of shape ``(n,)`` wrt the critic values of the last forward."""
        xp = get_namespace(grad_out)
        if grad_out.ndim != 1:
            raise ValueError(f"grad_out must be 1-D (one value per sample), got shape {tuple(grad_out.shape)}.")
        return self.net.backward(xp.reshape(grad_out, (-1, 1)), input_grad=input_grad, param_grad=param_grad)

    def clip_weights(self) -> None:
        """Clip every parameter to ``[−clip_value, clip_value]`` (no-op when ``clip_value`` is None)."""
        if self.clip_value is None:
            return
        c = self.clip_value
        for p in self.net.parameters():
            xp = get_namespace(p.data)
            p.data = xp.clip(p.data, -c, c)

    def _param_dtype(self):
        return self.net.parameters()[0].data.dtype

    def _check_features(self, features: Any, name: str):
        F = as_float_array(features, name, ndim=2)
        if int(F.shape[1]) != self.n_features:
            raise ValueError(f"{name} has {int(F.shape[1])} columns, the critic expects {self.n_features}.")
        if int(F.shape[0]) < 1:
            raise ValueError(f"{name} is empty.")
        return F

    def sample_reference(self, n: int, like: Any = None):
        """Draw ``n`` reference samples with the sampler, as an array like ``like``.

        Parameters
        ----------
        n : int
            Number of samples.
        like : array, optional
            Array whose namespace and device the samples take (default: the critic's). The
            samples take the critic's dtype.

        Returns
        -------
        array of shape (n, n_features)
        """
        if like is None:
            like = self.net.parameters()[0].data
        xp = get_namespace(like)
        Z = self.sampler(int(n), self.n_features, self._rng)
        if isinstance(Z, np.ndarray) or isinstance(Z, (list, tuple)):
            Z = from_numpy(np.asarray(Z), xp, device_of(like))
        if tuple(Z.shape) != (int(n), self.n_features):
            raise ValueError(
                f"sampler returned shape {tuple(Z.shape)}, expected {(int(n), self.n_features)}."
            )
        dt = self._param_dtype()
        return Z if Z.dtype == dt else get_namespace(Z).astype(Z, dt)

    def wasserstein_estimate(self, features: Any, reference_samples: Any = None) -> float:
        """``mean h(z) − mean h(f)``: the critic's (scaled) estimate of the Wasserstein-1 distance.

        Does not update the critic. ``reference_samples`` default: fresh draws from the
        sampler (``n_reference`` of them).
        """
        F = self._check_features(features, "features")
        Z = self._reference(F, reference_samples)
        xp = get_namespace(F)
        hz = self.forward(Z)
        hf = self.forward(F)
        return to_python_float(xp.mean(hz)) - to_python_float(xp.mean(hf))

    def _reference(self, F, reference_samples):
        if reference_samples is None:
            m = self.n_reference if self.n_reference is not None else int(F.shape[0])
            return self.sample_reference(m, F)
        return self._check_features(reference_samples, "reference_samples")

    def critic_step(self, features: Any, reference_samples: Any = None) -> float:
        """One optimizer step of the critic toward ``max L_W``, followed by weight clipping.

        Parameters
        ----------
        features : array of shape (n, n_features)
            Features of the current batch (treated as constants).
        reference_samples : array of shape (m, n_features), optional
            Samples of the reference distribution; default: ``n_reference`` fresh draws.

        Returns
        -------
        float
            ``L_W = mean h(z) − mean h(f)`` before the update.
        """
        F = self._check_features(features, "features")
        Z = self._reference(F, reference_samples)
        xp = get_namespace(F)
        dt = self._param_dtype()
        if F.dtype != dt:
            F = xp.astype(F, dt)
        if Z.dtype != dt:
            Z = xp.astype(Z, dt)
        m, n = int(Z.shape[0]), int(F.shape[0])
        dev = device_of(F)
        # One pass over the stacked batch: the critic has no batch statistics, so the two
        # halves do not interact.
        h = self.forward(xp.concat([Z, F], axis=0))
        estimate = to_python_float(xp.mean(h[:m])) - to_python_float(xp.mean(h[m:]))
        # Minimizing −L_W: dh = −1/m on the reference rows, +1/n on the feature rows.
        grad = xp.concat([xp.full((m,), -1.0 / m, dtype=dt, device=dev), xp.full((n,), 1.0 / n, dtype=dt, device=dev)])
        self.net.zero_grad()
        self.backward(grad, input_grad=False)
        self.optimizer.step()
        self.clip_weights()
        return estimate

    def fit_steps(self, features: Any, n_steps: int | None = None) -> list[float]:
        """Run ``n_steps`` (default ``n_critic``) critic steps on ``features``, fresh reference draws each.

        Returns
        -------
        list of float
            The ``L_W`` estimate of each step (before its update).
        """
        if n_steps is None:
            n_steps = self.n_critic
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
        return [self.critic_step(features) for _ in range(int(n_steps))]

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, clip_value={self.clip_value}, n_critic={self.n_critic}"


def generator_loss(critic: WassersteinCritic, F: Any):
    """WGAN generator loss ``L_G = −mean_i h(f_i)`` and its gradient wrt the features.

    Back-propagates through the critic without accumulating the critic's parameter
    gradients and without updating it.

    Parameters
    ----------
    critic : WassersteinCritic
        The (current) critic h.
    F : array of shape (n_samples, n_features)
        Feature batch.

    Returns
    -------
    value : float
        ``−mean h(F)``.
    dF : array of shape (n_samples, n_features)
        Gradient wrt ``F`` (namespace, device and dtype of ``F``).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import WassersteinCritic, generator_loss
    >>> critic = WassersteinCritic(2, hidden=(8,), random_state=0)
    >>> value, dF = generator_loss(critic, np.zeros((4, 2)))
    >>> dF.shape
    (4, 2)
    """
    if not isinstance(critic, WassersteinCritic):
        raise ValueError(f"critic must be a WassersteinCritic, got {type(critic).__name__}.")
    xp = get_namespace(F)
    F = critic._check_features(F, "F")
    n = int(F.shape[0])
    h = critic.forward(F)
    value = -to_python_float(xp.mean(h))
    grad = xp.full((n,), -1.0 / n, dtype=h.dtype, device=device_of(F))
    dF = critic.backward(grad, input_grad=True, param_grad=False)
    if dF.dtype != F.dtype:
        dF = xp.astype(dF, F.dtype)
    return value, dF
