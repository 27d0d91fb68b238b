"""Layers with hand-written backward passes: affine maps, activations, batch normalization.

Every layer follows the :class:`~spectral_ml.nn.module.Module` protocol: ``forward(X)`` on a
2-D batch ``X`` of shape ``(n_samples, n_features)`` keeps what the backward pass needs,
``backward(grad_out)`` returns the gradient wrt ``X`` and accumulates parameter gradients.
The formulas are written as whole-batch matrix products, never as loops over samples.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

import numpy as np

from .._backend import from_numpy, get_namespace, masked
from .._validation import check_generator, check_int, check_real
from .module import Module, Parameter, default_namespace, dtype_name

__all__ = [
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "BatchNorm1d",
    "Sequential",
    "MLP",
]


def check_widths(widths: Any, name: str, *, min_length: int = 0) -> tuple:
    """Layer widths, an int or a sequence of positive ints, as a tuple of ints.

    Raises ``ValueError`` naming ``name`` for anything else or fewer than ``min_length``
    widths.
    """
    if isinstance(widths, Integral) and not isinstance(widths, bool):
        widths = (widths,)
    try:
        sizes = tuple(widths)
    except TypeError:
        sizes = None
    if (
        sizes is None
        or len(sizes) < min_length
        or any(isinstance(h, bool) or not isinstance(h, Integral) or h < 1 for h in sizes)
    ):
        least = f"at least {min_length} " if min_length else ""
        raise ValueError(f"{name} must be a sequence of {least}positive integers, got {widths!r}.")
    return tuple(int(h) for h in sizes)


def _check_batch(X: Any, n_features: int, name: str = "X") -> None:
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got shape {tuple(X.shape)}.")
    if int(X.shape[1]) != n_features:
        raise ValueError(f"{name} has {int(X.shape[1])} features, expected {n_features}.")


def _check_grad(grad_out: Any, like: Any, name: str = "grad_out") -> None:
    if tuple(grad_out.shape) != tuple(like.shape):
        raise ValueError(
            f"{name} must have the shape of the last output {tuple(like.shape)}, got {tuple(grad_out.shape)}."
        )


def _cached(module: Module, attr: str):
    value = getattr(module, attr, None)
    if value is None:
        raise RuntimeError(f"{type(module).__name__}.backward called before forward.")
    return value


class Linear(Module):
    """Affine layer ``Y = X Wᵀ + b``.

    Parameters
    ----------
    in_features, out_features : int
        Input and output dimensions.
    init : {"he", "glorot"}, default="he"
        Weight initialization: "he" draws N(0, 2 / in_features) (suited to ReLU layers),
        "glorot" draws U(-a, a) with a = sqrt(6 / (in_features + out_features)) (suited to
        tanh and sigmoid layers). Biases start at zero.
    bias : bool, default=True
        Whether to add a bias.
    random_state : None, int or numpy.random.Generator, optional
        Seed of the initialization (drawn with NumPy, whatever the backend, so a seed gives
        the same network on every backend).
    xp : module, optional
        Array namespace of the parameters (default NumPy).
    device : optional
        Device of the parameters.
    dtype : {"float64", "float32"} or dtype, optional
        Parameter dtype (default float64). Inputs of another dtype are cast to it.

    Attributes
    ----------
    weight : Parameter
        Shape ``(out_features, in_features)``.
    bias : Parameter or None
        Shape ``(out_features,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import Linear
    >>> layer = Linear(3, 2, random_state=0)
    >>> X = np.ones((5, 3))
    >>> Y = layer.forward(X)
    >>> dX = layer.backward(np.ones_like(Y))
    >>> Y.shape, dX.shape, layer.weight.grad.shape
    ((5, 2), (5, 3), (2, 3))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: str = "he",
        bias: bool = True,
        random_state: Any = None,
        xp=None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", low=1)
        self.out_features = check_int(out_features, "out_features", low=1)
        if init not in ("he", "glorot"):
            raise ValueError(f"init must be 'he' or 'glorot', got {init!r}.")
        self.init = init
        rng = check_generator(random_state)
        xp = default_namespace(xp)
        dt = dtype_name(dtype)
        shape = (self.out_features, self.in_features)
        if init == "he":
            W = rng.standard_normal(shape) * math.sqrt(2.0 / self.in_features)
        else:
            a = math.sqrt(6.0 / (self.in_features + self.out_features))
            W = rng.uniform(-a, a, size=shape)
        self.weight = Parameter(from_numpy(W.astype(dt), xp, device))
        if bias:
            self.bias = Parameter(from_numpy(np.zeros(self.out_features, dtype=dt), xp, device))
            self._param_names = ("weight", "bias")
        else:
            self.bias = None  # type: ignore[assignment]  # no bias: the attribute says so
            self._param_names = ("weight",)
        self._X = None

    def forward(self, X: Any) -> Any:
        """Return ``X Wᵀ + b`` for a batch ``X`` of shape ``(n, in_features)``."""
        W = self.weight.data
        xp = get_namespace(X, W)
        _check_batch(X, self.in_features)
        if X.dtype != W.dtype:
            X = xp.astype(X, W.dtype)
        self._X = X
        Y = X @ W.T
        if self.bias is not None:
            Y += self.bias.data
        return Y

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        """Gradient wrt the input, ``G W``; accumulates ``Gᵀ X`` and the column sums of ``G``."""
        X = _cached(self, "_X")
        W = self.weight.data
        xp = get_namespace(grad_out, W)
        if grad_out.ndim != 2 or tuple(grad_out.shape) != (int(X.shape[0]), self.out_features):
            raise ValueError(
                f"grad_out must have shape {(int(X.shape[0]), self.out_features)}, got {tuple(grad_out.shape)}."
            )
        G = grad_out if grad_out.dtype == W.dtype else xp.astype(grad_out, W.dtype)
        if param_grad:
            if self.weight.requires_grad:
                self.weight.accumulate(G.T @ X)
            if self.bias is not None and self.bias.requires_grad:
                self.bias.accumulate(xp.sum(G, axis=0))
        return G @ W if input_grad else None

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class _Activation(Module):
    """Element-wise activation without parameters."""

    def _grad_check(self, grad_out, like):
        if tuple(grad_out.shape) != tuple(like.shape):
            _check_grad(grad_out, like)


class ReLU(_Activation):
    """Rectified linear unit ``max(x, 0)`` (derivative taken as 0 at 0).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import ReLU
    >>> ReLU().forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    """

    def forward(self, X: Any) -> Any:
        """Return ``max(X, 0)`` element-wise."""
        self._mask = X > 0
        return get_namespace(X).clip(X, min=0.0)

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        """Pass ``grad_out`` where the input was positive, zero elsewhere."""
        mask = _cached(self, "_mask")
        if not input_grad:
            return None
        self._grad_check(grad_out, mask)
        return masked(grad_out, mask)


class LeakyReLU(_Activation):
    """Leaky rectifier ``x`` for ``x > 0``, ``negative_slope · x`` otherwise.

    Parameters
    ----------
    negative_slope : float, default=0.01
        Slope for negative inputs (finite, non-negative).
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        negative_slope = check_real(negative_slope, "negative_slope", low=0.0)
        self.negative_slope = float(negative_slope)

    def forward(self, X: Any) -> Any:
        """Return ``X`` where positive and ``negative_slope · X`` elsewhere."""
        xp = get_namespace(X)
        mask = X > 0
        dt = X.dtype if xp.isdtype(X.dtype, "real floating") else xp.float64
        # The local slope (1 or negative_slope) serves both passes: one multiply each.
        slope = xp.astype(mask, dt)
        slope *= 1.0 - self.negative_slope
        slope += self.negative_slope
        self._slope = slope
        return X * slope

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        """Multiply ``grad_out`` by 1 or ``negative_slope``."""
        slope = _cached(self, "_slope")
        if not input_grad:
            return None
        self._grad_check(grad_out, slope)
        return grad_out * slope

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(_Activation):
    """Hyperbolic tangent; features in (-1, 1)."""

    def forward(self, X: Any) -> Any:
        """Return ``tanh(X)``."""
        xp = get_namespace(X)
        Y = xp.tanh(X)
        self._Y = Y
        return Y

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        """Multiply ``grad_out`` by ``1 - tanh(X)²``."""
        Y = _cached(self, "_Y")
        if not input_grad:
            return None
        self._grad_check(grad_out, Y)
        return grad_out * (1.0 - Y * Y)


class Sigmoid(_Activation):
    """Logistic function ``1 / (1 + exp(-x))``, evaluated without overflow."""

    def forward(self, X: Any) -> Any:
        """Return ``1 / (1 + exp(-X))``."""
        xp = get_namespace(X)
        # exp of a non-positive argument never overflows; both branches share it.
        e = xp.exp(-xp.abs(X))
        Y = xp.where(X >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        self._Y = Y
        return Y

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        """Multiply ``grad_out`` by ``σ(X)(1 - σ(X))``."""
        Y = _cached(self, "_Y")
        if not input_grad:
            return None
        self._grad_check(grad_out, Y)
        return grad_out * (Y * (1.0 - Y))


class BatchNorm1d(Module):
    r"""Batch normalization over the sample axis (Ioffe & Szegedy, 2015).

    In training mode each feature is standardized with the batch mean and the biased batch
    variance, :math:`\hat x = (x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`, then scaled and
    shifted, :math:`y = \gamma\hat x + \beta`; the running statistics move toward the batch
    statistics, :math:`r \leftarrow (1 - \mathrm{momentum})\,r + \mathrm{momentum}\cdot s`,
    with the unbiased variance (factor :math:`n/(n - 1)`) for the running variance. In
    evaluation mode the running statistics replace the batch statistics, so the layer is a
    fixed affine map.

    Parameters
    ----------
    num_features : int
        Number of features.
    momentum : float, default=0.1
        Weight of the new batch statistics in the running averages, in (0, 1].
    eps : float, default=1e-5
        Added to the variance before the square root.
    affine : bool, default=True
        Learn the scale ``weight`` (γ, starts at 1) and shift ``bias`` (β, starts at 0).
    xp, device, dtype : optional
        Namespace, device and dtype of parameters and running statistics (default NumPy,
        float64).

    Attributes
    ----------
    running_mean, running_var : array of shape (num_features,)
        Running statistics (buffers: saved by ``state_dict``, not trained).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import BatchNorm1d
    >>> bn = BatchNorm1d(2)
    >>> Y = bn.forward(np.array([[0.0, 1.0], [2.0, 5.0]]))
    >>> np.round(Y, 3)
    array([[-1., -1.],
           [ 1.,  1.]])
    """

    _buffer_names = ("running_mean", "running_var")

    def __init__(
        self,
        num_features: int,
        momentum: float = 0.1,
        eps: float = 1e-5,
        *,
        affine: bool = True,
        xp=None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.num_features = check_int(num_features, "num_features", low=1)
        momentum = check_real(momentum, "momentum", low=0.0, high=1.0, low_open=True)
        eps = check_real(eps, "eps", low=0.0, low_open=True)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.affine = bool(affine)
        xp = default_namespace(xp)
        dt = dtype_name(dtype)
        d = self.num_features
        if self.affine:
            self.weight = Parameter(from_numpy(np.ones(d, dtype=dt), xp, device))
            self.bias = Parameter(from_numpy(np.zeros(d, dtype=dt), xp, device))
            self._param_names = ("weight", "bias")
        else:
            self.weight = None  # type: ignore[assignment]  # not affine: no parameters
            self.bias = None  # type: ignore[assignment]  # not affine: no parameters
            self._param_names = ()
        self.running_mean = from_numpy(np.zeros(d, dtype=dt), xp, device)
        self.running_var = from_numpy(np.ones(d, dtype=dt), xp, device)
        self._xhat = None

    def forward(self, X: Any) -> Any:
        """Normalize ``X`` with batch statistics (training) or running statistics (evaluation)."""
        xp = get_namespace(X, self.running_mean)
        _check_batch(X, self.num_features)
        if X.dtype != self.running_mean.dtype:
            X = xp.astype(X, self.running_mean.dtype)
        n = int(X.shape[0])
        if self.training:
            if n < 2:
                raise ValueError("X must have at least 2 samples for batch normalization in training mode.")
            mean = xp.mean(X, axis=0)
            Xc = X - mean
            var = xp.mean(Xc * Xc, axis=0)
            inv_std = 1.0 / xp.sqrt(var + self.eps)
            m = self.momentum
            self.running_mean = (1.0 - m) * self.running_mean + m * mean
            self.running_var = (1.0 - m) * self.running_var + (m * n / (n - 1)) * var
            xhat = Xc * inv_std
        else:
            inv_std = 1.0 / xp.sqrt(self.running_var + self.eps)
            xhat = (X - self.running_mean) * inv_std
        self._xhat = xhat
        self._inv_std = inv_std
        self._batch_stats = self.training
        if not self.affine:
            return xhat
        Y = xhat * self.weight.data
        Y += self.bias.data
        return Y

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        r"""Gradient wrt the input, through the batch statistics in training mode.

        With :math:`g` = ``grad_out``, :math:`g_\beta = \sum_n g` and
        :math:`g_\gamma = \sum_n g\circ\hat x`, training mode gives

        .. math::

            dX = \frac{\gamma}{n\sqrt{\sigma_B^2 + \epsilon}}\circ
                 \bigl(ng - g_\beta - \hat x\circ g_\gamma\bigr);

        evaluation mode gives :math:`dX = \gamma g/\sqrt{r_{\mathrm{var}} + \epsilon}`.
        """
        xhat = _cached(self, "_xhat")
        xp = get_namespace(grad_out, xhat)
        _check_grad(grad_out, xhat)
        G = grad_out if grad_out.dtype == xhat.dtype else xp.astype(grad_out, xhat.dtype)
        need_sums = self._batch_stats and input_grad
        g_beta = xp.sum(G, axis=0) if (need_sums or (param_grad and self.affine)) else None
        g_gamma = xp.sum(G * xhat, axis=0) if (need_sums or (param_grad and self.affine)) else None
        if param_grad and self.affine:
            if self.weight.requires_grad:
                self.weight.accumulate(g_gamma)
            if self.bias.requires_grad:
                self.bias.accumulate(g_beta)
        if not input_grad:
            return None
        scale = self._inv_std if not self.affine else self._inv_std * self.weight.data
        if not self._batch_stats:
            return G * scale
        n = int(G.shape[0])
        # Σ_n γg = γ gβ and Σ_n γg∘x̂ = γ gγ: the sums above serve both the parameters and dX.
        return (G - (g_beta + xhat * g_gamma) / n) * scale

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}, affine={self.affine}"


class Sequential(Module):
    """Chain of modules applied in order; backward runs them in reverse.

    Parameters
    ----------
    *layers : Module
        The modules, first applied first.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import Linear, ReLU, Sequential
    >>> net = Sequential(Linear(4, 8, random_state=0), ReLU(), Linear(8, 2, random_state=1))
    >>> Y = net.forward(np.zeros((3, 4)))
    >>> net.backward(np.ones_like(Y), input_grad=False) is None
    True
    >>> len(net.parameters())
    4
    """

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ValueError(f"layers[{i}] must be a Module, got {type(layer).__name__}.")
        self.layers = list(layers)

    def children(self) -> list:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end; returns ``self``."""
        if not isinstance(layer, Module):
            raise ValueError(f"layer must be a Module, got {type(layer).__name__}.")
        self.layers.append(layer)
        return self

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def forward(self, X: Any) -> Any:
        """Apply the layers in order."""
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        """Back-propagate through the layers in reverse order.

        With ``input_grad=False`` the first layer skips its input gradient (for a first
        :class:`Linear` layer that saves a matrix product as large as its forward pass).
        """
        G = grad_out
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            G = self.layers[i].backward(G, input_grad=input_grad or i > 0, param_grad=param_grad)
        return G


ACTIVATIONS = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
}


def _make_activation(activation: Any, name: str) -> Module:
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]()
        except KeyError:
            raise ValueError(
                f"{name} must be one of {sorted(ACTIVATIONS)} or a callable returning a Module, got {activation!r}."
            ) from None
    if callable(activation):
        layer = activation()
        if isinstance(layer, Module):
            return layer
    raise ValueError(
        f"{name} must be one of {sorted(ACTIVATIONS)} or a callable returning a Module, got {activation!r}."
    )


class MLP(Sequential):
    """Multi-layer perceptron: ``Linear → [BatchNorm1d] → activation`` blocks, then a final ``Linear``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first: ``[784, 200, 2]`` builds 784 → 200 → 2.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"} or callable, default="relu"
        Hidden activation (a callable must return a new :class:`Module`).
    batch_norm : bool, default=False
        Insert :class:`BatchNorm1d` after every hidden ``Linear`` layer.
    final_activation : str or callable, optional
        Activation applied to the output (for example "tanh" to keep features in (-1, 1)).
    init : {"he", "glorot"}, optional
        Weight initialization; default "he" for (leaky) ReLU, "glorot" otherwise.
    bias : bool, default=True
        Biases in the ``Linear`` layers.
    random_state : None, int or numpy.random.Generator, optional
        Seed of the initialization.
    xp, device, dtype : optional
        Namespace, device and dtype of the parameters (default NumPy, float64).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import MLP
    >>> net = MLP([784, 200, 2], random_state=0, dtype="float32")
    >>> net
    MLP(
      (0): Linear(784, 200, bias=True)
      (1): ReLU()
      (2): Linear(200, 2, bias=True)
    )
    >>> net.forward(np.zeros((5, 784), dtype=np.float32)).dtype
    dtype('float32')
    """

    def __init__(
        self,
        sizes,
        activation: Any = "relu",
        batch_norm: bool = False,
        *,
        final_activation: Any = None,
        init: str | None = None,
        bias: bool = True,
        random_state: Any = None,
        xp=None,
        device=None,
        dtype=None,
    ):
        sizes = list(check_widths(sizes, "sizes", min_length=2))
        if init is None:
            init = "he" if activation in ("relu", "leaky_relu") else "glorot"
        rng = check_generator(random_state)
        layers: list[Module] = []
        for i in range(len(sizes) - 1):
            layers.append(
                Linear(
                    sizes[i], sizes[i + 1], init=init, bias=bias, random_state=rng, xp=xp, device=device, dtype=dtype
                )
            )
            if i < len(sizes) - 2:
                if batch_norm:
                    layers.append(BatchNorm1d(sizes[i + 1], xp=xp, device=device, dtype=dtype))
                layers.append(_make_activation(activation, "activation"))
        if final_activation is not None:
            layers.append(_make_activation(final_activation, "final_activation"))
        super().__init__(*layers)
        self.sizes = list(sizes)
