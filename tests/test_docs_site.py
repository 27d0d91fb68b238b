"""docs/check_site.py finds what a reader of the built documentation would see go wrong."""

import pytest

from tests._scripts import load_script

GOOD_PAGE = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="_static/theme.css">
<link rel="canonical" href="https://example.org/docs/index.html">
<script src="_static/mathjax/tex-chtml.js"></script>
</head><body>
<nav class="bd-toc"><ul><li class="toctree-l1"><a href="guide.html">The switch between paths</a></li></ul></nav>
<h1>Results</h1>
<h2>The switch between exact gradient and sub-gradient</h2>
<p>Inline math <span class="math">\\(\\log\\det L \\ge \\log\\beta\\)</span>; mAP@10 as text;
write to <a href="mailto:team@example.org">team@example.org</a>;
<a href="https://example.org/paper.pdf">the paper</a>.</p>
<img src="_images/fig.png" srcset="_images/fig.png 1x, _images/fig_2x.png 2x">
<img src="data:image/png;base64,AAAA">
</body></html>
"""

BAD_PAGE = """<!DOCTYPE html><html><head>
<script src="https://cdn.example.net/mathjax/tex-chtml.js"></script>
<link rel="stylesheet" href="//fonts.example.net/font.css">
</head><body>
<ul class="toctree-wrapper"><li><a href="dpp.html">The switch: \\(\\log\\det L\\ge\\log\\beta\\)</a></li></ul>
<h2>The bound \\[ \\beta \\] in a heading</h2>
<p><a href="mailto:mAP@10">mAP@10</a></p>
<img src="_images/missing.png">
</body></html>
"""


@pytest.fixture(scope="module")
def check():
    return load_script("docs/check_site.py")


def _site(tmp_path, page):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "fig.png").write_bytes(b"\x89PNG")
    (tmp_path / "_images" / "fig_2x.png").write_bytes(b"\x89PNG")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "theme.css").write_text("body { background: url('../_images/fig.png'); }")
    (tmp_path / "index.html").write_text(page)
    return tmp_path


def test_a_good_site_passes(check, tmp_path, capsys):
    site = _site(tmp_path, GOOD_PAGE)
    assert check.check_site(site) == []
    assert check.main([str(site)]) == 0
    assert "no problem found" in capsys.readouterr().out


def test_a_bad_site_lists_every_problem(check, tmp_path, capsys):
    site = _site(tmp_path, BAD_PAGE)
    (site / "_static" / "extra.css").write_text("@import 'https://fonts.example.net/x.css';")
    problems = check.check_site(site)
    text = "\n".join(problems)
    assert "script loads from another host: https://cdn.example.net/mathjax/tex-chtml.js" in text
    assert "loads from another host: //fonts.example.net/font.css" in text
    assert "_static/extra.css: stylesheet loads from another host" in text
    assert "image not found: _images/missing.png" in text
    assert "mailto link from text that is not an address: mAP@10" in text
    assert sum("raw LaTeX" in p for p in problems) == 2  # the toc entry and the heading
    assert len(problems) == 7
    assert check.main([str(site)]) == 1
    assert "7 problem(s)" in capsys.readouterr().err


def test_an_empty_directory_is_a_problem(check, tmp_path):
    assert check.check_site(tmp_path) == [f"{tmp_path}: no HTML page found (build the documentation first)"]


@pytest.fixture(scope="module")
def api():
    return load_script("docs/generate_api.py")


def test_api_pages_document_each_name_once_where_users_import_it(api):
    import spectral_ml.metric

    modules, _ = api.public_modules()
    names = {m.__name__ for m in modules}
    assert {"spectral_ml.metric", "spectral_ml.nn", "spectral_ml.dpp"} <= names
    assert "spectral_ml.nn.layers" not in names  # everything in it is re-exported by spectral_ml.nn
    assert not any(part.startswith("_") for n in names for part in n.split("."))
    page = api.module_page(spectral_ml.metric, api.top_level_names())
    assert ".. automodule:: spectral_ml.metric" in page
    # AMLMetric is imported from spectral_ml, so its page is spectral_ml.AMLMetric ...
    assert "\n   AMLMetric\n" in page and "~metric.AMLMetric" not in page
    # ... while make_pairs lives in spectral_ml.metric only.
    assert "\n   ~metric.make_pairs\n" in page


def test_estimator_pages_show_the_package_methods_not_scikit_learns(api):
    from spectral_ml.metric import AMLMetric

    methods = api.documented_methods(AMLMetric)
    assert {"fit", "transform", "get_mahalanobis_matrix"} <= set(methods)
    assert not {"get_params", "set_params", "fit_transform"} & set(methods)


def test_api_pages_follow_the_code_and_drop_stale_stubs(api, tmp_path):
    (tmp_path / "api.rst").write_text(".. autosummary::\n   :toctree: api/generated\n\n   AMLMetric\n")
    stubs = tmp_path / "api" / "generated"
    stubs.mkdir(parents=True)
    (stubs / "spectral_ml.AMLMetric.rst").write_text("kept")
    (stubs / "spectral_ml.metric.removed_function.rst").write_text("stale")
    (tmp_path / "api" / "spectral_ml.removed_module.rst").write_text("stale")
    methods = api.write_pages(tmp_path)
    pages = {p.name for p in (tmp_path / "api").glob("*.rst")}
    assert "spectral_ml.metric.rst" in pages and "spectral_ml.removed_module.rst" not in pages
    assert [p.name for p in stubs.glob("*.rst")] == ["spectral_ml.AMLMetric.rst"]
    assert "fit" in methods["spectral_ml.AMLMetric"]
    assert ":doc:`spectral_ml.metric <api/spectral_ml.metric>`" in (tmp_path / "api" / "modules.inc").read_text()
