"""Sphinx configuration of the spectral_ml documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` from the repository root, then
check the result with ``python docs/check_site.py docs/_build/html``.

The site works offline: MathJax is copied into ``_static`` from the ``sphinx-mathjax-offline``
package, and nothing is loaded from another host. The build runs every script of
``examples/`` (sphinx-gallery) and writes the API reference's pages from the package's
``__all__`` (``generate_api.py``); both outputs are not tracked.

The API pages of :mod:`spectral_ml.torch` and of the Dask support are made from the real
objects, so PyTorch (its CPU build is enough) and Dask must be installed: without them the
build stops and says what to install. CuPy, which needs an NVIDIA GPU, is mocked when absent.
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
    "sphinx.ext.viewcode",  # the [source] links of the API pages
    "sphinx-mathjax-offline",  # ships MathJax 3 into _static/mathjax: math renders offline
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxcontrib.bibtex",
    "spectral_docs",
]

# --- API reference --------------------------------------------------------------------
# PyTorch and Dask are documented from the real objects: a mock would turn every signature
# of spectral_ml.torch into (*args, **kwargs) and drop the classes' real bases.
_REQUIRED = {
    "torch": "python -m pip install torch --index-url https://download.pytorch.org/whl/cpu",
    "dask": 'python -m pip install "dask[array,distributed]"',
}
_missing = [name for name in _REQUIRED if importlib.util.find_spec(name) is None]
if _missing:
    from sphinx.errors import ConfigError

    raise ConfigError(
        "The documentation is built from the real PyTorch and Dask objects, and "
        + " and ".join(_missing)
        + " cannot be imported. Install "
        + ("it" if len(_missing) == 1 else "them")
        + " first (the CPU build of PyTorch is enough): "
        + "; ".join(_REQUIRED[name] for name in _missing)
        + ' (or python -m pip install -e ".[docs,torch,dask]").'
    )
# CuPy needs an NVIDIA GPU: where it is absent, its imports are mocked.
autodoc_mock_imports = [m for m in ("cupy",) if importlib.util.find_spec(m) is None]

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
# The examples draw with pyplot, cell by cell (``# %%``): each figure shows under the code
# that drew it, and the first (or ``sphinx_gallery_thumbnail_number``) is the thumbnail.
# ``doc_module`` and ``backreferences_dir`` give every API page the examples that use its
# object (the ``minigallery`` of the autosummary templates).
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # run every example, not only plot_*.py
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "download_all_examples": True,  # one archive of the scripts, one of the notebooks
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
    "header_links_before_dropdown": 7,  # up to the API in the bar; the rest under "More"
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
        "release_notes",
        "faq",
        "citing",
        "contributing",
    )
}
html_static_path = ["_static"]
html_css_files = ["spectral_ml.css"]
html_show_sourcelink = False

# --- [source] links (sphinx.ext.viewcode) ------------------------------------------------
# Names that spectral_ml re-exports link to the module that defines them.
viewcode_follow_imported_members = True
