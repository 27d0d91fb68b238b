"""Command-line interface ``spectral-ml`` (also ``python -m spectral_ml``)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "build_parser"]


def _cmd_demo(args: argparse.Namespace) -> int:
    """Show the DPP term, its gradient and the path taken on batches with and without duplicates."""
    import numpy as np

    from spectral_ml.dpp import dpp_diversity

    rng = np.random.default_rng(args.seed)
    n, d = args.n, 2
    spread = rng.uniform(-1.0, 1.0, size=(n, d))
    dup = spread.copy()
    dup[n // 2 :] = dup[: n - n // 2]  # the second half repeats the first: det L = 0
    near = spread.copy()
    near[1] = near[0] + 1e-4

    print(f"DPP diversity term, Gaussian kernel L_ij = exp(-|x_i - x_j|^2 / sigma^2), sigma = {args.sigma}")
    print(f"batch: {n} points in [-1, 1]^2\n")
    header = f"{'batch':<22s}{'method':<9s}{'path':<8s}{'log det L':>14s}{'|grad|':>12s}"
    print(header)
    print("-" * len(header))
    for name, X in (("well spread", spread), ("near duplicate pair", near), ("half duplicated", dup)):
        for method in ("auto", "dppsg", "dppsg*"):
            r = dpp_diversity(X, args.sigma, method=method)
            gnorm = float(np.linalg.norm(r.grad))
            print(f"{name:<22s}{method:<9s}{r.method:<8s}{r.logdet:>14.4f}{gnorm:>12.4e}")
    r = dpp_diversity(near, args.sigma)
    g01 = r.grad[0] - r.grad[1]
    step = near + 1e-3 * r.grad / max(float(np.abs(r.grad).max()), 1e-300)
    print(
        "\nascent along .grad separates the near duplicates: "
        f"|x0 - x1| {np.linalg.norm(near[0] - near[1]):.2e} -> {np.linalg.norm(step[0] - step[1]):.2e}"
        f" (grad difference {np.linalg.norm(g01):.2e})"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``spectral-ml``."""
    parser = argparse.ArgumentParser(
        prog="spectral-ml",
        description="Spectral metric learning: DPP diversity with proper sub-gradients, GMML and AML.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="show the DPP term and its (sub-)gradient on a small batch")
    demo.add_argument("--n", type=int, default=40, help="batch size (default: 40)")
    demo.add_argument("--sigma", type=float, default=0.2, help="kernel width (default: 0.2)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
