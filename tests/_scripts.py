"""Import a repository script (benchmarks/, docs/) as a module, or skip when it is absent."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative_path: str):
    """The module of the script at ``relative_path`` from the repository root."""
    path = ROOT / relative_path
    if not path.is_file():
        pytest.skip(f"{relative_path} is not part of this installation")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
