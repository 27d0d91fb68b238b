"""The minimum-versions constraints that CI installs match the floors in pyproject.toml."""

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parents[1]


def _normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _floors():
    """The floors of the runtime dependencies and of the torch and dask extras (CI tests them)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    floors = {}
    for requirement in project["dependencies"] + extras["torch"] + extras["dask"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)\s*", requirement)
        assert match, f"runtime dependency without a '>=' floor: {requirement!r}"
        floors[_normalize(match.group(1))] = match.group(3)
    return floors


def _constraints():
    pins = {}
    for line in (ROOT / ".ci" / "minimum-constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[_normalize(name)] = version.strip()
    return pins


def _release(version):
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_every_runtime_dependency_is_pinned_at_its_floor():
    floors, pins = _floors(), _constraints()
    assert set(pins) == set(floors)
    for name, floor in floors.items():
        pinned = _release(pins[name])
        assert pinned[: len(floor.split("."))] == _release(floor)[: len(floor.split("."))], (
            f"{name}: pyproject.toml allows >={floor}, CI tests {pins[name]}"
        )
