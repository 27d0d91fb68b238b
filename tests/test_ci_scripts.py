"""The GPU check script's answers to a user's mistakes (the checks themselves need a GPU)."""

import importlib.util
import shutil
import subprocess
import sys

import pytest

from tests._scripts import ROOT

SCRIPT = ROOT / ".ci" / "gpu"

pytestmark = [
    pytest.mark.skipif(not SCRIPT.is_file(), reason=".ci/gpu is not part of this installation"),
    pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash"),
]


def _run(out, tmp_path):
    # `python` on the script's PATH must be this interpreter, as in an activated environment.
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "python").symlink_to(sys.executable)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(["bash", str(SCRIPT), str(out)], capture_output=True, text=True, env=env, timeout=120)


def test_refuses_a_non_empty_output_directory(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    proc = _run(out, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f".ci/gpu: {out} is not empty; name a new or empty output directory"]
    assert (out / "mine.txt").read_text() == "keep me" and sorted(p.name for p in out.iterdir()) == ["mine.txt"]


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed: the script would run")
def test_without_a_gpu_says_what_is_needed_in_one_line(tmp_path):
    out = tmp_path / "results"
    proc = _run(out, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [".ci/gpu: CuPy and a CUDA build of PyTorch must both see a GPU"]
    assert not out.exists()
