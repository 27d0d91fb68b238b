"""Every script under examples/ runs (quick settings), prints what it promises, draws its
figures, and is written as a gallery page: a titled docstring, narrative cells, a thumbnail."""

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# script -> (extra arguments for a quick run, text the output must contain, optional modules)
CASES = {
    "aml_pipeline_gridsearch.py": ([], "AML        5-NN test error", ()),
    "dpp_cupy.py": (["--steps", "30", "--epochs", "2"], "fit and transform", ()),
    "dpp_feature_learning.py": (["--epochs", "3"], "+DPPSG*+WGAN", ()),
    "dpp_numpy_training_loop.py": (["--steps", "60"], "+ DPP: mAP@10", ()),
    "dpp_theta_sweep.py": (["--epochs", "2", "--seeds", "1"], "contrastive alone", ()),
    "dpp_torch_training_loop.py": (["--epochs", "3"], "+ DPP: mAP@10", ("torch",)),
    "metric_dask_beyond_memory.py": ([], "AML       5-NN test error", ("dask",)),
    "metric_pairs_dbscan.py": ([], "same labels from DBSCAN on model.transform(X_new): True", ()),
    "plot_learned_metric.py": ([], "AML       5-NN test error", ()),
}

# Runs the example as the gallery does (as __main__, in one process) and counts the pyplot
# figures it leaves open: the gallery shows each of them, and its thumbnail is one of them.
_RUNNER = """
import runpy, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
path = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(path, run_name="__main__")
print(f"[figures: {len(plt.get_fignums())}]")
"""


def _source(script):
    return (EXAMPLES / script).read_text(encoding="utf-8")


def _thumbnail_number(script):
    match = re.search(r"^# sphinx_gallery_thumbnail_number = (\d+)$", _source(script), re.MULTILINE)
    return int(match.group(1)) if match else 1


def test_every_example_is_covered():
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(CASES)


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script, tmp_path):
    args, expected, needs = CASES[script]
    for module in needs:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{script} needs {module}")
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expected in proc.stdout
    n_figures = int(re.search(r"\[figures: (\d+)\]", proc.stdout).group(1))
    # Every example draws: no page with the placeholder thumbnail, and the chosen one exists.
    assert n_figures >= max(1, _thumbnail_number(script))
    # A warning raised by the example or the package would show on its page.
    ours = re.findall(r"(?:examples|spectral_ml)[/\\][^:]+:\d+: \w*Warning.*", proc.stderr)
    assert not ours, ours
    assert not list(tmp_path.iterdir()), "an example wrote files into the working directory"


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_is_a_gallery_page(script):
    """The gallery runs each script as ``__main__`` and cuts it into cells at ``# %%``: it
    needs a titled docstring, no ``SystemExit`` on the way out (which would stop the
    documentation build), and text between its steps rather than one ``main()``."""
    source = _source(script)
    tree = ast.parse(source)
    lines = ast.get_docstring(tree).splitlines()
    assert lines[1] == "=" * len(lines[0]), "the docstring must start with an underlined title"
    raising = [n for n in ast.walk(tree) if isinstance(n, ast.Raise) and "SystemExit" in ast.unparse(n)]
    exiting = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "sys.exit"]
    assert not raising and not exiting
    assert "def main(" not in source and "__main__" not in source, "the steps belong at the top level, in cells"
    cells = re.findall(r"^# %%\n((?:#.*\n)+)", source, re.MULTILINE)
    assert len(cells) >= 3, "at least three narrative cells"
    assert sum(1 for cell in cells if len(cell.splitlines()) >= 2) >= 2, "cells with text, not only markers"
