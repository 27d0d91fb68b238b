"""The sweep of DPPSG*'s θ and the DPP weight λ₁ in dpp-retrieval: units, table, figure, options."""

import csv

import pytest

from spectral_ml import cli
from spectral_ml.experiments.dpp import SWEEP_VARIANT, dpp_variant_params, retrieval_protocol, run_dpp_retrieval

from .test_report import assert_aligned


def test_a_sweep_adds_one_unit_per_seed_and_point_and_reuses_table1s():
    own = dpp_variant_params("DPPSG*", dataset="digits")
    protocol = retrieval_protocol(
        "digits", seeds=(0, 1), variants=("baseline", "DPPSG*"), thetas=[own["dpp_theta"], 1e-3]
    )
    assert protocol.units == [
        (0, "baseline"),
        (0, "DPPSG*"),
        (1, "baseline"),
        (1, "DPPSG*"),
        (0, "DPPSG*", 1e-3, own["dpp_weight"]),
        (1, "DPPSG*", 1e-3, own["dpp_weight"]),
    ]
    assert protocol.settings["thetas"] == [own["dpp_theta"], 1e-3]
    assert protocol.settings["dpp_weights"] == [own["dpp_weight"]]
    # Without the baseline or DPPSG* among the variants, the sweep trains them itself.
    protocol = retrieval_protocol("digits", seeds=(0,), variants=("WGAN",), dpp_weights=[1e-3, 1e-2])
    assert set(protocol.units) == {
        (0, "WGAN"),
        (0, "baseline"),
        (0, SWEEP_VARIANT, own["dpp_theta"], 1e-3),
        (0, SWEEP_VARIANT, own["dpp_theta"], 1e-2),
    }
    # No sweep, no extra unit.
    assert retrieval_protocol("digits", seeds=(0,), variants=("DPPSG",)).units == [(0, "DPPSG")]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"thetas": [0.1, 2.0]}, r"thetas must lie in \(0, 1\]"),
        ({"thetas": []}, "thetas must be a non-empty sequence"),
        ({"thetas": 0.1}, "thetas must be a non-empty sequence"),
        ({"dpp_weights": [-1.0]}, "dpp_weights must be a positive finite number"),
        ({"dpp_weights": [1.0, 1.0]}, "dpp_weights must not repeat a value"),
    ],
)
def test_bad_sweeps_name_their_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        retrieval_protocol("digits", seeds=(0,), **kwargs)


def test_the_sweep_writes_its_table_and_figure(tmp_path):
    out = run_dpp_retrieval(
        "digits",
        tmp_path,
        seeds=(0, 1),
        quick=True,
        epochs=2,
        variants=("baseline",),
        thetas=[1.0, 1e-2],
        dpp_weights=[3e-4, 3e-2],
        progress=False,
    )
    sweep = out["sweep"]
    assert sweep.columns[:5] == ["method", "λ₁", "θ", "λ₁θ", "mAP@10"]
    rows = sweep.formatted_rows()
    assert [r[:4] for r in rows] == [
        ["baseline", "–", "–", "–"],
        ["DPPSG*", "3e-4", "1", "3e-4"],
        ["DPPSG*", "3e-4", "1e-2", "3e-6"],
        ["DPPSG*", "3e-2", "1", "3e-2"],
        ["DPPSG*", "3e-2", "1e-2", "3e-4"],
    ]
    maps = {(r[1], r[2]): sweep.rows[i][4].value for i, r in enumerate(rows)}
    # Every batch takes the sub-gradient, whose push is λ₁θ(I - L): equal products train alike
    # (up to the rounding of the product), a hundred times the product does not.
    assert abs(maps[("3e-4", "1")] - maps[("3e-2", "1e-2")]) < 1.5
    assert maps[("3e-2", "1")] < maps[("3e-4", "1")] - 5.0
    # The difference to the baseline is paired by seed; the push grows with λ₁θ.
    base = sweep.rows[0][4].value
    assert sweep.rows[3][5].value == pytest.approx(maps[("3e-2", "1")] - base)
    ratios = [sweep.rows[i][7].value for i in range(1, 5)]
    assert ratios[2] == pytest.approx(100 * ratios[0]) and ratios[1] == pytest.approx(ratios[0] / 100)
    names = {p.name for p in out["files"]}
    assert {
        "dpp_retrieval_digits_theta.csv",
        "dpp_retrieval_digits_theta.md",
        "dpp_retrieval_digits_theta.png",
    } <= names
    for name in ("dpp_retrieval_digits_theta.csv", "dpp_retrieval_digits.csv", "dpp_retrieval_digits_runs.csv"):
        assert_aligned(tmp_path / name)
    with open(tmp_path / "dpp_retrieval_digits_runs.csv", newline="") as fh:
        runs = list(csv.DictReader(fh))
    assert len(runs) == 2 * 5 and {r["θ"] for r in runs} == {"–", "1", "1e-2"}
    assert any("Sweep:" in note for note in out["notes"])
    assert "sweep of θ and λ₁" in out["description"]


def test_the_sweep_figure_has_a_panel_per_measure():
    from spectral_ml.plotting import plot_sweep

    fig = plot_sweep(
        [1e-3, 1e-2, 1e-1],
        {
            "mAP@10 (%)": {"λ₁ = 1e3": ([88.9, 85.8, 64.2], [0.3, 0.5, 2.0]), "λ₁ = 1": ([88.7, 88.6, 88.9], None)},
            "gap to P": {"λ₁ = 1e3": ([1.0, 1.4, 2.0], [0.1, 0.1, 0.1])},
        },
        references={"mAP@10 (%)": (88.6, 0.4)},
        reference_label="baseline",
        xlabel="θ",
        title="sweep",
    )
    left, right = fig.axes
    assert left.get_xscale() == "log" and left.get_ylabel() == "mAP@10 (%)"
    assert [t.get_text() for t in left.get_legend().texts] == ["baseline", "λ₁ = 1e3", "λ₁ = 1"]
    assert [t.get_text() for t in right.get_legend().texts] == ["λ₁ = 1e3"]
    with pytest.raises(ValueError, match="has 2 means"):
        plot_sweep([1, 2, 3], {"y": {"a": ([1, 2], None)}})
    with pytest.raises(ValueError, match="positive"):
        plot_sweep([0, 1], {"y": {"a": ([1, 2], None)}})
    with pytest.raises(ValueError, match="at least one curve"):
        plot_sweep([1, 2], {"y": {}})


def test_the_command_line_takes_the_grids(capsys):
    parser = cli.build_parser()
    args = parser.parse_args(["dpp-retrieval", "--theta", "0.1", "1e-3", "--dpp-weight", "1000", "--dataset", "digits"])
    assert args.theta == [0.1, 1e-3] and args.dpp_weight == [1000.0]
    protocol = cli._EXPERIMENTS["dpp-retrieval"].protocol(args)
    assert protocol.settings["thetas"] == [0.1, 1e-3] and protocol.settings["dpp_weights"] == [1000.0]
    args = parser.parse_args(["dpp-retrieval", "--dataset", "digits"])
    assert args.theta is None and cli._EXPERIMENTS["dpp-retrieval"].protocol(args).settings["thetas"] is None
    for argv, needle in [
        (["dpp-retrieval", "--theta", "2"], "argument --theta: must lie in (0, 1], got '2'"),
        (["dpp-retrieval", "--dpp-weight", "0"], "argument --dpp-weight: must be a positive finite number"),
        (["dpp-overhead", "--theta", "0.1"], "dpp-overhead does not take --theta"),
    ]:
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2 and needle in capsys.readouterr().err
