"""The DPP paper's experiments: retrieval table and figure, overhead table (quick runs)."""

import csv

import pytest

from spectral_ml.experiments.dpp import (
    ALL_VARIANTS,
    PAPER_TABLE1,
    VARIANTS,
    dpp_variant_params,
    run_dpp_overhead,
    run_dpp_retrieval,
)
from spectral_ml.nn import DPPFeatureLearner


def test_quick_retrieval_writes_the_table_and_the_figures(tmp_path, monkeypatch):
    import spectral_ml.plotting

    figures, plot_loss = [], spectral_ml.plotting.plot_loss_curves
    monkeypatch.setattr(
        spectral_ml.plotting,
        "plot_loss_curves",
        lambda *args, **kwargs: figures.append(plot_loss(*args, **kwargs)) or figures[-1],
    )
    out = run_dpp_retrieval("digits", tmp_path, seeds=(0,), quick=True, epochs=3, progress=False)
    # The loss axis names L_C in mathtext, rendered as a subscript rather than shown raw.
    assert figures[0].axes[0].get_ylabel() == "contrastive loss $L_C$"
    table = out["table"]
    assert [row[0] for row in table.rows] == list(VARIANTS)
    assert table.columns[:7] == ["method", "λ₁", "θ", "mAP@10", "mAP@20", "mAP@50", "mAP@100"]
    # Each row says which λ₁ and θ it used: θ only for DPPSG*, λ₁ for every DPP term.
    settings = {row[0]: (row[1], row[2]) for row in table.rows}
    assert settings["baseline"] == ("–", "–") and settings["DPPSG"][1] == "–"
    assert settings["DPPSG*"] == ("3e-4", "1e-1")
    for path in out["files"]:
        assert path.exists() and path.stat().st_size > 0
    names = {p.name for p in out["files"]}
    assert {
        "dpp_retrieval_digits.csv",
        "dpp_retrieval_digits.md",
        "dpp_retrieval_digits_runs.csv",
        "dpp_retrieval_digits_features.png",
        "dpp_retrieval_digits_loss.png",
    } <= names
    assert out["figure"].name == "dpp_retrieval_digits_features.png"
    with open(tmp_path / "dpp_retrieval_digits.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + len(VARIANTS)
    res = out["results"]
    for variant in VARIANTS:
        maps = res[variant]["map"][0]
        assert set(maps) == {10, 20, 50, 100}
        assert all(0.0 < v <= 100.0 for v in maps.values())
        assert res[variant]["gap"][0] > 0
    # The DPP variants record their paths; the baseline has none.
    assert res["DPPSG*"]["subgradient"][0] >= 0.0
    assert "path_dppsg*" not in res["baseline"]["history"][0]


def test_retrieval_seeds_give_mean_and_std(tmp_path):
    out = run_dpp_retrieval(
        "digits", tmp_path, seeds=(0, 1), quick=True, epochs=2, variants=("baseline", "WGAN"), progress=False
    )
    assert [row[0] for row in out["table"].rows] == ["baseline", "WGAN"]
    assert "±" in out["table"].formatted_rows()[0][3]
    assert len(out["results"]["baseline"]["map"]) == 2


def test_retrieval_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="variants"):
        run_dpp_retrieval("digits", tmp_path, variants=("DPP++",), progress=False)
    with pytest.raises(ValueError, match="seeds"):
        run_dpp_retrieval("digits", tmp_path, seeds=(), progress=False)
    with pytest.raises(ValueError, match="epochs"):
        run_dpp_retrieval("digits", tmp_path, epochs=0, progress=False)


def test_variant_params_follow_the_paper_settings():
    for variant in ALL_VARIANTS:
        p = dpp_variant_params(variant)
        assert p["batch_size"] == 200 and p["margin"] == 0.8 and p["contrastive_alpha"] == 5.0
        assert p["optimizer"] == "rmsprop"
        if "DPPSG" in variant:
            assert p["dpp_sigma"] == 0.2 and p["dpp_delta"] == 1e-7
            assert p["dpp"] == ("dppsg*" if "DPPSG*" in variant else "dppsg")
        else:
            assert p["dpp"] is None and not any(k.startswith("dpp_") for k in p)
        if "WGAN" in variant:
            assert p["wgan"] is True and p["wgan_n_reference"] == 2000 and p["wgan_clip_value"] == 0.01
        else:
            assert p["wgan"] is False and not any(k.startswith("wgan_") for k in p)
        # Every setting is a parameter of the learner.
        assert DPPFeatureLearner(**p).get_params()["epochs"] == p["epochs"]
    assert dpp_variant_params("DPPSG", epochs=7)["epochs"] == 7
    assert set(PAPER_TABLE1) == set(VARIANTS)
    with pytest.raises(ValueError, match="variant"):
        dpp_variant_params("DPP")


def test_quick_overhead_table_and_figure(tmp_path):
    out = run_dpp_overhead(tmp_path, batch_sizes=(50, 100), n_repeats=2, n_features=64, progress=False)
    table = out["table"]
    assert [row[0] for row in table.rows] == [50, 100]
    for row in table.rows:
        all_ms, dpp_ms = row[1], row[2]
        assert 0 < dpp_ms < all_ms
    for path in out["files"]:
        assert path.exists()
    assert out["figure"].name == "dpp_overhead.png"
    assert set(out["results"][50]["alone"]) == {"dppsg*", "dppsg", "exact"}
    with pytest.raises(ValueError, match="batch_sizes"):
        run_dpp_overhead(tmp_path, batch_sizes=(5,), progress=False)


def test_variants_come_from_the_one_table():
    from spectral_ml.dpp import PAPER_VARIANTS

    assert ALL_VARIANTS == tuple(PAPER_VARIANTS) and set(VARIANTS) <= set(ALL_VARIANTS)
    for variant, (dpp, wgan) in PAPER_VARIANTS.items():
        p = dpp_variant_params(variant)
        assert p["dpp"] == dpp and p["wgan"] is wgan
