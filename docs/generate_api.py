"""Regenerate ``docs/api.rst`` from the ``__all__`` of every public module.

Run ``python docs/generate_api.py`` after adding or removing a public name; modules that
do not import are left out and reported on standard error.
"""
import importlib
import inspect
import pathlib
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

SECTIONS = [
    ("linalg", "Spectral calculus of symmetric matrices: spectral functions and their Daleckii–Krein "
     "derivatives, SPD projection and powers, matrix geometric means, log-determinants."),
    ("testing", "Numerical gradient checks by the order of the Taylor remainder "
     "(see :ref:`taylor-test`)."),
    ("dpp", "The DPP diversity term, its exact gradient and the proper sub-gradients DPPSG / DPPSG* "
     "(see :doc:`user_guide/dpp`)."),
    ("metric", "GMML and AML estimators, the Mahalanobis API, and the array-level objectives "
     "(see :doc:`user_guide/metric`)."),
    ("nn", "Autodiff-free networks with explicit backward passes, the losses of DPP feature learning, "
     "optimizers and class-balanced batches (see :doc:`user_guide/feature_learning`)."),
    ("evaluation", "Retrieval metrics, k-NN error under a learned metric, pair verification (ROC, AUC, "
     "FPR at a target TPR) and the Wasserstein gap to a reference distribution."),
    ("datasets", "Loaders of the papers' data sets and of scikit-learn's embedded ones; synthetic data."),
    ("plotting", "Matplotlib figures of the experiments."),
    ("experiments", "Output helpers of the experiments: tables written as CSV and Markdown, "
     "progress bars, figures."),
    ("experiments.aml", "The AML paper's experiments (Table 1, Figs. 3-5), as the command line runs them "
     "(see :doc:`reproduction`)."),
    ("experiments.dpp", "The DPP paper's experiments (Table 1, Fig. 1, Table 6), as the command line runs "
     "them (see :doc:`reproduction`)."),
    ("cli", "The ``spectral-ml`` command line (see :doc:`reproduction`)."),
]

# scikit-learn estimators: document their own API, not the inherited get_params & co.
ESTIMATOR_METHODS = ["fit", "fit_pairs", "transform", "predict", "score", "batch_loss",
                     "get_mahalanobis_matrix", "pair_distance", "pair_score", "get_metric"]


def kind(obj):
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return "exception"
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or callable(obj):
        return "function"
    return "data"


def own_public_methods(cls):
    names = []
    for n, v in vars(cls).items():
        if n.startswith("_"):
            continue
        if inspect.isfunction(v):
            names.append(n)
    return names


def doc_comment(name, module):
    """The ``#:`` comment above ``name = ...`` in the module's sources (its own file first)."""
    own = pathlib.Path(inspect.getsourcefile(module)).resolve()
    others = [p for p in sorted((ROOT / "spectral_ml").rglob("*.py")) if p.resolve() != own]
    for path in [own, *others]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if re.match(rf"^{name}\s*(:[^=]*)?=", line):
                doc = []
                j = i - 1
                while j >= 0 and lines[j].startswith("#:"):
                    doc.insert(0, lines[j][2:].strip())
                    j -= 1
                if doc:
                    return " ".join(doc)
    return ""


out = []
w = out.append
w(".. _api:\n\nAPI reference\n=============\n")
w("Every public function and class, grouped by module. Array-level functions accept arrays of any "
  "supported namespace (NumPy, CuPy, PyTorch, array-api-strict) and return results in it; see "
  ":doc:`user_guide/backends`.\n")
w(".. contents:: Modules\n   :local:\n   :depth: 1\n")
missing = []
for mod, blurb in SECTIONS:
    name = f"spectral_ml.{mod}"
    try:
        m = importlib.import_module(name)
    except Exception as exc:  # a module that does not import is left out
        missing.append((name, repr(exc)))
        continue
    names = list(m.__all__)
    title = f"``{name}``"
    w(f"{title}\n{'-' * len(title)}\n")
    w(f".. module:: {name}\n")
    w(f".. currentmodule:: {name}\n")
    w(blurb + "\n")
    groups = {"class": [], "function": [], "exception": [], "data": []}
    for n in names:
        groups[kind(getattr(m, n))].append(n)
    for key, label in (("class", "Classes"), ("function", "Functions"),
                       ("exception", "Exceptions and warnings"), ("data", "Constants")):
        items = groups[key]
        if not items:
            continue
        w(f"{label}\n{'~' * len(label)}\n")
        w(".. autosummary::\n\n" + "".join(f"   {n}\n" for n in items))
        for n in items:
            obj = getattr(m, n)
            if key == "class":
                from sklearn.base import BaseEstimator
                if issubclass(obj, BaseEstimator):
                    mem = [x for x in ESTIMATOR_METHODS if hasattr(obj, x)]
                    w(f".. autoclass:: {n}\n   :members: {', '.join(mem)}\n")
                elif mod in ("testing", "dpp"):
                    # result records: their numpydoc Attributes section lists the fields
                    w(f".. autoclass:: {n}\n")
                else:
                    mem = own_public_methods(obj)
                    if mem:
                        w(f".. autoclass:: {n}\n   :members: {', '.join(mem)}\n")
                    else:
                        w(f".. autoclass:: {n}\n")
            elif key == "exception":
                w(f".. autoexception:: {n}\n")
            elif key == "function":
                w(f".. autofunction:: {n}\n")
            else:
                doc = doc_comment(n, m)
                w(f".. data:: {n}\n   :value: {obj!r}\n\n   {doc}\n")
open(DOCS / "api.rst", "w", encoding="utf-8").write("\n".join(out))
for n, e in missing:
    print("MISSING", n, e, file=sys.stderr)
