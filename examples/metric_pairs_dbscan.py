"""Learning a metric from pairs, and clustering with it
====================================================

Class labels are not always at hand; judgements on pairs often are:
"these two belong together", "these two do not". The metric learners of
:mod:`spectral_ml.metric` learn from such pairs with ``fit_pairs``,
score new pairs with ``pair_distance`` and ``pair_score``, and hand the
learned distance to any scikit-learn estimator that takes a ``metric=``
through ``get_metric``. This example learns a GMML metric from labelled
pairs and clusters new, unlabelled points with
:class:`~sklearn.cluster.DBSCAN` in it.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score, roc_auc_score
from sklearn.neighbors import NearestNeighbors

from spectral_ml.metric import GMMLMetric

# %%
# Points whose groups hide in two of eight coordinates
# ----------------------------------------------------
# Three groups, 4 apart in the first two coordinates with a spread of
# 0.5 around their centres; six more coordinates are noise with three
# times that spread. Measured over all eight coordinates, the noise
# dominates the distances.
rng = np.random.default_rng(0)
centres = 4.0 * np.array(
    [[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]]
)


def make_points(n):
    group = rng.integers(0, 3, n)
    informative = centres[group] + rng.normal(scale=0.5, size=(n, 2))
    noise = rng.normal(scale=1.5, size=(n, 6))
    return np.hstack([informative, noise]), group


# %%
# Pairs with a verdict
# --------------------
# From 300 points, 1300 random pairs, each labelled +1 when its two
# points are in the same group and −1 otherwise; the groups themselves
# are never given to the learner. Pairs are arrays of shape
# ``(n_pairs, 2, n_features)``, as metric-learn's pair learners take
# them. 1000 pairs train the metric, 300 test it.
X_annotated, group_annotated = make_points(300)
first, second = rng.integers(0, 300, size=(2, 1400))
keep = first != second
first, second = first[keep][:1300], second[keep][:1300]
pairs = np.stack([X_annotated[first], X_annotated[second]], axis=1)
verdict = np.where(
    group_annotated[first] == group_annotated[second], 1, -1
)
pairs_fit, verdict_fit = pairs[:1000], verdict[:1000]
pairs_test, verdict_test = pairs[1000:], verdict[1000:]
similar = np.mean(verdict == 1)
print(f"pairs: shape {pairs.shape}, {similar:.0%} of them similar")

# %%
# Learning from the pairs
# -----------------------
# ``fit_pairs`` reduces the pairs to the scatter of the similar and of
# the dissimilar pairs' differences and computes GMML's metric from them
# (AMLMetric takes pairs the same way).
model = GMMLMetric().fit_pairs(pairs_fit, verdict_fit)
M = model.get_mahalanobis_matrix()
print(f"learned from {model.n_pairs_} pairs, M of shape {M.shape}")

# %%
# Scoring new pairs
# -----------------
# ``pair_distance`` gives the learned distance within each pair,
# ``pair_score`` its opposite (higher: more likely similar), ready for
# scikit-learn's ranking metrics. The ROC AUC of telling the held-out
# similar pairs from the dissimilar ones:
euclidean = np.linalg.norm(pairs_test[:, 0] - pairs_test[:, 1], axis=1)
learned = model.pair_distance(pairs_test)
auc = roc_auc_score(verdict_test, -euclidean)
print(f"ROC AUC, Euclidean distance: {auc:.3f}")
auc = roc_auc_score(verdict_test, model.pair_score(pairs_test))
print(f"ROC AUC, learned distance:   {auc:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(6.6, 3.2), layout="constrained")
for ax, distance, title in (
    (axes[0], euclidean, "Euclidean"),
    (axes[1], learned, "learned"),
):
    bins = np.linspace(0, distance.max(), 30)
    ax.hist(
        distance[verdict_test == 1],
        bins=bins,
        alpha=0.7,
        label="similar pairs",
    )
    ax.hist(
        distance[verdict_test == -1],
        bins=bins,
        alpha=0.7,
        label="dissimilar pairs",
    )
    ax.set_xlabel("distance within the pair")
    ax.set_title(f"{title} distance")
axes[0].set_ylabel("held-out pairs")
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="outside lower center", ncols=2)

# %%
# In the Euclidean distance the noise coordinates blur the two kinds of
# pairs together; the learned distance separates them.
#
# Clustering with the learned distance
# ------------------------------------
# New points, without any labels, are clustered by DBSCAN.
# ``get_metric()`` returns the learned distance as a function of two
# points, which any ``metric=`` argument of scikit-learn accepts (with a
# Python function, the brute-force search makes the fewest calls).
# DBSCAN's radius ``eps`` is set by the usual rule of thumb, from the
# distances to each point's 5th nearest neighbour (here their 90th
# percentile), computed in the same metric.
X_new, group_new = make_points(300)


def cluster(X, metric):
    search = NearestNeighbors(
        n_neighbors=6, metric=metric, algorithm="brute"
    ).fit(X)
    eps = np.quantile(search.kneighbors(X)[0][:, -1], 0.9)
    return DBSCAN(
        eps=eps, min_samples=5, metric=metric, algorithm="brute"
    ).fit_predict(X)


clusterings = {
    "Euclidean": cluster(X_new, "euclidean"),
    "learned": cluster(X_new, model.get_metric()),
}
for name, labels in clusterings.items():
    n = len(set(labels) - {-1})
    noise = np.mean(labels == -1)
    ari = adjusted_rand_score(group_new, labels)
    clusters = f"{n} cluster{'s' * (n != 1)}"
    print(f"{name} distance: {clusters}, {noise:.0%} noise")
    print(f"  adjusted Rand index against the true groups {ari:.3f}")

# %%
# The clusters, drawn in the two coordinates that hold the groups
# (DBSCAN's noise in grey):
fig, axes = plt.subplots(1, 2, figsize=(6.6, 3.6), layout="constrained")
for ax, (name, labels) in zip(axes, clusterings.items(), strict=True):
    noise = labels == -1
    ax.scatter(
        *X_new[noise, :2].T, s=10, color="lightgrey", label="noise"
    )
    for k in sorted(set(labels) - {-1}):
        ax.scatter(
            *X_new[labels == k, :2].T, s=10, label=f"cluster {k + 1}"
        )
    ax.set_title(f"{name} distance")
    ax.set_xlabel("coordinate 1")
    ax.set_aspect("equal")
    ax.legend(fontsize="small", markerscale=1.5, loc="upper left")
axes[0].set_ylabel("coordinate 2")

# %%
# The same clusters, faster
# -------------------------
# A callable metric costs a Python call per pair of points. The learned
# distance is the Euclidean distance after ``transform``, so clustering
# the transformed points with the built-in Euclidean metric gives the
# same result with compiled code:
same = np.array_equal(
    cluster(model.transform(X_new), "euclidean"),
    clusterings["learned"],
)
print(f"same labels from DBSCAN on model.transform(X_new): {same}")

# %%
# sphinx_gallery_thumbnail_number = 2
