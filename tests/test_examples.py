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
    # On NumPy when CuPy or a GPU is missing: the same code, the same output lines.
    "dpp_cupy.py": (["--steps", "50", "--epochs", "2"], "DPPFeatureLearner"),
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
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expected in proc.stdout
    for a in args:
        if a.endswith(".png"):
            assert Path(a).stat().st_size > 1000


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_is_a_gallery_page(script):
    """The docs gallery runs each script as ``__main__``: it needs a titled docstring and no
    ``SystemExit`` on the way out (which would stop the documentation build)."""
    import ast

    tree = ast.parse((EXAMPLES / script).read_text(encoding="utf-8"))
    lines = ast.get_docstring(tree).splitlines()
    assert lines[1] == "=" * len(lines[0]), "the docstring must start with an underlined title"
    raising = [n for n in ast.walk(tree) if isinstance(n, ast.Raise) and "SystemExit" in ast.unparse(n)]
    exiting = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "sys.exit"]
    assert not raising and not exiting
