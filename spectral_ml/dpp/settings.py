"""The settings of the DPP term, as one validated object, and the paper's variants.

:class:`DPPSettings` holds what every user of the term chooses: the path (exact gradient,
DPPSG, DPPSG* or the automatic switch), the kernel width σ, the objective, the switch
threshold β, DPPSG's floor Δ, DPPSG*'s step θ, what to do when the kernel underflows and
the weight λ₁ of the term in a loss. It is checked once, when it is made, and accepted by
:func:`~spectral_ml.dpp.dpp_diversity`, :func:`~spectral_ml.nn.dpp_loss`, the training
objective and step of :mod:`spectral_ml.nn`, both feature learners and the PyTorch function
and module of :mod:`spectral_ml.torch`.

The learners name the DPP term with their own short vocabulary (:data:`TRAINING_METHODS`):
``"dppsg"`` and ``"dppsg*"`` there mean the paper's rule, the exact gradient while
``det L ≥ β`` and that sub-gradient otherwise. :meth:`DPPSettings.from_params` is the one
place that turns those flat parameters (``dpp``, ``dpp_sigma``, ...) into settings.
:data:`PAPER_VARIANTS` is the one table of the paper's Table 1 rows: which DPP term and
whether the WGAN term, for the perceptron and the paper's network alike, and
:data:`PAPER_SETTINGS` the paper's own DPP term of its MNIST experiment, by variant name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

from .._validation import check_choice, check_positive, check_real
from .kernel import DEFAULT_SIGMA, check_sigma
from .subgradient import DEFAULT_DELTA, DEFAULT_THETA

__all__ = [
    "DPPSettings",
    "PaperVariant",
    "PAPER_VARIANTS",
    "PAPER_SETTINGS",
    "PAPER_NETWORK_THETA",
    "TRAINING_METHODS",
    "DEFAULT_BETA",
    "check_sigma",
]

#: Threshold β on det L below which ``method="auto"`` leaves the exact gradient.
DEFAULT_BETA = 1e-7

#: DPPSG*'s step θ of :class:`~spectral_ml.torch.PaperCNNLearner` by default, chosen by the
#: sweeps of ``dpp-retrieval --theta`` (the results page). Where 2-D features take the
#: sub-gradient (every batch of 200), the term pushes with λ₁θ(I − L); at the paper's
#: λ₁ = 10³ on its summed contrastive loss, θ = 10⁻³ costs no measurable mAP@10 and pushes
#: with about the contrastive gradient of the trained network, while θ = 0.1 pushes a hundred
#: times as hard and costs 12 to 16 points. No θ gains. :class:`~spectral_ml.nn.DPPFeatureLearner`,
#: whose λ₁ = 3·10⁻⁴ weighs a contrastive loss averaged over the pairs, keeps θ = 0.1, which
#: costs it nothing measurable either.
PAPER_NETWORK_THETA = 1e-3

#: Values of a learner's ``dpp`` parameter: the paper's DPPSG and DPPSG* switch from the
#: exact gradient to that sub-gradient when ``det L < beta``; ``"exact"`` always differentiates.
TRAINING_METHODS = ("dppsg", "dppsg*", "exact")

METHODS = ("auto", "exact", "dppsg", "dppsg*")
OBJECTIVES = ("logdet", "det")
SUBGRADIENTS = ("dppsg", "dppsg*")
UNDERFLOWS = ("raise", "allow")

# The learners' flat parameter behind each field; method and subgradient come from their
# ``dpp``, and underflow is not theirs to choose (training always allows it).
FLAT_NAMES = {
    "weight": "dpp_weight",
    "sigma": "dpp_sigma",
    "objective": "dpp_objective",
    "beta": "dpp_beta",
    "delta": "dpp_delta",
    "theta": "dpp_theta",
}
_FIELD_OF = {key: field for field, key in FLAT_NAMES.items()}

#: Defaults of those flat parameters in :class:`~spectral_ml.nn.DPPFeatureLearner` and
#: :class:`~spectral_ml.nn.FeatureObjective` (``dpp_weight=None``: the method's default).
FLAT_DEFAULTS = {
    "dpp_weight": None,
    "dpp_sigma": DEFAULT_SIGMA,
    "dpp_objective": "logdet",
    "dpp_beta": DEFAULT_BETA,
    "dpp_delta": DEFAULT_DELTA,
    "dpp_theta": DEFAULT_THETA,
}


# Each field's check, in the order the public functions have always checked their keywords
# (the first bad one is the one reported). Each returns the value in the form computed with.
_CHECKS = {
    "weight": lambda v, name: check_real(v, name, low=0.0),
    "objective": lambda v, name: check_choice(v, name, OBJECTIVES),
    "method": lambda v, name: check_choice(v, name, METHODS),
    "subgradient": lambda v, name: check_choice(v, name, SUBGRADIENTS),
    "sigma": check_sigma,
    "beta": lambda v, name: check_positive(v, name),
    "delta": lambda v, name: check_positive(v, name),
    "theta": lambda v, name: check_positive(v, name, upper=1.0),
    "underflow": lambda v, name: check_choice(v, name, UNDERFLOWS),
}


def _same(value: Any, default: Any) -> bool:
    """Whether a keyword was left at its default (compared by value: 0.2 and np.float64(0.2) alike)."""
    if value is default:
        return True
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays and other objects without a plain equality
        return False


@dataclasses.dataclass(frozen=True, kw_only=True)
class DPPSettings:
    r"""Settings of the DPP diversity term, checked once when made.

    One object for every user of the term: :func:`~spectral_ml.dpp.dpp_diversity`,
    :func:`~spectral_ml.nn.dpp_loss`, :class:`~spectral_ml.nn.FeatureObjective` and
    :class:`~spectral_ml.nn.TrainingStep`, :class:`~spectral_ml.nn.DPPFeatureLearner` and
    :class:`~spectral_ml.torch.PaperCNNLearner` (as their ``dpp`` parameter),
    :func:`~spectral_ml.torch.dpp_diversity_loss` and :class:`~spectral_ml.torch.DPPDiversity`
    take it as ``settings=`` (the learners as ``dpp=``). Each of them still takes the
    separate keywords it always took; given a ``DPPSettings``, those keywords must be left at
    their defaults (a changed one raises ``ValueError`` naming it, rather than one of the two
    being ignored).

    The object is immutable (hashable, safe to share between processes and to deep-copy, as
    scikit-learn's ``clone`` does); :meth:`replace` returns a checked copy with some fields
    changed.

    Parameters
    ----------
    method : {"auto", "exact", "dppsg", "dppsg*"}, default="auto"
        The path: ``"auto"`` takes the exact gradient while L factors and
        :math:`\log\det L\ge\log\beta` and the sub-gradient ``subgradient`` otherwise; ``"exact"``
        always differentiates (and raises where L is not numerically positive definite);
        ``"dppsg"`` and ``"dppsg*"`` always take that proper sub-gradient.
    subgradient : {"dppsg", "dppsg*"}, default="dppsg*"
        The sub-gradient of ``method="auto"``.
    sigma : float, default=0.2
        Kernel width σ > 0 of :math:`L_{ij} = \exp(-\|x_i - x_j\|^2/\sigma^2)`, with
        :math:`1/\sigma^2` within float64.
    objective : {"logdet", "det"}, default="logdet"
        The diversity ``L_D``: ``log det L``, or the paper's ``det L`` (which underflows for
        batches of a few hundred points).
    beta : float, default=1e-7
        Threshold β > 0 on ``det L`` of the automatic switch (compared in log space).
    delta : float, default=1e-7
        DPPSG's eigenvalue floor Δ > 0.
    theta : float, default=0.1
        DPPSG*'s step θ ∈ (0, 1] toward the identity.
    underflow : {"raise", "allow"}, default="raise"
        When every off-diagonal entry of L underflows (a batch far apart at width σ):
        a ``ValueError`` naming ``sigma``, or (``"allow"``, what training wants) the identity
        kernel's result, value 0 and a zero direction.
    weight : float, default=1.0
        λ₁ ≥ 0, the weight of the term in a loss (:func:`~spectral_ml.nn.dpp_loss`, the
        training objective, the learners). The term itself
        (:func:`~spectral_ml.dpp.dpp_diversity`, :func:`~spectral_ml.torch.dpp_diversity_loss`,
        :class:`~spectral_ml.torch.DPPDiversity`) is returned unweighted and does not read it.

    Raises
    ------
    ValueError
        For a value out of its range or not among its choices; the message names the field.
        Numbers are stored as Python floats.

    See Also
    --------
    DPPSettings.from_params : the settings of a learner's flat ``dpp_*`` parameters.
    dpp_diversity : the term and its paths.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.dpp import DPPSettings, dpp_diversity
    >>> settings = DPPSettings(sigma=0.3, theta=0.05)
    >>> X = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    >>> X[1] = X[0]  # a duplicated point: the sub-gradient
    >>> dpp_diversity(X, settings=settings).method
    'dppsg*'
    >>> settings.replace(method="dppsg").method
    'dppsg'
    >>> DPPSettings(theta=2.0)
    Traceback (most recent call last):
    ...
    ValueError: theta must lie in (0, 1], got 2.0.

    A learner's flat parameters, with the paper's rule for ``"dppsg*"`` (exact gradient while
    ``det L ≥ β``, DPPSG* otherwise) and training's tolerance of an underflowing kernel:

    >>> s = DPPSettings.from_params({"dpp": "dppsg*", "dpp_sigma": 0.5, "dpp_weight": 1e-3})
    >>> s.method, s.subgradient, s.sigma, s.weight, s.underflow
    ('auto', 'dppsg*', 0.5, 0.001, 'allow')
    """

    method: str = "auto"
    subgradient: str = "dppsg*"
    sigma: float = DEFAULT_SIGMA
    objective: str = "logdet"
    beta: float = DEFAULT_BETA
    delta: float = DEFAULT_DELTA
    theta: float = DEFAULT_THETA
    underflow: str = "raise"
    weight: float = 1.0

    def __post_init__(self):
        for name, check in _CHECKS.items():
            # Frozen: the checked value (a Python float for numbers) replaces the given one.
            object.__setattr__(self, name, check(getattr(self, name), name))

    def replace(self, **changes: Any) -> DPPSettings:
        """A copy with ``changes`` applied, checked like a new object.

        Raises
        ------
        ValueError
            For an invalid value (naming the field); ``TypeError`` for an unknown field.
        """
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_keywords(cls, settings: DPPSettings | None, **keywords: Any) -> DPPSettings:
        """The settings of a function that takes both ``settings=`` and the separate keywords.

        Parameters
        ----------
        settings : DPPSettings or None
            What the caller passed as ``settings``.
        **keywords
            The caller's own keywords (a subset of the fields, with the field defaults).

        Returns
        -------
        DPPSettings
            ``settings`` when given, else ``DPPSettings(**keywords)`` (checked).

        Raises
        ------
        ValueError
            When ``settings`` is not a ``DPPSettings``, when a keyword was changed from its
            default although ``settings`` was given (naming it), or for an invalid keyword.
        """
        if settings is None:
            return cls(**keywords)
        if not isinstance(settings, cls):
            raise ValueError(f"settings must be a DPPSettings or None, got {type(settings).__name__}.")
        for name, value in keywords.items():
            if not _same(value, _FIELD_DEFAULTS[name]):
                raise ValueError(
                    f"{name}={value!r} was given with settings=DPPSettings(...): set it in the settings "
                    f"(settings.replace({name}=...)) or pass the keywords alone."
                )
        return settings

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, Any],
        *,
        defaults: Mapping[str, Any] | None = None,
        default_weight: float | Mapping[str, float] = 1.0,
    ) -> DPPSettings | None:
        """The settings of a learner's flat parameters (``dpp``, ``dpp_sigma``, ...), or None.

        This is where a learner's ``dpp`` names become paths: ``"dppsg"`` and ``"dppsg*"``
        are ``method="auto"`` with that ``subgradient`` (the paper's rule: exact gradient
        while ``det L ≥ β``), ``"exact"`` is ``method="exact"``. Training settings allow an
        underflowing kernel (``underflow="allow"``): a batch spread far apart at width σ is
        a legitimate state, as diverse as the kernel can tell, not a mistake in σ.

        Parameters
        ----------
        params : mapping
            ``"dpp"``: None (no DPP term), one of :data:`TRAINING_METHODS`, or a
            ``DPPSettings`` (returned as it is). Optional ``"dpp_weight"``, ``"dpp_sigma"``,
            ``"dpp_objective"``, ``"dpp_beta"``, ``"dpp_delta"``, ``"dpp_theta"`` (missing:
            the field defaults); other keys are ignored, so an estimator's ``get_params()``
            can be passed as it is.
        defaults : mapping, optional
            The learner's defaults of those flat parameters (default :data:`FLAT_DEFAULTS`):
            with a ``DPPSettings`` as ``dpp`` they must be left there.
        default_weight : float or mapping, default=1.0
            λ₁ when ``dpp_weight`` is None: one value, or one per ``dpp`` name.

        Returns
        -------
        DPPSettings or None

        Raises
        ------
        ValueError
            Naming the flat parameter (``dpp``, ``dpp_theta``, ...) that is invalid, or that
            was changed although ``dpp`` is a ``DPPSettings``.
        """
        dpp = params["dpp"]
        if dpp is None:
            return None
        flat = {key: params[key] for key in FLAT_NAMES.values() if key in params}
        if isinstance(dpp, cls):
            defaults = FLAT_DEFAULTS if defaults is None else defaults
            for key, value in flat.items():
                if key in defaults and not _same(value, defaults[key]):
                    field = _FIELD_OF[key]
                    raise ValueError(
                        f"{key}={value!r} was given with dpp=DPPSettings(...), which holds every DPP "
                        f"setting: set {field} in it (dpp.replace({field}=...)) or leave {key} at "
                        f"its default ({defaults[key]!r})."
                    )
            return dpp
        if not isinstance(dpp, str) or dpp not in TRAINING_METHODS:
            raise ValueError(f"dpp must be None or one of {TRAINING_METHODS} or a DPPSettings, got {dpp!r}.")
        # The automatic switch is the paper's rule; "exact" never leaves the gradient.
        fields: dict[str, Any] = {"method": "exact"} if dpp == "exact" else {"method": "auto", "subgradient": dpp}
        if flat.get("dpp_weight") is None:
            flat["dpp_weight"] = default_weight[dpp] if isinstance(default_weight, Mapping) else default_weight
        for field, key in FLAT_NAMES.items():
            if key in flat:
                # Checked under the learner's name of the parameter, which is the one to fix.
                fields[field] = _CHECKS[field](flat[key], key)
        return cls(**fields, underflow="allow")


# The defaults of the fields, which the functions' own keywords share.
_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(DPPSettings)}


class PaperVariant(NamedTuple):
    """One row of the paper's Table 1: the learner's ``dpp`` and ``wgan`` parameters."""

    dpp: str | None
    wgan: bool


#: The paper's variants (Yu, Li & Li, Table 1) and "WGAN" (the contrastive loss with the WGAN
#: term alone, a control the paper does not report): the DPP term of each (a
#: :data:`TRAINING_METHODS` name, None for none) and whether it adds the WGAN term. The
#: network-specific numbers (weights, learning rates) belong to each network's own settings.
PAPER_VARIANTS = {
    "baseline": PaperVariant(None, False),
    "DPPSG": PaperVariant("dppsg", False),
    "DPPSG*": PaperVariant("dppsg*", False),
    "DPPSG+WGAN": PaperVariant("dppsg", True),
    "DPPSG*+WGAN": PaperVariant("dppsg*", True),
    "WGAN": PaperVariant(None, True),
}


def _paper_settings(subgradient: str) -> DPPSettings:
    return DPPSettings(
        method="auto",
        subgradient=subgradient,
        sigma=0.2,
        objective="det",
        beta=1e-7,
        delta=1e-7,
        theta=0.1,
        weight=1e3,
        underflow="allow",
    )


#: The DPP term of the paper's MNIST experiment (Appendix A.1), by the name of its variant,
#: to pass as a learner's ``dpp``: ``−λ₁ det L`` with λ₁ = 10³, σ = 0.2 and Δ = 10⁻⁷, the
#: exact gradient while ``det L ≥ β = 10⁻⁷`` and the variant's sub-gradient otherwise. The
#: paper asks for "a small value" of DPPSG*'s θ and gives none: these settings take θ = 0.1,
#: which costs the paper's network 12 to 16 points of mAP@10 (see :data:`PAPER_NETWORK_THETA`).
#:
#: >>> from spectral_ml.dpp.settings import PAPER_SETTINGS
#: >>> s = PAPER_SETTINGS["DPPSG*"]
#: >>> s.objective, s.weight, s.theta, s.subgradient
#: ('det', 1000.0, 0.1, 'dppsg*')
PAPER_SETTINGS = {"DPPSG": _paper_settings("dppsg"), "DPPSG*": _paper_settings("dppsg*")}
