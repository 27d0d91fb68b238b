"""Sphinx configuration of the spectral_ml documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` from the repository root.
"""

from __future__ import annotations

import os
import sys

# Import the package from this checkout even when it is not installed.
sys.path.insert(0, os.path.abspath(".."))

import spectral_ml  # noqa: E402

project = "spectral_ml"
author = "spectral_ml developers"
copyright = "spectral_ml developers"
release = spectral_ml.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]

# The build must work offline: no intersphinx inventories are fetched.
# autosummary only renders tables here; the entries are documented on the same page, so
# no stub files are generated into the source tree.
autosummary_generate = False
autodoc_typehints = "none"  # the numpydoc "Parameters" sections already give the types

numpydoc_show_class_members = False  # members are listed explicitly in api.rst
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

nitpicky = False
templates_path: list[str] = []
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

html_theme = "pydata_sphinx_theme"
html_title = f"spectral_ml {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
}
html_static_path: list[str] = []
html_show_sourcelink = False
