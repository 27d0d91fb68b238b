"""The DPP term and the feature learner on a GPU with CuPy
=======================================================

The same code as ``dpp_numpy_training_loop.py`` — a linear map trained by hand with the
contrastive loss and the DPP diversity term — with the data on the GPU: every function of
:mod:`spectral_ml` takes the array namespace of its input, so CuPy arrays in means CuPy
arrays (and GPU kernels) all the way. Then :class:`spectral_ml.nn.DPPFeatureLearner` is
trained on CuPy arrays: it builds its network on the device of ``X``.

Needs CuPy and a CUDA GPU (``pip install cupy-cuda12x``) to run on the GPU. Without them the
script says why and runs the very same code on NumPy arrays (array-api-compat's NumPy
namespace): the output below comes from such a run when this page was built without a GPU.

Usage::

    python examples/dpp_cupy.py [--steps 300] [--epochs 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import time


def _cupy_or_reason():
    """The cupy module, or None and the reason it cannot be used."""
    try:
        import cupy
    except ImportError:
        return None, "CuPy is not installed (pip install cupy-cuda12x)"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "CuPy found no CUDA GPU"
        cupy.zeros(1).sum().item()  # fails early when the driver or the runtime is unusable
    except Exception as exc:  # CUDA runtime errors have several types
        return None, f"CuPy cannot use a GPU ({type(exc).__name__}: {exc})"
    return cupy, None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="steps of the hand-written loop (default: 300)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the feature learner (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)

    cp, reason = _cupy_or_reason()
    if cp is None:
        import array_api_compat.numpy as xp

        print(f"{reason}: running the same code on NumPy.")

        def synchronize():
            pass
    else:
        import array_api_compat.cupy as xp

        synchronize = cp.cuda.Device().synchronize
    backend = xp.__name__.rpartition(".")[2]
    import numpy as np

    from spectral_ml.datasets import load_dataset
    from spectral_ml.dpp import dpp_diversity
    from spectral_ml.evaluation import mean_average_precision_at_k
    from spectral_ml.nn import BalancedBatchSampler, DPPFeatureLearner, contrastive_loss

    X_np, y_np = load_dataset("digits", return_X_y=True)
    X_np = (X_np / 16.0).astype(np.float32)
    perm = np.random.default_rng(args.seed).permutation(len(y_np))
    tr, te = perm[:1200], perm[1200:]
    X = xp.asarray(X_np)  # on the GPU (with CuPy) from here on
    y = xp.asarray(y_np)

    # 1. A hand-written loop: F = X_b W, contrastive loss + DPP term, gradient chained to W.
    rng = np.random.default_rng(args.seed)
    W = xp.asarray((rng.standard_normal((64, 2)) * np.sqrt(2.0 / 64)).astype(np.float32))
    square_avg = xp.zeros_like(W)
    sampler = BalancedBatchSampler(y_np[tr], batch_size=200, random_state=args.seed)
    X_tr, y_tr = xp.take(X, xp.asarray(tr), axis=0), xp.take(y, xp.asarray(tr), axis=0)
    paths = {}
    t0 = time.perf_counter()
    for _ in range(args.steps):
        idx = xp.asarray(sampler.next_batch())
        Xb, yb = xp.take(X_tr, idx, axis=0), xp.take(y_tr, idx, axis=0)
        F = Xb @ W
        _, dF = contrastive_loss(F, yb)
        dpp = dpp_diversity(F, 0.2)
        paths[dpp.method] = paths.get(dpp.method, 0) + 1
        dF = dF - 3e-4 * dpp.grad
        dW = Xb.T @ dF
        square_avg = 0.99 * square_avg + 0.01 * dW**2
        W = W - 1e-2 * dW / (xp.sqrt(square_avg) + 1e-8)
    synchronize()
    print(
        f"DPP on {backend}, hand-written loop: {args.steps} steps in {time.perf_counter() - t0:.2f}s "
        f"on {type(W).__module__}, DPP paths {paths}"
    )
    X_te, y_te = xp.take(X, xp.asarray(te), axis=0), xp.take(y, xp.asarray(te), axis=0)
    maps = mean_average_precision_at_k(X_te @ W, y_te, [10, 50], X_tr @ W, y_tr)
    print(f"  test mAP@10 {100 * maps[10]:.2f}, mAP@50 {100 * maps[50]:.2f}")

    # 2. The estimator on CuPy arrays: network, critic and batches live on the GPU.
    t0 = time.perf_counter()
    model = DPPFeatureLearner(
        hidden=(200,), dpp="dppsg*", dpp_weight=3e-4, epochs=args.epochs, learning_rate=1e-3, random_state=args.seed
    ).fit(X_tr, y_tr)
    Z_tr, Z_te = model.transform(X_tr), model.transform(X_te)
    synchronize()
    maps = mean_average_precision_at_k(Z_te, y_te, [10, 50], Z_tr, y_tr)
    print(
        f"DPP on {backend}, DPPFeatureLearner: {time.perf_counter() - t0:.2f}s, features "
        f"{type(Z_te).__module__} {tuple(Z_te.shape)}, test mAP@10 {100 * maps[10]:.2f}, "
        f"mAP@50 {100 * maps[50]:.2f}"
    )
    return 0


if __name__ == "__main__":
    main()
