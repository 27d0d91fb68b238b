"""CITATION.cff and the "How to cite" page against the package they describe."""

import re
from datetime import date

import pytest

import spectral_ml
from tests._scripts import ROOT

CFF = ROOT / "CITATION.cff"
# The two top-level keys of pyproject.toml's [project] table read here, without a TOML parser
# (Python 3.10 has none).
PROJECT = dict(re.findall(r'^(version|license) = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), flags=re.M))


@pytest.fixture(scope="module")
def citation():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(CFF.read_text(encoding="utf-8"))


def test_citation_file_parses_with_the_fields_cff_requires(citation):
    assert citation["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(citation)
    assert citation["authors"] == [{"name": "spectral_ml developers"}]
    assert citation["type"] == "software"
    for ref in citation["references"]:
        assert {"type", "title", "authors", "year"} <= set(ref)
        assert all({"family-names", "given-names"} <= set(a) for a in ref["authors"])


def test_citation_names_the_version_and_license_of_the_package(citation):
    assert citation["version"] == PROJECT["version"] == spectral_ml.__version__
    assert citation["license"] == PROJECT["license"]


def test_citation_release_date_is_the_changelog_date_of_that_version(citation):
    released = citation["date-released"]
    assert isinstance(released, date)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = re.search(rf"^## \[{re.escape(PROJECT['version'])}\] - (\S+)$", changelog, flags=re.M)
    assert heading, f"CHANGELOG.md has no '## [{PROJECT['version']}] - DATE' heading"
    assert heading[1] == released.isoformat()


def test_citation_cites_both_papers(citation):
    papers = {ref["title"]: ref for ref in citation["references"]}
    aml = papers["Adversarial Metric Learning"]
    assert [a["family-names"] for a in aml["authors"]] == ["Chen", "Gong", "Yang", "Li", "Wei", "Li"]
    assert aml["year"] == 2018
    dpp = papers["Deep Learning of Determinantal Point Processes via Proper Spectral Sub-gradient"]
    assert [a["family-names"] for a in dpp["authors"]] == ["Yu", "Li", "Li"]
    assert dpp["year"] == 2020


def test_citation_version_without_a_yaml_parser():
    # The same check as above on the raw text, for environments without PyYAML.
    version = re.search(r"^version:\s*(\S+)\s*$", CFF.read_text(encoding="utf-8"), flags=re.M)
    assert version and version[1] == spectral_ml.__version__


def test_citing_page_gives_the_package_version_in_its_bibtex():
    page = (ROOT / "docs" / "citing.rst").read_text(encoding="utf-8")
    assert re.findall(r"version\s*=\s*\{([^}]*)\}", page) == [spectral_ml.__version__]
    for key in ("chen2018aml", "yu2020dpp"):
        assert f"{{{key}," in page
