"""Sphinx configuration of the spectral_ml documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` from the repository root, then
check the result with ``python docs/check_site.py docs/_build/html``.

The site works offline: MathJax is copied into ``_static`` from the ``sphinx-mathjax-offline``
package, and nothing is loaded from another host. The build runs every script of
``examples/`` (sphinx-gallery) and writes the API reference's pages from the package's
``__all__`` (``generate_api.py``); both outputs are not tracked.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
# Import the package from this checkout even when it is not installed.
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS / "sphinxext"))
sys.path.insert(0, str(DOCS))

import spectral_ml  # noqa: E402 - after the package and the extensions are put on sys.path

project = "spectral_ml"
author = "spectral_ml developers"
copyright = "spectral_ml developers"
release = spectral_ml.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # ships MathJax 3 into _static/mathjax: math renders offline
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxcontrib.bibtex",
    "spectral_docs",
]

# --- API reference --------------------------------------------------------------------
# Optional dependencies that are absent are mocked, so their modules are still documented.
autodoc_mock_imports = [m for m in ("torch", "cupy") if importlib.util.find_spec(m) is None]

import generate_api  # noqa: E402 - after the package and the extensions are put on sys.path
from sphinx.ext.autodoc.mock import mock  # noqa: E402 - with the imports above

with mock(autodoc_mock_imports):
    _class_methods = generate_api.write_pages(DOCS)

autosummary_generate = True
autosummary_generate_overwrite = True
autosummary_context = {"class_methods": _class_methods}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections already give the types
autodoc_default_options = {"member-order": "bysource"}

numpydoc_show_class_members = False  # the class template lists the documented methods
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# --- Examples gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # run every example, not only plot_*.py
    "image_scrapers": ("matplotlib", "spectral_docs"),
    "reset_argv": "spectral_docs.gallery_argv",
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": 1,
    "capture_repr": (),
    "reference_url": {"spectral_ml": None},
    "doc_module": ("spectral_ml",),
    "backreferences_dir": "api/generated/backreferences",
    "inspect_global_variables": False,
    "write_computation_times": False,  # its page loads jQuery and DataTables from a CDN
}

# --- Citations -------------------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "authoryear"  # registered by spectral_docs
bibtex_reference_style = "author_year"

# --- Site ------------------------------------------------------------------------------
nitpicky = False
# numpydoc turns a docstring's "References" section into citations; a docstring may list
# works it does not cite inline, which is not an error.
suppress_warnings = ["ref.citation"]
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_templates",
    "README.md",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "api/generated/backreferences/*",
]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

html_theme = "pydata_sphinx_theme"
html_title = f"spectral_ml {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 6,  # the API in the bar; results and the rest under "More"
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# The left column holds the section's navigation; pages that are not part of a section
# have none, so they get the full width.
html_sidebars = {
    page: []
    for page in (
        "index",
        "getting_started",
        "mathematics",
        "reproduction",
        "results",
        "architecture",
        "bibliography",
        "auto_examples/index",
        "api",
    )
}
html_static_path = ["_static"]
html_css_files = ["spectral_ml.css"]
html_show_sourcelink = False
