"""pyproject.toml against what depends on it: CI's minimum-versions constraints, the extras' tables."""

import re
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as the tomli package
    tomllib = pytest.importorskip(
        "tomli", reason="reading pyproject.toml needs tomllib (Python >= 3.11) or, on Python 3.10, tomli"
    )

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


# -- the extras' tables ---------------------------------------------------------------------

CPU_TORCH = "python -m pip install torch --index-url https://download.pytorch.org/whl/cpu"


def _extras():
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def _readme_extras_section():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Optional extras\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert match, "README.md has no '## Optional extras' section"
    return match.group(1)


def _readme_extras():
    """First cells of the rows of the README's extras table (Markdown)."""
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|", _readme_extras_section(), flags=re.M)
    assert len(rows) == len(set(rows)), f"an extra is listed twice: {rows}"
    return set(rows)


def _getting_started():
    return (ROOT / "docs" / "getting_started.rst").read_text()


def _getting_started_extras():
    """First cells of the rows of the list-table headed ``extra`` in getting_started.rst."""
    lines = _getting_started().splitlines()
    heads = [i for i, line in enumerate(lines) if re.fullmatch(r"\s*\* - extra\s*", line)]
    assert len(heads) == 1, "getting_started.rst needs exactly one list-table whose first column is 'extra'"
    rows = []
    for line in lines[heads[0] + 1 :]:
        if line and not line[0].isspace():  # the table's indented body has ended
            break
        match = re.fullmatch(r"\s*\* - ``([^`]+)``\s*", line)
        if match:
            rows.append(match.group(1))
    assert len(rows) == len(set(rows)), f"an extra is listed twice: {rows}"
    return set(rows)


def test_readme_lists_exactly_the_extras_of_pyproject():
    assert _readme_extras() == _extras()


def test_getting_started_lists_exactly_the_extras_of_pyproject():
    assert _getting_started_extras() == _extras()


@pytest.mark.parametrize("text", [_readme_extras_section, _getting_started], ids=["README", "rst"])
def test_torch_extras_say_how_to_get_the_cpu_only_build(text):
    # Every extra that pulls in PyTorch must be covered by the note on its CUDA download.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    with_torch = {name for name, reqs in extras.items() if any(re.match(r"torch\b", r) for r in reqs)}
    assert with_torch == {"torch", "bench"}, f"extras with PyTorch: {sorted(with_torch)}; update the note"
    content = text()
    assert CPU_TORCH in content
    assert "several GB" in content
    assert re.search(r'python -m pip install "spectral-ml\[torch\]".*the same for bench', content)
