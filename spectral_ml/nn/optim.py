"""First-order optimizers and a step learning-rate schedule.

An optimizer holds a list of :class:`~spectral_ml.nn.module.Parameter` objects and, on
:meth:`Optimizer.step`, reads each parameter's accumulated ``grad`` and updates ``data``.
Updates are in place (``p.data -= update``) for array libraries with mutable arrays, so
anything holding a reference to a parameter array sees the new values; for immutable arrays
the augmented assignment rebinds ``p.data`` instead. Parameters whose ``grad`` is ``None``
or whose ``requires_grad`` is False are skipped.

The update rules follow the usual conventions (those of PyTorch), so hand-computed first
steps and published hyper-parameters carry over.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._backend import get_namespace, ufunc_module
from .._validation import check_int, check_real
from .module import Parameter, as_parameter_list

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "StepLR", "OPTIMIZERS", "make_optimizer"]


def _scratch(state: dict, like: Any, lib) -> Any:
    """A per-parameter work array of library ``lib``, allocated once."""
    tmp = state.get("_scratch")
    if tmp is None or tmp.shape != like.shape or tmp.dtype != like.dtype:
        tmp = state["_scratch"] = lib.empty_like(like)
    return tmp


class Optimizer:
    """Base class: parameter bookkeeping, learning rate and ``zero_grad``.

    Parameters
    ----------
    params : Module or iterable of Parameter
        Parameters to optimize.
    lr : float
        Learning rate (> 0). Schedulers change it through the :attr:`lr` attribute.

    Attributes
    ----------
    params : list of Parameter
        The parameters, in the given order.
    state : list of dict
        Per-parameter state (momentum buffers, moment estimates), aligned with ``params``.
    """

    def __init__(self, params: Any, lr: float):
        self.params: list[Parameter] = as_parameter_list(params, "params")
        if not self.params:
            raise ValueError("params is empty: nothing to optimize.")
        self.lr = lr
        self.state: list[dict] = [{} for _ in self.params]
        self.n_steps = 0

    @property
    def lr(self) -> float:
        """Current learning rate."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_real(value, "lr", low=0.0, low_open=True)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters."""
        for p in self.params:
            p.zero_grad(set_to_none)

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self.n_steps += 1
        for p, state in zip(self.params, self.state, strict=False):
            if p.grad is None or not p.requires_grad:
                continue
            g = p.grad
            if g.dtype != p.data.dtype:
                g = get_namespace(g).astype(g, p.data.dtype)
            self._update(p, g, state)

    def _update(self, p: Parameter, g: Any, state: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_params={len(self.params)}, lr={self.lr})"


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    With :math:`g = \mathrm{grad} + \mathrm{weight\_decay}\cdot p`: without momentum
    :math:`p \leftarrow p - \mathrm{lr}\cdot g`; with momentum the buffer
    :math:`b \leftarrow \mathrm{momentum}\cdot b + g` (:math:`b = g` at the first step) and
    :math:`p \leftarrow p - \mathrm{lr}\cdot b`, or
    :math:`p \leftarrow p - \mathrm{lr}\cdot(g + \mathrm{momentum}\cdot b)` with
    ``nesterov=True``.

    Parameters
    ----------
    params : Module or iterable of Parameter
        Parameters to optimize.
    lr : float
        Learning rate, > 0.
    momentum : float, default=0.0
        Momentum factor in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty coefficient, >= 0.
    nesterov : bool, default=False
        Nesterov momentum (needs ``momentum > 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import Parameter, SGD
    >>> p = Parameter(np.array([1.0, -2.0]))
    >>> p.grad = np.array([0.5, 0.5])
    >>> SGD([p], lr=0.1).step()
    >>> p.data
    array([ 0.95, -2.05])
    """

    def __init__(
        self, params: Any, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False
    ):
        super().__init__(params, lr)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", low=0.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"nesterov must be a bool, got {nesterov!r}.")
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0.")
        self.nesterov = bool(nesterov)

    def _update(self, p, g, state):
        xp = get_namespace(p.data)
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = xp.asarray(g, copy=True)
            else:
                buf *= self.momentum
                buf += g
            state["momentum_buffer"] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        p.data -= self.lr * g


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square.

    :math:`v \leftarrow \alpha v + (1 - \alpha)g^2` (:math:`v` starts at 0) and
    :math:`p \leftarrow p - \mathrm{lr}\cdot g/(\sqrt v + \epsilon)`, with
    :math:`g = \mathrm{grad} + \mathrm{weight\_decay}\cdot p`.
    The paper trains its MNIST networks with RMSprop at ``lr = 1e-4``; WGAN critics with
    weight clipping are usually trained with it too.

    Parameters
    ----------
    params : Module or iterable of Parameter
        Parameters to optimize.
    lr : float, default=1e-4
        Learning rate, > 0.
    alpha : float, default=0.99
        Smoothing constant in [0, 1).
    eps : float, default=1e-8
        Added to the denominator, > 0.
    weight_decay : float, default=0.0
        L2 penalty coefficient, >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import Parameter, RMSprop
    >>> p = Parameter(np.array([1.0]))
    >>> p.grad = np.array([2.0])
    >>> RMSprop([p], lr=0.01, alpha=0.99).step()
    >>> np.round(p.data, 6)  # 1 - 0.01 * 2 / sqrt(0.01 * 4)
    array([0.9])
    """

    def __init__(
        self, params: Any, lr: float = 1e-4, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0
    ):
        super().__init__(params, lr)
        self.alpha = check_real(alpha, "alpha", low=0.0, high=1.0, high_open=True)
        self.eps = check_real(eps, "eps", low=0.0, low_open=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", low=0.0)

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        lib = ufunc_module(get_namespace(p.data))
        if lib is not None:
            self._update_in_place(lib, p, g, state)
            return
        xp = get_namespace(p.data)
        sq = state.get("square_avg")
        if sq is None:
            sq = (1.0 - self.alpha) * (g * g)
        else:
            sq *= self.alpha
            sq += (1.0 - self.alpha) * (g * g)
        state["square_avg"] = sq
        denom = xp.sqrt(sq)
        denom += self.eps
        p.data -= self.lr * (g / denom)

    def _update_in_place(self, lib, p, g, state):
        # Same arithmetic as the generic path, without temporaries: one scratch array.
        sq = state.get("square_avg")
        tmp = _scratch(state, p.data, lib)
        lib.multiply(g, g, out=tmp)
        if sq is None:
            tmp *= 1.0 - self.alpha
            sq = state["square_avg"] = tmp.copy()
        else:
            tmp *= 1.0 - self.alpha
            sq *= self.alpha
            sq += tmp
        lib.sqrt(sq, out=tmp)
        tmp += self.eps
        lib.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p.data -= tmp


class Adam(Optimizer):
    r"""Adam with bias-corrected moment estimates (Kingma & Ba, 2015).

    :math:`m \leftarrow \beta_1 m + (1 - \beta_1)g`,
    :math:`v \leftarrow \beta_2 v + (1 - \beta_2)g^2` and, at step :math:`t`,

    .. math::

        p \leftarrow p - \frac{\mathrm{lr}}{1 - \beta_1^t}\cdot
            \frac{m}{\sqrt v/\sqrt{1 - \beta_2^t} + \epsilon},

    with :math:`g = \mathrm{grad} + \mathrm{weight\_decay}\cdot p` (L2 penalty, not decoupled
    decay).

    Parameters
    ----------
    params : Module or iterable of Parameter
        Parameters to optimize.
    lr : float, default=1e-3
        Learning rate, > 0.
    betas : tuple of float, default=(0.9, 0.999)
        Decay rates of the first and second moment estimates, each in [0, 1).
    eps : float, default=1e-8
        Added to the denominator, > 0.
    weight_decay : float, default=0.0
        L2 penalty coefficient, >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import Adam, Parameter
    >>> p = Parameter(np.array([1.0, 1.0]))
    >>> p.grad = np.array([3.0, -0.1])
    >>> Adam([p], lr=0.1).step()   # the first step moves each entry by about lr
    >>> np.round(p.data, 6)
    array([0.9, 1.1])
    """

    def __init__(
        self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0
    ):
        super().__init__(params, lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}.") from None
        self.betas = (
            check_real(b1, "betas[0]", low=0.0, high=1.0, high_open=True),
            check_real(b2, "betas[1]", low=0.0, high=1.0, high_open=True),
        )
        self.eps = check_real(eps, "eps", low=0.0, low_open=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", low=0.0)

    def _update(self, p, g, state):
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        t = state.get("step", 0) + 1
        state["step"] = t
        step_size = self.lr / (1.0 - b1**t)
        inv_bc2 = 1.0 / math.sqrt(1.0 - b2**t)
        lib = ufunc_module(get_namespace(p.data))
        if lib is not None:
            self._update_in_place(lib, p, g, state, step_size, inv_bc2)
            return
        xp = get_namespace(p.data)
        m = state.get("exp_avg")
        v = state.get("exp_avg_sq")
        if m is None:
            m = (1.0 - b1) * g
            v = (1.0 - b2) * (g * g)
        else:
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
        state["exp_avg"], state["exp_avg_sq"] = m, v
        denom = xp.sqrt(v)
        denom *= inv_bc2
        denom += self.eps
        p.data -= step_size * (m / denom)

    def _update_in_place(self, lib, p, g, state, step_size, inv_bc2):
        # Same arithmetic as the generic path, without temporaries: one scratch array.
        b1, b2 = self.betas
        m = state.get("exp_avg")
        v = state.get("exp_avg_sq")
        if m is None:
            m = state["exp_avg"] = lib.zeros_like(p.data)
            v = state["exp_avg_sq"] = lib.zeros_like(p.data)
        tmp = _scratch(state, p.data, lib)
        m *= b1
        lib.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        lib.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        lib.sqrt(v, out=tmp)
        tmp *= inv_bc2
        tmp += self.eps
        lib.divide(m, tmp, out=tmp)
        tmp *= step_size
        p.data -= tmp


class StepLR:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    After ``k`` calls of :meth:`step`, ``optimizer.lr = base_lr · gamma ** (k // step_size)``
    (the CIFAR-10 hashing set-up of the paper divides by 10 every 150 epochs).

    Parameters
    ----------
    optimizer : Optimizer
        Optimizer whose ``lr`` is scheduled; its current ``lr`` is the base rate.
    step_size : int
        Period in epochs, >= 1.
    gamma : float, default=0.1
        Multiplicative factor, > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import SGD, Parameter, StepLR
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> rates = []
    >>> for _ in range(5):
    ...     sched.step()
    ...     rates.append(opt.lr)
    >>> rates
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be an Optimizer, got {type(optimizer).__name__}.")
        self.optimizer = optimizer
        self.step_size = check_int(step_size, "step_size", low=1)
        self.gamma = check_real(gamma, "gamma", low=0.0, low_open=True)
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** (self.last_epoch // self.step_size)

    def get_last_lr(self) -> float:
        """The learning rate set by the last :meth:`step` (the base rate before any)."""
        return self.optimizer.lr


#: The optimizers selected by name: ``optimizer`` and ``wgan_optimizer`` of
#: :class:`~spectral_ml.nn.DPPFeatureLearner`, ``optimizer`` of
#: :class:`~spectral_ml.nn.WassersteinCritic`.
OPTIMIZERS = {"rmsprop": RMSprop, "adam": Adam, "sgd": SGD}


def make_optimizer(optimizer: Any, params: Any, lr: float, *, name: str = "optimizer") -> Optimizer:
    """An optimizer of ``params``, chosen by name or built by a callable.

    Parameters
    ----------
    optimizer : {"rmsprop", "adam", "sgd"} or callable
        A key of :data:`OPTIMIZERS` (built with learning rate ``lr`` and its other defaults),
        or a callable ``optimizer(params) -> Optimizer``.
    params : Module or iterable of Parameter
        Parameters to optimize.
    lr : float
        Learning rate of a named optimizer.
    name : str, default="optimizer"
        Name of the argument in error messages.

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        For an unknown name, or a callable that does not return an :class:`Optimizer`.

    Examples
    --------
    >>> from spectral_ml.nn import Linear, make_optimizer
    >>> make_optimizer("adam", Linear(3, 2, random_state=0), lr=1e-3)
    Adam(n_params=2, lr=0.001)
    """
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"{name} must be one of {sorted(OPTIMIZERS)} or a callable, got {optimizer!r}.")
        return OPTIMIZERS[optimizer](params, lr=lr)
    if callable(optimizer):
        opt = optimizer(params)
        if not isinstance(opt, Optimizer):
            raise ValueError(f"{name} must return an Optimizer when called with the parameters.")
        return opt
    raise ValueError(f"{name} must be one of {sorted(OPTIMIZERS)} or a callable, got {optimizer!r}.")
