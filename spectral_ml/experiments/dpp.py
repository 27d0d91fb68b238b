"""Experiments of the DPP paper (Yu, Li & Li, ICLR 2020), computed by this library.

* :func:`run_dpp_retrieval` — Table 1 and Fig. 1: retrieval with 2-D features learned with
  the contrastive loss alone and with the DPP term (DPPSG, DPPSG*) and the WGAN term, mAP@K
  over several seeds, the gap of the test features to the uniform distribution on
  ``[−1, 1]²`` (the paper's Table 3 idea) and the training time; the figure of the 2-D
  feature distributions, train and test, one row per variant.
* :func:`run_dpp_overhead` — Table 6: time of the DPP term against the whole training step,
  per batch size.

Each ``*_records`` function runs a protocol and returns its
:class:`~spectral_ml.experiments.Records`; each ``run_*`` function also writes the tables and
figures through :mod:`spectral_ml.experiments.report` and returns what it wrote.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._validation import check_positive
from ..dpp import PAPER_VARIANTS
from ..dpp.settings import PAPER_NETWORK_THETA
from . import report
from ._paper import DPP_PAPER_TABLE1, DPP_PAPER_TABLE6, RETRIEVAL_KS
from ._records import Records
from ._units import Protocol, check_blas_threads, run_protocol, unit_store

# Table 6 has its own module; its functions are found here too, beside Table 1's.
from .dpp_overhead import overhead_protocol, overhead_records, run_dpp_overhead

__all__ = [
    "PAPER_TABLE1",
    "PAPER_TABLE6",
    "VARIANTS",
    "ALL_VARIANTS",
    "RETRIEVAL_KS",
    "NETWORKS",
    "SWEEP_VARIANT",
    "dpp_variant_params",
    "load_retrieval_data",
    "retrieval_protocol",
    "overhead_protocol",
    "retrieval_records",
    "overhead_records",
    "run_dpp_retrieval",
    "run_dpp_overhead",
]

#: The paper's Table 1 (MNIST, mAP@10, 20, 50, 100 in %), per variant.
PAPER_TABLE1 = DPP_PAPER_TABLE1

#: The paper's Table 6 (CIFAR-10 hashing network on a GTX 1080 GPU): seconds per batch,
#: (overhead-all, overhead-DPP), per batch size.
PAPER_TABLE6 = DPP_PAPER_TABLE6

#: The compared variants, in the order of the paper's Table 1.
VARIANTS = tuple(PAPER_TABLE1)

#: Every variant :func:`run_dpp_retrieval` knows: the paper's five and "WGAN" (contrastive
#: loss and WGAN term without the DPP term, a control the paper does not report), in the
#: order of :data:`spectral_ml.dpp.PAPER_VARIANTS`, the one table of their DPP and WGAN terms.
ALL_VARIANTS = tuple(PAPER_VARIANTS)

#: The variant whose θ and λ₁ a sweep of :func:`run_dpp_retrieval` varies.
SWEEP_VARIANT = "DPPSG*"

#: Networks of :func:`run_dpp_retrieval`: the NumPy perceptron, or the paper's CNN in PyTorch.
NETWORKS = ("perceptron", "paper-cnn")
# Training images of the paper's CNN with quick=True (a stratified subset of MNIST's training set).
_CNN_QUICK_TRAIN = 5000

# Training set-up per data set: the paper's MNIST settings (Appendix A.1: batch 200,
# RMSprop, σ = 0.2, Δ = 1e-7, margin 0.8, α = 5, 2000 reference points per critic step) on a
# 784-200-2 perceptron, with the learning rate and the weights λ₁, λ₂ chosen on a
# validation split of MNIST's training set (see run_dpp_retrieval's Notes).
_COMMON = {
    "hidden": (200,),
    "n_components": 2,
    "margin": 0.8,
    "contrastive_alpha": 5.0,
    "batch_size": 200,
    "optimizer": "rmsprop",
    "learning_rate": 1e-3,
    "dtype": "float32",
}
_EPOCHS = {"mnist": 5, "digits": 60}
_QUICK_EPOCHS = {"mnist": 2, "digits": 20}
# λ₂; λ₁ is the learner's default of each sub-gradient (DEFAULT_DPP_WEIGHT), chosen on the
# same validation split.
_WGAN_WEIGHT = 1e3
_N_REFERENCE = 2000
_QUICK_N_REFERENCE = 500


def dpp_variant_params(variant: str, *, dataset: str = "mnist", quick: bool = False, epochs: int | None = None) -> dict:
    """Keyword arguments of :class:`~spectral_ml.nn.DPPFeatureLearner` for one variant of Table 1.

    The variant's DPP term and WGAN term come from :data:`spectral_ml.dpp.PAPER_VARIANTS`
    (shared with :func:`spectral_ml.torch.paper_cnn_variant_params`); the numbers are the
    perceptron's.

    Parameters
    ----------
    variant : {"baseline", "DPPSG", "DPPSG*", "DPPSG+WGAN", "DPPSG*+WGAN", "WGAN"}
        The row of the paper's Table 1, or "WGAN" (contrastive + WGAN, no DPP term).
    dataset : str, default="mnist"
        Data set the settings are for (it sets the default number of epochs).
    quick : bool, default=False
        Fewer epochs and fewer reference samples per critic step.
    epochs : int, optional
        Number of epochs, overriding the data set's default.

    Returns
    -------
    dict
        Settings without ``random_state``.

    Examples
    --------
    >>> from spectral_ml.experiments.dpp import dpp_variant_params
    >>> p = dpp_variant_params("DPPSG*+WGAN")
    >>> p["dpp"], p["dpp_sigma"], p["wgan"], p["wgan_n_reference"]
    ('dppsg*', 0.2, True, 2000)
    """
    from ..nn import DPPFeatureLearner
    from ..nn.training import DEFAULT_DPP_WEIGHT

    if variant not in ALL_VARIANTS:
        raise ValueError(f"variant must be one of {ALL_VARIANTS}, got {variant!r}.")
    params = dict(_COMMON)
    table = _QUICK_EPOCHS if quick else _EPOCHS
    params["epochs"] = table.get(dataset, table["digits"]) if epochs is None else epochs
    method, wgan = PAPER_VARIANTS[variant]
    params["dpp"] = method
    if method is not None:
        params.update(
            dpp_sigma=0.2,
            dpp_weight=DEFAULT_DPP_WEIGHT[method],
            dpp_delta=1e-7,
            dpp_theta=DPPFeatureLearner().get_params()["dpp_theta"],
        )
    params["wgan"] = wgan
    if params["wgan"]:
        params.update(
            wgan_weight=_WGAN_WEIGHT,
            wgan_n_critic=5,
            wgan_clip_value=0.01,
            wgan_hidden=(64, 64),
            wgan_n_reference=_QUICK_N_REFERENCE if quick else _N_REFERENCE,
        )
    return params


def _minmax(X_train, X_test):
    lo, hi = X_train.min(axis=0), X_train.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (X_train - lo) / span, (X_test - lo) / span


def load_retrieval_data(
    dataset: str, *, data_dir: str | os.PathLike[str] | None = None, quick: bool = False, seed: int = 0
) -> Any:
    """Training and test sets of the retrieval experiment, inputs scaled to [0, 1].

    * ``"mnist"``: the official split (60000 / 10000 images, pixels / 255), read from the data
      directory; ``quick`` draws stratified subsets of 10000 / 2000.
    * ``"digits"``: scikit-learn's 8×8 digits (pixels / 16), stratified random split, two
      thirds for training (the split depends on ``seed``).
    * any other name of :func:`~spectral_ml.datasets.load_dataset`: stratified two-thirds
      split, features min-max scaled on the training part.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        float32 inputs and int64 labels.
    class_names : list of str
    """
    return _load_retrieval(dataset, data_dir=data_dir, quick=quick, seed=seed)[:5]


def _load_retrieval(dataset, *, data_dir, quick, seed, quick_train=10000):
    """:func:`load_retrieval_data` and the notes of the load (missing values handled)."""
    from sklearn.model_selection import train_test_split

    from ..datasets import load_dataset

    if dataset == "mnist":
        n_tr, n_te = (quick_train, 2000) if quick else (None, None)
        tr = load_dataset(
            "mnist", data_dir=data_dir, split="train", n_samples=n_tr, random_state=seed, dtype=np.float32
        )
        te = load_dataset("mnist", data_dir=data_dir, split="test", n_samples=n_te, random_state=seed, dtype=np.float32)
        return tr.X, tr.y, te.X, te.y, tr.class_names, tr.notes + te.notes
    data = load_dataset(dataset, data_dir=data_dir, dtype=np.float32)
    X, y = data.X, data.y
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=1 / 3, stratify=y, random_state=seed)
    if dataset == "digits":
        X_tr, X_te = X_tr / np.float32(16.0), X_te / np.float32(16.0)
    else:
        X_tr, X_te = _minmax(X_tr, X_te)
    return (X_tr.astype(np.float32), y_tr, X_te.astype(np.float32), y_te, data.class_names, data.notes)


def _subsample(Z, y, n, rng):
    if Z.shape[0] <= n:
        return Z, y
    idx = rng.choice(Z.shape[0], size=n, replace=False)
    return Z[idx], y[idx]


def _sweep_variants(thetas, dpp_weights):
    """The variants a sweep trains besides the requested ones: the baseline and DPPSG*."""
    return [] if thetas is None and dpp_weights is None else ["baseline", SWEEP_VARIANT]


def _grid(values, name, upper=None):
    """A sweep's values checked: a non-empty sequence of distinct positive floats (at most ``upper``)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or not (values := list(values)):
        raise ValueError(f"{name} must be a non-empty sequence of positive numbers, got {values!r}.")
    checked = [check_positive(v, name, upper=upper) for v in values]
    if len(set(checked)) != len(checked):
        raise ValueError(f"{name} must not repeat a value, got {values!r}.")
    return checked


def _sweep_grid(thetas, dpp_weights, params):
    """(θ values, λ₁ values) of a sweep, the variant's own where one is not given; None without one."""
    if thetas is None and dpp_weights is None:
        return None
    thetas = [params["dpp_theta"]] if thetas is None else _grid(thetas, "thetas", upper=1.0)
    weights = [params["dpp_weight"]] if dpp_weights is None else _grid(dpp_weights, "dpp_weights")
    return thetas, weights


def _check_seeds(seeds):
    try:
        seeds = [int(s) for s in seeds]
    except TypeError:
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}.") from None
    if not seeds:
        raise ValueError("seeds must not be empty.")
    return seeds


def run_dpp_retrieval(
    dataset: str,
    out_dir: str | os.PathLike[str],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    epochs: int | None = None,
    variants: Sequence[str] = VARIANTS,
    blas_threads: int = 1,
    progress: bool = True,
    network: str = "perceptron",
    device: str = "cpu",
    n_jobs: int = 1,
    checkpoints: Any = None,
    thetas: Sequence[float] | None = None,
    dpp_weights: Sequence[float] | None = None,
) -> dict:
    """DPP paper Table 1 and Fig. 1: retrieval with learned 2-D features, per variant.

    For each variant (contrastive baseline, +DPPSG, +DPPSG*, +DPPSG+WGAN, +DPPSG*+WGAN) and
    seed, a :class:`~spectral_ml.nn.DPPFeatureLearner` (784-200-2 perceptron on MNIST; 64-200-2
    on digits) is trained on the training set; then every **test** image queries the
    **training** set (the database) by Euclidean distance between the 2-D features, and
    mAP@{10, 20, 50, 100} is computed with the paper's divisor (hits within the top K,
    Appendix A.2). The paper's Appendix A.2 defines the metric but not the query/database
    split; test queries against the training database is the usual protocol of image
    retrieval (and of the hashing method the paper compares with), and keeps queries and
    database disjoint.

    "Gap to P" is the paper's Table 3 measure applied to MNIST: the mean 2-Wasserstein
    distance between the test features and uniform samples of ``[−1, 1]²`` (2000 points,
    10 draws; fewer with ``quick``), :func:`~spectral_ml.evaluation.gap_to_reference`.

    Parameters
    ----------
    dataset : str
        ``"mnist"`` (needs ``mnist.npz`` in the data directory), ``"digits"`` (embedded) or
        another name of :func:`~spectral_ml.datasets.load_dataset` (see
        :func:`load_retrieval_data`).
    out_dir : str or path-like
        Directory for the tables and figures.
    seeds : sequence of int, default=(0, 1, 2)
        One training per seed and variant (initialization, batches, reference samples; on
        digits also the train/test split).
    quick : bool, default=False
        Small and fast: fewer epochs, smaller critic batches, MNIST subsampled, 3 gap draws.
    data_dir : str or path-like, optional
        Data directory (default: ``SPECTRAL_ML_DATA``).
    epochs : int, optional
        Epochs of every variant (default: 5 on MNIST, 60 on digits; 2 and 20 with ``quick``).
    variants : sequence of str, default=VARIANTS
        The variants to run: any of :data:`ALL_VARIANTS` (the paper's five, and "WGAN",
        the contrastive loss with the WGAN term alone).
    blas_threads : int or None, default=1
        BLAS threads during the run (None: leave the setting alone). The products of a
        batch of 200 are too small to gain from threads, and on a busy machine threads that
        spin in wait make them slower.
    progress : bool, default=True
        Progress bar on standard error (drawn only on a terminal).
    network : {"perceptron", "paper-cnn"}, default="perceptron"
        ``"perceptron"``: :class:`~spectral_ml.nn.DPPFeatureLearner` (no PyTorch needed).
        ``"paper-cnn"``: the paper's convolutional network in PyTorch
        (:class:`spectral_ml.torch.PaperCNNLearner`, the optional ``torch`` extra) with the
        paper's settings (:func:`spectral_ml.torch.paper_cnn_variant_params`: 5 epochs, 1 with
        ``quick``, where the training set is a stratified subset of 5000 images and the gap to
        P uses 1000 points); MNIST only.
        Its files are named ``dpp_retrieval_mnist_paper_cnn*``.
    device : str, default="cpu"
        PyTorch device of the paper's network (``"cpu"``, ``"cuda"``, ``"cuda:N"``); the
        perceptron runs in NumPy and takes only ``"cpu"``.
    n_jobs : int, default=1
        Trainings (a variant and seed) run at the same time, each in its own process with
        ``blas_threads`` threads; the tables are the same whatever ``n_jobs``.
    checkpoints : path-like or UnitStore, optional
        Directory where every finished training is kept (in ``dpp-retrieval/``): a run with
        the same settings and directory computes only the trainings it lacks.
    thetas, dpp_weights : sequence of float, optional
        A sweep of DPPSG*'s step θ ∈ (0, 1] and of the DPP weight λ₁ > 0: besides the
        variants, the "DPPSG*" variant is trained with every pair (θ, λ₁) of the grid (the
        variant's own value where one of them is not given), and the contrastive baseline
        with each seed, for the sweep table and figure (``*_theta.csv``, ``*_theta.png``).
        On the sub-gradient path, which 2-D features of a batch of 200 always take, the
        term's push is λ₁θ(I − L): only the product matters there.

    Returns
    -------
    dict
        ``"table"`` (:class:`~spectral_ml.experiments.report.Table`: mean ± std over the seeds
        of mAP@K in %, gap to P, fraction of batches on the sub-gradient path, training
        time, and the paper's mAP@10), ``"files"`` (paths written: the table and the
        per-run table as CSV and Markdown, the figures), ``"figure"`` (path of the Fig. 1
        style figure), ``"results"`` (per variant: lists over the seeds of ``"map"``
        (dict K → %), ``"gap"``, ``"time"``, ``"subgradient"``, and the ``"history"`` of each
        run), ``"settings"`` (the learner settings of each variant); with a sweep also
        ``"sweep"``, its table (mAP@10 and the gap to P per λ₁ and θ, the difference to
        the baseline, and the push of the DPP term against the contrastive gradient).

    Notes
    -----
    The paper's network is convolutional; a perceptron on MNIST pixels with the contrastive
    loss already reaches a much higher mAP than the paper's baseline (63.90 mAP@10), so
    compare the differences between the rows, not the levels.

    The paper's weights (λ₁ = 10³, λ₂ = 10⁶) belong to its summed contrastive loss and
    ``det`` objective. The settings used here (:func:`dpp_variant_params`: RMSprop at
    10⁻³, where the paper's 10⁻⁴ left the perceptron under-trained, 5 epochs on MNIST) were
    picked on a validation split of MNIST's training set (50000 images to train, 10000 to
    query; 5 epochs; two seeds), never on the test set, by validation mAP@10:

    * DPPSG*: λ₁ ∈ {10⁻⁴, 3·10⁻⁴, 10⁻³, 3·10⁻³, 10⁻²} → 3·10⁻⁴ (validation mAP@10 92.21
      against 92.20 for the baseline; 10⁻² drops it to 86.8);
    * DPPSG: λ₁ ∈ {10⁵, 10⁶, 10⁷, 10⁸} → 10⁵ (92.07; its direction has entries of order
      Δ = 10⁻⁷, so smaller weights leave it without effect and 10⁷ and more lower the
      score);
    * WGAN: λ₂ ∈ {10³, 3·10³, 10⁴, 3·10⁴} with λ₁ ∈ {3·10⁻⁴, 10⁻³, 3·10⁻³}, keeping only the
      settings that put at least half of the validation features inside [−1.1, 1.1]²
      (the purpose of the term) → λ₂ = 10³, λ₁ = 3·10⁻⁴ (92.01, gap to P 0.48; λ₂ = 10⁴
      reaches 87 % inside the box at 85.1).

    DPPSG*'s θ, which the paper leaves at "a small value", is 0.1 here (at λ₁ = 3·10⁻⁴) and
    10⁻³ for the paper's network (at its λ₁ = 10³, on a summed contrastive loss): values that
    cost no measurable mAP in the sweep (``thetas``, ``dpp_weights``). Every batch of 2-D
    features takes the sub-gradient, which pushes with λ₁θ(I − L): where that push stays
    below about a fifth of the contrastive gradient (the sweep table's last column) it costs
    nothing, near the gradient's size up to a few points, at ten times and more over ten
    points; on neither network does a θ gain.

    Examples
    --------
    >>> import tempfile
    >>> from spectral_ml.experiments.dpp import run_dpp_retrieval
    >>> out = run_dpp_retrieval("digits", tempfile.mkdtemp(), seeds=(0,), quick=True,
    ...                         variants=("baseline", "DPPSG*"), progress=False)  # doctest: +SKIP
    >>> [row[0] for row in out["table"].rows]  # doctest: +SKIP
    ['baseline', 'DPPSG*']
    """
    records = retrieval_records(
        dataset,
        seeds=seeds,
        quick=quick,
        data_dir=data_dir,
        epochs=epochs,
        variants=variants,
        blas_threads=blas_threads,
        progress=progress,
        network=network,
        device=device,
        n_jobs=n_jobs,
        checkpoints=checkpoints,
        thetas=thetas,
        dpp_weights=dpp_weights,
    )
    return report.write_dpp_retrieval(records, out_dir)


def retrieval_records(
    dataset: str,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    epochs: int | None = None,
    variants: Sequence[str] = VARIANTS,
    blas_threads: int = 1,
    progress: bool = True,
    network: str = "perceptron",
    device: str = "cpu",
    n_jobs: int = 1,
    checkpoints: Any = None,
    thetas: Sequence[float] | None = None,
    dpp_weights: Sequence[float] | None = None,
) -> Records:
    """Measure DPP Table 1 (see :func:`run_dpp_retrieval`); return its records.

    One row per training (a variant and seed, and with a sweep a point of its grid):
    ``variant``, ``seed``, ``theta`` (DPPSG*'s θ; None for the other variants), ``weight``
    (λ₁; None without the DPP term), ``map`` (dict K → mAP@K in %), ``gap`` (gap to P),
    ``time`` (training, s), ``subgradient`` (fraction of batches on a sub-gradient path; NaN
    without the DPP term), ``gradients`` (the norms of the contrastive gradient and of the
    DPPSG* direction at λ₁θ = 1 wrt the trained features of a class-balanced training batch,
    ``"contrastive"`` and ``"dppsg*"``) and ``history`` (the learner's). The figures' data
    (features of the first seed, loss curves, class names) are in ``figures``; the learner
    settings of each variant in ``settings["learner"]``, the sweep's grid in
    ``settings["thetas"]`` and ``settings["dpp_weights"]`` (None without a sweep).
    """
    protocol = retrieval_protocol(
        dataset,
        seeds=seeds,
        quick=quick,
        data_dir=data_dir,
        epochs=epochs,
        variants=variants,
        blas_threads=blas_threads,
        network=network,
        device=device,
        thetas=thetas,
        dpp_weights=dpp_weights,
    )
    return run_protocol(protocol, store=unit_store(checkpoints, "dpp-retrieval"), n_jobs=n_jobs, progress=progress)


@functools.lru_cache(maxsize=1)
def _load_retrieval_cached(dataset, data_dir, quick, seed, quick_train):
    """:func:`_load_retrieval` once per process for the units that share a data split.

    The arrays are shared between units: the learners copy what they change.
    """
    *arrays, class_names, notes = _load_retrieval(
        dataset, data_dir=data_dir, quick=quick, seed=seed, quick_train=quick_train
    )
    return (*arrays, class_names, tuple(notes))


def _retrieval_unit(
    key, *, dataset, data_dir, quick, network, settings, quick_train, gap_points, gap_repeats, first_seed
):
    """One variant trained with one seed (and a point of the sweep): mAP@K, gap to P, time; the panels."""
    from ..evaluation import gap_to_reference, mean_average_precision_at_k

    if network == "paper-cnn":
        from ..torch import PaperCNNLearner as Learner
    else:
        from ..nn import DPPFeatureLearner as Learner

    seed, variant, *grid = key
    # MNIST's split is fixed (only the quick subsets depend on the seed); other sets split by seed.
    data_seed = seed if dataset != "mnist" or quick else 0
    X_tr, y_tr, X_te, y_te, class_names, notes = _load_retrieval_cached(
        dataset, data_dir, quick, data_seed, quick_train
    )
    params = dict(settings[variant])
    if grid:
        params.update(dpp_theta=grid[0], dpp_weight=grid[1])
    # A small user data set gets one batch of all its samples, not a warning per run.
    params["batch_size"] = min(params["batch_size"], X_tr.shape[0])
    model = Learner(**params, random_state=seed).fit(X_tr, y_tr)
    Z_tr, Z_te = model.transform(X_tr), model.transform(X_te)
    ks = [k for k in RETRIEVAL_KS if k <= Z_tr.shape[0]]
    maps = mean_average_precision_at_k(Z_te, y_te, ks, Z_tr, y_tr)
    maps = {k: 100.0 * maps[k] if k in maps else math.nan for k in RETRIEVAL_KS}
    gap = gap_to_reference(Z_te, n_samples=gap_points, n_repeats=gap_repeats, random_state=seed)
    hist = model.history_
    sub = float(np.mean(np.add(hist["path_dppsg"], hist["path_dppsg*"]))) if "path_dppsg" in hist else math.nan
    row = {
        "variant": variant,
        "seed": seed,
        "theta": params.get("dpp_theta") if params["dpp"] == "dppsg*" else None,
        "weight": params.get("dpp_weight") if params["dpp"] is not None else None,
        "map": maps,
        "gap": float(gap),
        "time": float(model.train_time_),
        "subgradient": sub,
        "gradients": _gradient_norms(Z_tr, y_tr, params, seed),
        "history": {k: list(v) for k, v in hist.items()},
    }
    panel = None
    if seed == first_seed and not grid:
        rng = np.random.default_rng(seed)
        panel = {"train": _subsample(Z_tr, y_tr, 3000, rng), "test": _subsample(Z_te, y_te, 3000, rng)}
    return {"row": row, "panel": panel, "notes": list(notes), "class_names": list(class_names)}


def _gradient_norms(Z, y, params, seed):
    """Norms of the contrastive gradient and of the DPPSG* direction at λ₁θ = 1 on a training batch.

    Both wrt the features of a class-balanced batch of the learner's size drawn from the
    training set, in float64, with the learner's contrastive settings and σ: the push of
    the term against the main loss that a well-trained state of the network meets.
    """
    from ..dpp import DEFAULT_SIGMA, dpp_diversity
    from ..nn import contrastive_loss

    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = max(1, params["batch_size"] // len(classes))
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in classes])
    F = np.asarray(Z[idx], dtype=np.float64)
    _, dF = contrastive_loss(
        F,
        y[idx],
        margin=params["margin"],
        alpha=params["contrastive_alpha"],
        reduction=params.get("contrastive_reduction", "mean"),
    )
    sigma = params.get("dpp_sigma", DEFAULT_SIGMA)
    push = dpp_diversity(F, sigma, method="dppsg*", theta=1.0, underflow="allow").grad
    return {"contrastive": float(np.linalg.norm(dF)), "dppsg*": float(np.linalg.norm(push))}


def _assemble_retrieval(results, *, settings, notes):
    rows, load_notes, panels, curves = [], [], {}, {}
    for unit in results.values():
        rows.append(unit["row"])
        load_notes += [n for n in unit["notes"] if n not in load_notes]
        if unit["panel"] is not None:
            variant = unit["row"]["variant"]
            panels[variant] = unit["panel"]
            curves[variant] = unit["row"]["history"]["contrastive"]
    # The units carry the class names: reading the data set again here only for them would load
    # it (all of MNIST in a full run) in the main process a second time.
    class_names = next(iter(results.values()))["class_names"]
    return Records(
        "dpp-retrieval",
        rows=rows,
        settings=settings,
        notes=load_notes + list(notes),
        figures={"panels": panels, "curves": curves, "class_names": class_names},
    )


def retrieval_protocol(
    dataset: str,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    epochs: int | None = None,
    variants: Sequence[str] = VARIANTS,
    blas_threads: int = 1,
    network: str = "perceptron",
    device: str = "cpu",
    thetas: Sequence[float] | None = None,
    dpp_weights: Sequence[float] | None = None,
) -> Protocol:
    """DPP Table 1 (see :func:`run_dpp_retrieval`) as units: one per seed and variant.

    With a sweep (``thetas`` or ``dpp_weights``), also one unit per seed and point of the
    grid (the key ``(seed, "DPPSG*", theta, weight)``), and the baseline's when it is not
    among the variants; a point at the variant's own settings is its Table 1 unit.
    """
    seeds = _check_seeds(seeds)
    variants = list(variants)
    if not variants or any(v not in ALL_VARIANTS for v in variants):
        raise ValueError(f"variants must be a non-empty subset of {ALL_VARIANTS}, got {variants!r}.")
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive int or None, got {epochs!r}.")
    check_blas_threads(blas_threads)
    gap_repeats = 3 if quick else 10
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}.")
    quick_train, gap_points = 10000, 2000
    if network == "paper-cnn":
        if dataset != "mnist":
            raise ValueError(
                f"network='paper-cnn' trains on 28 x 28 MNIST images: dataset must be 'mnist', got {dataset!r}."
            )
        from ..torch import paper_cnn_variant_params
        from ..torch._device import check_device

        device = str(check_device(device))
        trained = list(dict.fromkeys([*variants, *_sweep_variants(thetas, dpp_weights)]))
        settings = {v: dict(paper_cnn_variant_params(v, quick=quick, epochs=epochs), device=device) for v in trained}
        quick_train = _CNN_QUICK_TRAIN
        if quick:
            # The exact distance between 2000-point clouds costs seconds per draw, the bulk of a
            # quick run of the CNN; 1000 points cost an eighth.
            gap_points = 1000
    else:
        if device != "cpu":
            raise ValueError(
                f"device={device!r} places the paper's network (network='paper-cnn'); the "
                "perceptron runs in NumPy on the CPU."
            )
        trained = list(dict.fromkeys([*variants, *_sweep_variants(thetas, dpp_weights)]))
        settings = {v: dpp_variant_params(v, dataset=dataset, quick=quick, epochs=epochs) for v in trained}
    sweep = _sweep_grid(thetas, dpp_weights, settings.get(SWEEP_VARIANT))
    notes = [
        "Protocol: every test image queries the training set (the database) by Euclidean distance "
        "between the 2-D features; AP@K divides by the hits within the top K (the paper's "
        "Appendix A.2). Gap to P: mean 2-Wasserstein distance between the test features and "
        f"uniform samples of [-1, 1]^2 ({gap_repeats} draws of {gap_points} points).",
    ]
    if network == "paper-cnn":
        epochs_used = settings[variants[0]]["epochs"]
        notes += [
            "Network: the paper's CNN in PyTorch (conv 5x5 32-32-64 with batch normalization, max then "
            "average pooling, FC 200 and 2; no 10-unit layer, see spectral_ml.torch.PaperMNISTNet) with the "
            "paper's settings: summed contrastive loss (margin 0.8, α = 5), −λ₁ det L with λ₁ = 1e3 (the "
            "exact gradient while det L ≥ 1e-7, else the sub-gradient; σ = 0.2, Δ = 1e-7), WGAN λ₂ = 1e6 "
            "(critic 2-64-64-1, clip 0.01, 5 critic steps), RMSprop 1e-4, "
            f"batch 200, {epochs_used} epoch(s), PyTorch device {device}"
            + (f", trained on a stratified subset of {_CNN_QUICK_TRAIN} images." if quick else "."),
            "The paper gives no θ for DPPSG*; the column θ says which each row used (PaperCNNLearner's "
            f"default {report.format_parameter(PAPER_NETWORK_THETA)}: θ = 0.1 at λ₁ = 1e3 costs mAP, see the "
            "sweep of θ).",
        ]
    else:
        notes += [
            "Network: a perceptron with one hidden layer of 200 units (the paper uses a convolutional "
            "network), RMSprop, batch 200, σ = 0.2, Δ = 1e-7, margin 0.8, α = 5, the contrastive loss "
            "averaged over the pairs; λ₁ and λ₂ chosen on a validation split of MNIST's training set "
            "(see run_dpp_retrieval's Notes), DPPSG*'s θ = "
            f"{report.format_parameter(dpp_variant_params('DPPSG*')['dpp_theta'])} (the columns λ₁ and θ give "
            "each row's).",
            "The paper's mAP@10 column is its MNIST Table 1; our levels are higher because of the "
            "network and training, so compare the differences between the rows.",
        ]
    data_dir = None if data_dir is None else str(data_dir)
    record_settings = {
        "dataset": dataset,
        "seeds": seeds,
        "variants": variants,
        "quick": quick,
        "learner": settings,
        "network": network,
        "sweep_variant": SWEEP_VARIANT,
        "thetas": None if sweep is None else sweep[0],
        "dpp_weights": None if sweep is None else sweep[1],
    }
    units: list[tuple] = [(seed, variant) for seed in seeds for variant in variants]
    if sweep is not None:
        own = (settings[SWEEP_VARIANT]["dpp_theta"], settings[SWEEP_VARIANT]["dpp_weight"])
        for seed in seeds:
            if "baseline" not in variants:
                units.append((seed, "baseline"))
            for weight in sweep[1]:
                for theta in sweep[0]:
                    point = (seed, SWEEP_VARIANT, theta, weight)
                    if (theta, weight) != own or SWEEP_VARIANT not in variants:
                        units.append(point)
    compute = functools.partial(
        _retrieval_unit,
        dataset=dataset,
        data_dir=data_dir,
        quick=quick,
        network=network,
        settings=settings,
        quick_train=quick_train,
        gap_points=gap_points,
        gap_repeats=gap_repeats,
        first_seed=seeds[0],
    )
    assemble = functools.partial(
        _assemble_retrieval,
        settings=record_settings,
        notes=notes,
    )
    # The products of a batch of 200 are too small to gain from BLAS threads: blas_threads
    # (default 1) holds whatever the number of jobs.
    return Protocol(
        "dpp-retrieval",
        {**record_settings, "data_dir": data_dir},
        units,
        compute,
        assemble,
        unit_name="run",
        threads=blas_threads,
    )
