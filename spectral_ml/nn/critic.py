"""The WGAN critic and the generator loss of the feature-learning objective.

The feature network is pulled toward a reference distribution 𝒫 by the WGAN generator loss
``L_G = −E[h(f(I))]`` (:func:`generator_loss`) through a critic ``h``
(:class:`WassersteinCritic`), trained in alternation with the network to maximize
``L_W = E_{z∼𝒫}[h(z)] − E[h(f(I))]`` (Yu, Li & Li, Sec. 3.3; Arjovsky, Chintala & Bottou,
2017). The critic is itself a network of this package, with its own optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._backend import cast, device_of, get_namespace, match_namespace, to_python_float
from .._validation import as_float_array, check_generator, check_int, check_real
from ..evaluation.wasserstein import uniform_box_sampler
from .layers import MLP, check_widths
from .module import Module
from .optim import make_optimizer

__all__ = ["WassersteinCritic", "generator_loss"]


class WassersteinCritic(Module):
    r"""WGAN critic estimating the Wasserstein-1 distance to a reference distribution.

    The critic :math:`h:\mathbb R^d\to\mathbb R` is an MLP ``d → hidden… → 1`` whose
    parameters are clipped to :math:`[-c, c]` after every update (Arjovsky et al., 2017),
    which keeps :math:`h` K-Lipschitz for a fixed K. Each :meth:`critic_step` takes one step
    of its own optimizer to maximize

    .. math::

        L_W = \mathbb E_{z\sim\mathcal P}[h(z)] - \mathbb E[h(f)]

    over a batch of features :math:`f` and reference samples :math:`z`; the feature network
    then minimizes :math:`L_G = -\mathbb E[h(f)]` (:func:`generator_loss`). Alternate
    ``n_critic`` critic steps (:meth:`fit_steps`) with one step of the feature network.

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
        Reference sampler ``sampler(n, d, rng)`` returning an ``(n, d)`` array (NumPy, or
        the namespace of the features) from a ``numpy.random.Generator``; default: uniform
        on ``[−1, 1]^d`` (:func:`~spectral_ml.evaluation.uniform_box_sampler`).
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
        self.n_features = check_int(n_features, "n_features", low=1)
        hidden = check_widths(hidden, "hidden")
        self.clip_value = None if clip_value is None else check_real(clip_value, "clip_value", low=0.0, low_open=True)
        self.n_critic = check_int(n_critic, "n_critic", low=1)
        self.n_reference = None if n_reference is None else check_int(n_reference, "n_reference", low=1)
        if sampler is None:
            sampler = uniform_box_sampler()
        if not callable(sampler):
            raise ValueError(f"sampler must be a callable sampler(n, d, rng), got {sampler!r}.")
        self.sampler = sampler
        self._rng = check_generator(random_state)
        self.net = MLP(
            [self.n_features, *hidden, 1],
            activation=activation,
            random_state=self._rng,
            xp=xp,
            device=device,
            dtype=dtype,
        )
        self.optimizer = make_optimizer(optimizer, self.net.parameters(), lr)
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

    def sample_reference(self, n: int, like: Any = None) -> Any:
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
        Z = self.sampler(int(n), self.n_features, self._rng)
        Z = match_namespace(Z, like)
        if tuple(Z.shape) != (int(n), self.n_features):
            raise ValueError(f"sampler returned shape {tuple(Z.shape)}, expected {(int(n), self.n_features)}.")
        return cast(Z, self._param_dtype())

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
        F, Z = cast(F, dt, xp=xp), cast(Z, dt, xp=xp)
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
        return [self.critic_step(features) for _ in range(check_int(n_steps, "n_steps", low=1))]

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, clip_value={self.clip_value}, n_critic={self.n_critic}"


def generator_loss(critic: WassersteinCritic, F: Any) -> tuple[Any, Any]:
    r"""WGAN generator loss and its gradient wrt the features.

    The loss is :math:`L_G = -\frac1n\sum_i h(f_i)` for the critic :math:`h`. It
    back-propagates through the critic without accumulating the critic's parameter
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
        :math:`L_G`.
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
    return value, cast(dF, F.dtype, xp=xp)
