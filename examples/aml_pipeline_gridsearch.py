"""AML in a scikit-learn pipeline, tuned by grid search
====================================================

The metric learners of :mod:`spectral_ml.metric` are scikit-learn
transformers: they fit in a :class:`~sklearn.pipeline.Pipeline` between
a scaler and a nearest-neighbour classifier, and
:class:`~sklearn.model_selection.GridSearchCV` tunes their parameters
like any other step's. This example standardizes the wine data, learns
an Adversarial Metric Learning (AML) metric, classifies with 5 nearest
neighbours in it, and chooses AML's α and β (and GMML's t, as a
baseline) by cross-validation on the training part only. The test part
is used once, at the end.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    train_test_split,
)
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spectral_ml.datasets import load_dataset
from spectral_ml.metric import AMLMetric, GMMLMetric
from spectral_ml.plotting import (
    plot_eigenvalue_spectrum,
    plot_sensitivity,
)

# %%
# The data
# --------
# 178 wines, 13 chemical measurements in different units, three
# cultivars. A fifth of the samples is set aside for the final test.
data = load_dataset("wine")
X_train, X_test, y_train, y_test = train_test_split(
    data.X, data.y, test_size=0.2, stratify=data.y, random_state=0
)
n_train, n_test, n_features = len(y_train), len(y_test), data.X.shape[1]
print(f"{n_train} training, {n_test} test wines, {n_features} features")

# %%
# Three pipelines and their grids
# -------------------------------
# The same scaler and classifier around three metrics: the Euclidean one
# (no metric step), GMML (:class:`~spectral_ml.metric.GMMLMetric`, one
# parameter t) and AML (:class:`~spectral_ml.metric.AMLMetric`, α
# weighting the adversarial pairs and β their distance to the real
# ones). A parameter of a step is named ``step__parameter``, the step
# named after its class by :func:`~sklearn.pipeline.make_pipeline`.
cv = StratifiedKFold(3, shuffle=True, random_state=0)
t_grid = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
ab_grid = [0.01, 0.1, 1.0, 10.0, 100.0]
searches = {
    "Euclidean": GridSearchCV(
        make_pipeline(StandardScaler(), KNeighborsClassifier(5)),
        {},
        cv=cv,
    ),
    "GMML": GridSearchCV(
        make_pipeline(
            StandardScaler(),
            GMMLMetric(random_state=0),
            KNeighborsClassifier(5),
        ),
        {"gmmlmetric__t": t_grid},
        cv=cv,
        return_train_score=True,
    ),
    "AML": GridSearchCV(
        make_pipeline(
            StandardScaler(),
            AMLMetric(random_state=0),
            KNeighborsClassifier(5),
        ),
        {"amlmetric__alpha": ab_grid, "amlmetric__beta": ab_grid},
        cv=cv,
    ),
}

# %%
# Fitting the searches
# --------------------
# Each search fits its pipeline on two folds and scores it on the third,
# for every point of its grid, then refits the best on the whole
# training part. AML's solver may stop at its iteration limit for
# extreme α and β, which scikit-learn reports as a
# ``ConvergenceWarning``; those points simply score lower.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, search in searches.items():
        search.fit(X_train, y_train)
        chosen = ", ".join(
            f"{key.split('__')[1]} = {value:g}"
            for key, value in search.best_params_.items()
        )
        score = search.best_score_
        print(f"{name:<10s} CV accuracy {score:.3f}  {chosen}")

# %%
# How much α and β matter
# -----------------------
# The cross-validated accuracy over AML's grid. On wine it moves by a
# few points over four decades of each parameter: AML is not sensitive
# to them here, and the grid's best is only marginally better than its
# neighbours: one more sample right in one of the three folds moves the
# mean by about 0.7 points.
aml = searches["AML"]
# One row per α (the first parameter varies slowest), one column per β
n = len(ab_grid)
scores = aml.cv_results_["mean_test_score"].reshape(n, n)
fig, ax = plt.subplots(figsize=(6.4, 5.0), layout="constrained")
image = ax.imshow(scores, cmap="viridis", origin="lower")
ax.set_xticks(range(n), [f"{b:g}" for b in ab_grid])
ax.set_yticks(range(n), [f"{a:g}" for a in ab_grid])
ax.set_xlabel("β")
ax.set_ylabel("α")
middle = (scores.min() + scores.max()) / 2
for i in range(n):
    for j in range(n):
        color = "black" if scores[i, j] > middle else "white"
        label = f"{scores[i, j]:.3f}"
        ax.text(j, i, label, ha="center", va="center", color=color)
best_i = ab_grid.index(aml.best_params_["amlmetric__alpha"])
best_j = ab_grid.index(aml.best_params_["amlmetric__beta"])
corner = (best_j - 0.5, best_i - 0.5)
outline = plt.Rectangle(corner, 1, 1, fill=False, ec="red", lw=3)
ax.add_patch(outline)
fig.colorbar(image, ax=ax, label="cross-validated accuracy")
ax.set_title("AML + 5-NN on wine (chosen: outlined)")

# %%
# GMML's t moves its metric along the geodesic between the inverse
# similar-pair scatter and the dissimilar-pair scatter. Along the grid,
# its error on the training folds ("train") and on the held-out fold
# ("test"), averaged over the three splits:
gmml = searches["GMML"]
fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
plot_sensitivity(
    t_grid,
    1 - gmml.cv_results_["mean_train_score"],
    1 - gmml.cv_results_["mean_test_score"],
    param_name="t",
    log_x=False,
    ax=ax,
    title="GMML + 5-NN on wine",
    ylabel="error rate",
)

# %%
# The test, once
# --------------
# Each search's refitted pipeline classifies the test part.
for name, search in searches.items():
    error = 1 - search.score(X_test, y_test)
    print(f"{name:<10s} 5-NN test error {error:.3f}")

# %%
# What the metrics learned
# ------------------------
# The learned Mahalanobis matrix ``M`` stretches some directions of the
# standardized features and shrinks others; its eigenvalues show how
# much. Nearest neighbours depend on the shape of ``M``, not on its
# scale, so each is divided by its mean eigenvalue; the Euclidean metric
# is ``M = I``, all eigenvalues 1.
metrics = {
    name: searches[name].best_estimator_[1] for name in ("GMML", "AML")
}
spectra = {}
for name, model in metrics.items():
    w = np.linalg.eigvalsh(model.get_mahalanobis_matrix())
    spectra[name] = w / w.mean()
    print(
        f"{name}: largest / smallest eigenvalue {w.max() / w.min():.3g}"
    )
spectra["Euclidean"] = np.ones(X_train.shape[1])
fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
plot_eigenvalue_spectrum(
    spectra,
    ax=ax,
    title="eigenvalues of M, divided by their mean",
)

# %%
# Any step of the pipeline could be tuned the same way, e.g. the number
# of neighbours (``kneighborsclassifier__n_neighbors``), and
# :class:`~spectral_ml.metric.AMLMetricCV` chooses α and β by its own
# inner cross-validation when a single estimator is handier than a
# search.
