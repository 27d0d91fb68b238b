"""Every script under examples/ runs (quick settings) and prints what it promises."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# script -> (extra arguments for a quick run, text the output must contain)
CASES = {
    "aml_pipeline_gridsearch.py": ([], "AML        5-NN test error"),
    "plot_learned_metric.py": (["--out", "{tmp}/metric.png"], "figure written to"),
    "dpp_feature_learning.py": (["--out", "{tmp}/dpp.png", "--epochs", "5"], "figure written to"),
    "dpp_numpy_training_loop.py": (["--steps", "100"], "test mAP@10"),
    "dpp_cupy.py": ([], "DPP on CuPy"),
}


def test_every_example_is_covered():
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(CASES)


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script, tmp_path):
    args, expected = CASES[script]
    args = [a.format(tmp=tmp_path) for a in args]
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expected in proc.stdout
    for a in args:
        if a.endswith(".png"):
            assert Path(a).stat().st_size > 1000
