"""Parameters, the module base class and parameter-vector utilities.

A network here is a tree of :class:`Module` objects with explicit ``forward`` and
``backward`` passes: ``forward(X)`` keeps what the backward pass needs, and
``backward(grad_out)`` returns the gradient with respect to the input and adds the
gradients of the module's own parameters to ``Parameter.grad``. There is no tape and no
graph: the chain rule is applied by the containers (:class:`~spectral_ml.nn.Sequential`).

Parameters live in the array namespace (and on the device) they were created in; forward
passes use the namespace of their input, so a module built with ``xp=array_api_compat.cupy``
runs on the GPU and one built with the default NumPy runs on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .._backend import get_namespace, match_namespace, to_namespace, to_numpy

__all__ = [
    "Parameter",
    "Module",
    "parameters_to_vector",
    "vector_to_parameters",
    "gradients_to_vector",
]


def default_namespace(xp: Any) -> Any:
    """The namespace to create arrays in: ``xp``, or NumPy's array-API wrapper."""
    if xp is not None:
        return xp
    return get_namespace()


def dtype_name(dtype: Any) -> str:
    """Name ("float32" or "float64") of a floating dtype given as a name, a NumPy dtype or a
    dtype object of any array namespace; ``None`` means float64."""
    if dtype is None:
        return "float64"
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype).rsplit(".", 1)[-1]
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}.")
    return name


class Parameter:
    """A trainable array together with its accumulated gradient.

    Parameters
    ----------
    data : array
        The parameter values (any array namespace). Optimizers update it in place where the
        array library allows it, and rebind ``data`` otherwise.
    requires_grad : bool, default=True
        When False, backward passes leave ``grad`` untouched and optimizers skip the
        parameter (the parameter is frozen).

    Attributes
    ----------
    data : array
        Current values.
    grad : array or None
        Gradient accumulated by backward passes since the last :meth:`zero_grad`, or
        ``None`` when no backward pass has touched it.
    """

    __slots__ = ("data", "grad", "requires_grad")

    def __init__(self, data: Any, requires_grad: bool = True):
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)

    @property
    def shape(self) -> tuple:
        """Shape of :attr:`data`."""
        return tuple(self.data.shape)

    @property
    def dtype(self) -> Any:
        """Dtype of :attr:`data`."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """Number of entries of :attr:`data`."""
        return int(np.prod(self.shape, dtype=np.int64))

    def accumulate(self, grad: Any) -> None:
        """Add ``grad`` to :attr:`grad` (a fresh array the caller no longer uses)."""
        if not self.requires_grad:
            return
        if self.grad is None:
            self.grad = grad
        else:
            self.grad += grad

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradient (``None``), or fill it with zeros."""
        if set_to_none or self.grad is None:
            self.grad = None
        else:
            self.grad = get_namespace(self.grad).zeros_like(self.grad)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of the layers: explicit forward and backward passes.

    Subclasses implement :meth:`forward` and :meth:`backward`, list their parameter
    attributes in ``_param_names`` and their non-trainable state (running statistics) in
    ``_buffer_names``, and containers override :meth:`children`.

    Attributes
    ----------
    training : bool
        Training mode (True) or evaluation mode (False); only layers whose behaviour differs
        (batch normalization) look at it.
    """

    _param_names: tuple = ()
    _buffer_names: tuple = ()

    def __init__(self):
        self.training = True

    # --- structure -----------------------------------------------------------------------
    def children(self) -> list:
        """The direct sub-modules as ``(name, module)`` pairs."""
        return []

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(qualified_name, module)`` for this module and every sub-module."""
        yield prefix, self
        for name, child in self.children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(qualified_name, parameter)`` pairs, depth first in layer order.

        Examples
        --------
        >>> from spectral_ml.nn import MLP
        >>> [name for name, _ in MLP([3, 4, 2], random_state=0).named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        for mod_name, module in self.named_modules(prefix):
            for name in module._param_names:
                yield (f"{mod_name}.{name}" if mod_name else name), getattr(module, name)

    def parameters(self) -> list[Parameter]:
        """All trainable :class:`Parameter` objects, in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """Yield ``(qualified_name, array)`` for the non-trainable state (running statistics)."""
        for mod_name, module in self.named_modules(prefix):
            for name in module._buffer_names:
                yield (f"{mod_name}.{name}" if mod_name else name), getattr(module, name)

    def gradients(self) -> list:
        """The gradient arrays of :meth:`parameters` (zeros where none was accumulated)."""
        out = []
        for p in self.parameters():
            if p.grad is None:
                xp = get_namespace(p.data)
                out.append(xp.zeros_like(p.data))
            else:
                out.append(p.grad)
        return out

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to ``None`` by default)."""
        for p in self.parameters():
            p.zero_grad(set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) all parameters; returns ``self``."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def num_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    # --- modes ---------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on every sub-module."""
        for _, module in self.named_modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode on every sub-module (same as ``train(False)``)."""
        return self.train(False)

    # --- passes --------------------------------------------------------------------------
    def forward(self, X: Any) -> Any:  # pragma: no cover - abstract
        """Compute the output for input ``X`` and keep what :meth:`backward` needs."""
        raise NotImplementedError

    def backward(self, grad_out: Any, *, input_grad: bool = True, param_grad: bool = True) -> Any:
        """Back-propagate ``grad_out`` (gradient wrt the last output) through the module.

        Parameters
        ----------
        grad_out : array
            Gradient of the objective with respect to the output of the last
            :meth:`forward` call, same shape as that output.
        input_grad : bool, default=True
            Compute and return the gradient with respect to the input. Pass False for the
            first layer of a network, whose input gradient nobody needs.
        param_grad : bool, default=True
            Accumulate the parameters' gradients into ``Parameter.grad``. Pass False to
            differentiate through the module without touching its gradients (for example
            through a fixed critic).

        Returns
        -------
        array or None
            Gradient with respect to the input of the last forward pass, or ``None`` when
            ``input_grad`` is False.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def __call__(self, X: Any) -> Any:
        return self.forward(X)

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers as NumPy copies, keyed by qualified name.

        The round trip ``load_state_dict(state_dict())`` is exact (same dtype, same bits).
        """
        state = {}
        for name, p in self.named_parameters():
            state[name] = np.array(to_numpy(p.data), copy=True)
        for name, b in self.named_buffers():
            state[name] = np.array(to_numpy(b), copy=True)
        return state

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> Module:
        """Copy values from ``state_dict`` into the parameters and buffers.

        Values are converted to the namespace, device and dtype of the module's current
        arrays; parameters keep their identity (optimizers holding them stay valid) and
        their accumulated gradients are reset.

        Parameters
        ----------
        state_dict : dict of str to array
            As returned by :meth:`state_dict`.
        strict : bool, default=True
            Require exactly the module's keys.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If keys are missing or unexpected (with ``strict``), or a shape differs.
        """
        if not isinstance(state_dict, dict):
            raise ValueError(f"state_dict must be a dict, got {type(state_dict).__name__}.")
        params = dict(self.named_parameters())
        buffers = {}
        for mod_name, module in self.named_modules():
            for name in module._buffer_names:
                buffers[f"{mod_name}.{name}" if mod_name else name] = (module, name)
        if strict:
            missing = sorted((set(params) | set(buffers)) - set(state_dict))
            unexpected = sorted(set(state_dict) - set(params) - set(buffers))
            if missing or unexpected:
                raise ValueError(
                    f"state_dict does not match the module: missing keys {missing}, unexpected keys {unexpected}."
                )

        def convert(key, value, like):
            value = match_namespace(value, like)
            if tuple(value.shape) != tuple(like.shape):
                raise ValueError(f"state_dict[{key!r}] has shape {tuple(value.shape)}, expected {tuple(like.shape)}.")
            # A copy: the module must not share memory with the caller's dict.
            return get_namespace(like).astype(value, like.dtype, copy=True)

        new_params = {k: convert(k, v, params[k].data) for k, v in state_dict.items() if k in params}
        new_buffers = {k: convert(k, v, getattr(*buffers[k])) for k, v in state_dict.items() if k in buffers}
        for key, arr in new_params.items():
            params[key].data = arr
            params[key].grad = None
        for key, arr in new_buffers.items():
            module, name = buffers[key]
            setattr(module, name, arr)
        return self

    def to(self, xp: Any = None, device: Any = None, dtype: Any = None) -> Module:
        """Move every parameter and buffer to namespace ``xp`` / ``device`` / ``dtype``.

        Parameters
        ----------
        xp : module, optional
            Target array namespace; default: keep each array's namespace.
        device : optional
            Target device (as accepted by ``xp.asarray``).
        dtype : optional
            Target floating dtype (float32 or float64) for parameters and floating buffers.

        Returns
        -------
        self
            Gradients are reset. Values that change library or device travel through host
            memory; create optimizers after moving (their state arrays are not moved).
        """
        target_dtype = None if dtype is None else dtype_name(dtype)

        def move(arr):
            target = xp if xp is not None else get_namespace(arr)
            out = to_namespace(arr, target, device)
            if target_dtype is not None and target.isdtype(out.dtype, "real floating"):
                return target.astype(out, getattr(target, target_dtype), copy=True)
            return target.asarray(out, copy=True)

        for _, module in self.named_modules():
            for name in module._param_names:
                p = getattr(module, name)
                p.data = move(p.data)
                p.grad = None
            for name in module._buffer_names:
                setattr(module, name, move(getattr(module, name)))
        return self

    # --- display -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """Arguments shown by ``repr``."""
        return ""

    def __repr__(self) -> str:
        kids = self.children()
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not kids:
            return head + ")"
        lines = [head]
        for name, child in kids:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def as_parameter_list(params: Any, name: str = "params") -> list[Parameter]:
    """Accept a Module, a Parameter or an iterable of Parameters."""
    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Parameter):
        params = [params]
    try:
        params = list(params)
    except TypeError as exc:
        raise ValueError(f"{name} must be a Module or an iterable of Parameter objects.") from exc
    for p in params:
        if not isinstance(p, Parameter):
            raise ValueError(f"{name} must contain Parameter objects, got {type(p).__name__}.")
    return params


def parameters_to_vector(params: Iterable[Parameter] | Module) -> Any:
    """Concatenate the flattened parameter values into one 1-D array.

    Parameters
    ----------
    params : Module or iterable of Parameter
        The parameters, in a fixed order (a module's :meth:`Module.parameters` order).

    Returns
    -------
    array
        1-D array in the parameters' namespace and dtype.

    Examples
    --------
    >>> from spectral_ml.nn import Linear, parameters_to_vector
    >>> parameters_to_vector(Linear(3, 2, random_state=0)).shape
    (8,)
    """
    params = as_parameter_list(params)
    if not params:
        raise ValueError("params is empty.")
    xp = get_namespace(*(p.data for p in params))
    return xp.concat([xp.reshape(p.data, (-1,)) for p in params])


def gradients_to_vector(params: Iterable[Parameter] | Module) -> Any:
    """Concatenate the flattened gradients (zeros where ``grad`` is None) into a 1-D array."""
    params = as_parameter_list(params)
    if not params:
        raise ValueError("params is empty.")
    xp = get_namespace(*(p.data for p in params))
    parts = []
    for p in params:
        g = p.grad if p.grad is not None else xp.zeros_like(p.data)
        parts.append(xp.reshape(g, (-1,)))
    return xp.concat(parts)


def vector_to_parameters(vec: Any, params: Iterable[Parameter] | Module) -> None:
    """Copy consecutive slices of 1-D ``vec`` into the parameters (inverse of :func:`parameters_to_vector`).

    The values are copied (later in-place updates of the parameters never touch ``vec``)
    and cast to each parameter's dtype.

    Raises
    ------
    ValueError
        If ``vec`` is not 1-D or its length differs from the number of parameter entries.
    """
    params = as_parameter_list(params)
    if getattr(vec, "ndim", None) != 1:
        raise ValueError("vec must be a 1-D array.")
    total = sum(p.size for p in params)
    if int(vec.shape[0]) != total:
        raise ValueError(f"vec has length {int(vec.shape[0])}, the parameters have {total} entries.")
    # Refuses (TypeError) a vector of another array library than the parameters.
    xp = get_namespace(vec, *(p.data for p in params))
    start = 0
    for p in params:
        stop = start + p.size
        piece = xp.reshape(vec[start:stop], p.shape)
        p.data = xp.astype(piece, p.data.dtype, copy=True)
        start = stop
