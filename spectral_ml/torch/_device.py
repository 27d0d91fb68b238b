"""Validation of a PyTorch device named by a user."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_device"]


def check_device(device: Any, name: str = "device") -> torch.device:
    """Return ``device`` as a :class:`torch.device` on which tensors can be placed now.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (or the equivalent :class:`torch.device`).
    name : str, default="device"
        Name of the argument in error messages.

    Raises
    ------
    ValueError
        If ``device`` is not a device name, is another kind of device than the CPU or a CUDA
        GPU, or names a CUDA GPU that PyTorch cannot see (no CUDA build, no driver, or an
        index beyond the GPUs present).
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'cuda:N', got {device!r}.") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"{name} must be the CPU or a CUDA GPU ('cpu', 'cuda' or 'cuda:N'), got {device!r}.")
    if not torch.cuda.is_available():
        raise ValueError(
            f"{name}={device!r} but PyTorch sees no CUDA GPU (torch.cuda.is_available() is False): "
            "install a CUDA build of PyTorch on a machine with a GPU, or use 'cpu'."
        )
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise ValueError(f"{name}={device!r} but PyTorch sees {count} CUDA GPU(s), numbered from 0.")
    return dev
