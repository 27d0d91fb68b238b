"""Training throughput of a 784-200-2 perceptron with the contrastive loss and the DPP term.

Two measurements:

1. **Throughput** (samples per second) of training steps at batch size 200 (the paper's
   MNIST setting), for

   * ``spectral_ml``: the training loop of :class:`spectral_ml.nn.DPPFeatureLearner` (``fit``
     with the DPPSG* setting: exact gradient while det L >= β, DPPSG* otherwise, every loss
     value recorded), and a bare step loop with the same pieces (forward, contrastive loss,
     ``dpp_loss``, backward, RMSprop);
   * PyTorch on the CPU, when it is installed: the same network (Linear-ReLU-Linear), the
     same contrastive loss (mean over the pairs), the same DPP term — a Gaussian kernel,
     one float64 Cholesky factorization, autograd through log det L (``2 Σ log diag C``)
     while log det L >= log β, and otherwise the DPPSG* direction, which is the gradient
     of −(θ/2)‖L‖²_F since ∂/∂L of that is −θL, the off-diagonal of θ(I − L) — and
     ``torch.optim.RMSprop`` with the same settings.

   Both sides run on the same batches of the same synthetic data (uniform pixels in
   [0, 1], ten balanced classes) in the same precision, with the same number of threads:
   ``threadpoolctl`` limits the BLAS of NumPy and ``torch.set_num_threads`` PyTorch's.
   The ratio reported is PyTorch's throughput over ours (target: at most 1.3).

2. **DPP share of a step** per batch size (the paper's Table 6, "overhead-DPP" against
   "overhead-all"), from :func:`spectral_ml.experiments.dpp.run_dpp_overhead`.

Run ``python benchmarks/bench_nn.py --help`` for the options; ``--quick`` takes a few
seconds.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import spectral_ml  # noqa: F401 - only to learn whether the package is importable
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadpoolctl import threadpool_info, threadpool_limits

from spectral_ml.nn import MLP, BalancedBatchSampler, DPPFeatureLearner, RMSprop, contrastive_loss, dpp_loss

SIGMA, BETA, THETA, WEIGHT = 0.2, 1e-7, 0.1, 3e-4
MARGIN, ALPHA, LR = 0.8, 5.0, 1e-4


def _data(n_samples, n_features, seed):
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, n_features), dtype=np.float32)
    y = np.arange(n_samples) % 10
    return X, y


def _batches(y, batch_size, n_steps, seed):
    sampler = BalancedBatchSampler(y, batch_size=batch_size, random_state=seed)
    return [sampler.next_batch() for _ in range(n_steps)]


def _throughput(step, batches, warmup):
    """Samples per second of ``step`` over the batches after ``warmup``, and the share of each DPP path."""
    for idx in batches[:warmup]:
        step(idx)
    paths = {}
    t0 = time.perf_counter()
    for idx in batches[warmup:]:
        path = step(idx)
        paths[path] = paths.get(path, 0) + 1
    elapsed = time.perf_counter() - t0
    n = len(batches) - warmup
    return n * len(batches[0]) / elapsed, {k: v / n for k, v in paths.items()}


def bench_learner(X, y, batch_size, n_epochs, dtype, seed):
    """Samples per second of DPPFeatureLearner.fit (the training loop only)."""
    est = DPPFeatureLearner(
        hidden=(200,),
        n_components=2,
        dpp="dppsg*",
        dpp_weight=WEIGHT,
        batch_size=batch_size,
        epochs=n_epochs,
        learning_rate=LR,
        dtype=dtype,
        random_state=seed,
    ).fit(X, y)
    paths = {k[5:]: float(np.mean(v)) for k, v in est.history_.items() if k.startswith("path_")}
    return est.n_steps_ * batch_size / est.train_time_, paths


def bench_numpy_steps(X, y, batches, warmup, dtype, seed):
    """Samples per second of a bare step loop with the library's pieces."""
    net = MLP([X.shape[1], 200, 2], random_state=seed, dtype=dtype)
    opt = RMSprop(net, lr=LR)
    Xd = X.astype(dtype, copy=False)

    def step(idx):
        F = net.forward(Xd[idx])
        _, dF = contrastive_loss(F, y[idx], margin=MARGIN, alpha=ALPHA)
        _, dD, info = dpp_loss(F, sigma=SIGMA, weight=WEIGHT, beta=BETA, theta=THETA, compute_value=False)
        dF += dD
        opt.zero_grad()
        net.backward(dF, input_grad=False)
        opt.step()
        return info["method"]

    return _throughput(step, batches, warmup)


def bench_torch(torch, X, y, batches, warmup, dtype, seed):
    """Samples per second of the same training steps in PyTorch."""
    torch.manual_seed(seed)
    tdtype = torch.float32 if dtype == "float32" else torch.float64
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 200), torch.nn.ReLU(), torch.nn.Linear(200, 2)).to(tdtype)
    opt = torch.optim.RMSprop(net.parameters(), lr=LR, alpha=0.99, eps=1e-8)
    Xt = torch.from_numpy(X.astype(dtype, copy=False))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    log_beta = math.log(BETA)

    def step(idx_np):
        idx = torch.from_numpy(idx_np)
        F = net(Xt[idx])
        yb = yt[idx]
        n = F.shape[0]
        sq = (F * F).sum(1)
        D = (sq[:, None] + sq[None, :] - 2.0 * F @ F.T).clamp_min(0.0)
        same = (yb[:, None] == yb[None, :]).to(tdtype)
        off = 1.0 - torch.eye(n, dtype=tdtype)
        hinge = torch.clamp(MARGIN - D, min=0.0)
        lc = 0.5 * ((same * off * D).sum() + ALPHA * ((1.0 - same) * hinge).sum()) / (n * (n - 1) / 2)
        Fc = F - F.mean(0, keepdim=True)
        sqc = (Fc * Fc).sum(1)
        Dc = (sqc[:, None] + sqc[None, :] - 2.0 * Fc @ Fc.T).clamp_min(0.0)
        L = torch.exp(-Dc / SIGMA**2)
        C, info = torch.linalg.cholesky_ex(L.double())
        logdet = 2.0 * torch.log(torch.diagonal(C)).sum() if int(info) == 0 else None
        if logdet is not None and float(logdet.detach()) >= log_beta:
            diversity, path = logdet.to(tdtype), "exact"
        else:
            diversity, path = -0.5 * THETA * (L * L).sum(), "dppsg*"
        loss = lc - WEIGHT * diversity
        opt.zero_grad()
        loss.backward()
        opt.step()
        return path

    return _throughput(step, batches, warmup)


def _fmt_paths(paths):
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(paths.items()) if v > 0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=200, help="batch size (default: 200, the paper's)")
    parser.add_argument("--samples", type=int, default=12000, help="synthetic training samples (default: 12000)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the learner's fit (default: 3)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps of the step loops (default: 10)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / PyTorch threads (default: 1)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the best is kept (default: 3)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    parser.add_argument("--no-overhead", action="store_true", help="skip the DPP share per batch size")
    parser.add_argument("--quick", action="store_true", help="small run (a few seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.epochs, args.repeats, args.warmup = 3000, 1, 1, 3

    torch = None
    if not args.no_torch:
        try:
            import torch as _torch

            torch = _torch
        except ImportError:
            print("PyTorch is not installed: skipping the PyTorch baseline (pip install torch).")
    X, y = _data(args.samples, 784, args.seed)
    n_steps = args.epochs * (args.samples // args.batch_size)
    batches = _batches(y, args.batch_size, n_steps + args.warmup, args.seed)

    blas = [f"{i.get('internal_api')} {i.get('version')}" for i in threadpool_info() if i.get("user_api") == "blas"]
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, BLAS {', '.join(blas) or 'unknown'}"
        + (f", torch {torch.__version__}" if torch is not None else "")
    )
    print(
        f"784-200-2 perceptron, contrastive + DPP (DPPSG* switch, λ₁ = {WEIGHT:g}), batch {args.batch_size}, "
        f"{args.dtype}, {args.threads} thread(s), {n_steps} timed steps, best of {args.repeats}\n"
    )
    with threadpool_limits(limits=args.threads, user_api="blas"):
        if torch is not None:
            torch.set_num_threads(args.threads)
        rows = []
        best = {}
        for _ in range(args.repeats):
            for name, fn in (
                (
                    "spectral_ml DPPFeatureLearner.fit",
                    lambda: bench_learner(X, y, args.batch_size, args.epochs, args.dtype, args.seed),
                ),
                ("spectral_ml step loop", lambda: bench_numpy_steps(X, y, batches, args.warmup, args.dtype, args.seed)),
                *(
                    [
                        (
                            "PyTorch step loop",
                            lambda: bench_torch(torch, X, y, batches, args.warmup, args.dtype, args.seed),
                        )
                    ]
                    if torch is not None
                    else []
                ),
            ):
                rate, paths = fn()
                if name not in best or rate > best[name][0]:
                    best[name] = (rate, paths)
        width = max(len(k) for k in best)
        print(f"{'':{width}s}  {'samples/s':>10s}  DPP path")
        for name, (rate, paths) in best.items():
            print(f"{name:{width}s}  {rate:10.0f}  {_fmt_paths(paths)}")
            rows.append((name, rate))
        if torch is not None:
            ours = best["spectral_ml DPPFeatureLearner.fit"][0]
            bare = best["spectral_ml step loop"][0]
            ref = best["PyTorch step loop"][0]
            print(
                f"\nPyTorch / spectral_ml throughput: {ref / ours:.2f} (learner fit), {ref / bare:.2f} "
                f"(step loop); target <= 1.3"
            )

    if not args.no_overhead:
        from spectral_ml.experiments.dpp import run_dpp_overhead

        with tempfile.TemporaryDirectory() as tmp:
            out = run_dpp_overhead(tmp, quick=args.quick, blas_threads=args.threads, dtype=args.dtype, progress=False)
        print()
        print(out["table"].to_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
