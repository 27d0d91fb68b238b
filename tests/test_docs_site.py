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


# --- The checks of what a reader sees: reference lists, signatures, thumbnails, decimals ---

REFERENCES_PAGE = """<!DOCTYPE html><html><body>
<p class="rubric">References</p>
<div role="list" class="citation-list">
<div class="citation" id="r1" role="doc-biblioentry"><span class="label">[1]</span>
<ol class="upperalpha simple" start="18"><li><p>Bhatia, <em>Matrix Analysis</em>, 1997.</p></li></ol>
</div>
<div class="citation" id="r2" role="doc-biblioentry"><span class="label">[2]</span>
<p>Zadeh, P., Hosseini, R. and Sra, S., Geometric Mean Metric Learning, 2016.</p>
</div>
</div>
<section id="steps"><ol class="loweralpha simple"><li><p>a lettered list of steps is fine</p></li></ol></section>
<section id="references"><h2>References</h2><ol type="A"><li>Yu, Li and Li</li></ol></section>
</body></html>
"""


def test_a_reference_parsed_as_a_lettered_list_is_a_problem(check, tmp_path):
    (tmp_path / "page.html").write_text(REFERENCES_PAGE)
    problems = check.check_site(tmp_path)
    assert len(problems) == 2, problems
    assert "page.html: a reference parses as a lettered list" in problems[0]
    assert "Bhatia, Matrix Analysis" in problems[0]
    assert "Yu, Li and Li" in problems[1]  # an <ol type="A"> in a References section


SIGNATURES_PAGE = """<!DOCTYPE html><html><body>
<dl class="py class"><dt class="sig sig-object py" id="spectral_ml.torch.DPPDiversity">
<span class="sig-prename descclassname"><span class="pre">spectral_ml.torch.</span></span><span class="sig-name descname"><span class="pre">DPPDiversity</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="o"><span class="pre">*</span></span><span class="n"><span class="pre">args</span></span></em>, <em class="sig-param"><span class="o"><span class="pre">**</span></span><span class="n"><span class="pre">kwargs</span></span></em><span class="sig-paren">)</span>
</dt></dl>
<dl class="py method"><dt class="sig sig-object py" id="spectral_ml.torch.DPPDiversity.forward">
<span class="sig-name descname"><span class="pre">forward</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="n"><span class="pre">F</span></span></em><span class="sig-paren">)</span></dt></dl>
<dl class="py function"><dt class="sig sig-object py" id="spectral_ml._private.helper">
<span class="sig-name descname"><span class="pre">helper</span></span>(*args, **kwargs)</dt></dl>
</body></html>
"""


def test_a_public_callable_documented_as_args_kwargs_is_a_problem(check, tmp_path):
    (tmp_path / "page.html").write_text(SIGNATURES_PAGE)
    assert check.check_site(tmp_path) == [
        "page.html: spectral_ml.torch.DPPDiversity is documented as (*args, **kwargs)"
    ]


def _png(path, size, color):
    from PIL import Image

    Image.new("RGBA", size, color).save(path)


def _gallery(tmp_path, thumbnails):
    images = tmp_path / "_images"
    images.mkdir()
    cells = []
    for name, title in thumbnails:
        cells.append(
            f'<div class="sphx-glr-thumbcontainer" tooltip="t"><img alt="" src="../_images/{name}" />'
            f'<p><a class="reference internal" href="{name}.html"><span class="doc">{title}</span></a></p></div>'
        )
    (tmp_path / "auto_examples").mkdir()
    page = '<!DOCTYPE html><html><body><div class="sphx-glr-thumbnails">' + "".join(cells) + "</div></body></html>"
    (tmp_path / "auto_examples" / "index.html").write_text(page)
    return images


def test_a_thumbnail_named_as_the_placeholder_is_a_problem(check, tmp_path):
    images = _gallery(tmp_path, [("no_image.png", "Without a figure"), ("sphx_glr_a_thumb.png", "With one")])
    (images / "no_image.png").write_bytes(b"\x89PNG")
    (images / "sphx_glr_a_thumb.png").write_bytes(b"\x89PNG not the placeholder")
    assert check.check_site(tmp_path) == [
        "auto_examples/index.html: the gallery thumbnail of 'Without a figure' is sphinx-gallery's placeholder "
        "(../_images/no_image.png)"
    ]


def test_a_thumbnail_drawn_from_the_placeholder_is_a_problem(check, tmp_path):
    pytest.importorskip("PIL")
    gallery = pytest.importorskip("sphinx_gallery")
    from sphinx_gallery import utils

    images = _gallery(
        tmp_path,
        [
            ("sphx_glr_none_thumb.png", "No figure"),
            ("sphx_glr_fig_thumb.png", "A figure"),
            ("sphx_glr_bad_thumb.png", "Failed"),
        ],
    )
    static = gallery.glr_path_static()
    utils.scale_image(f"{static}/no_image.png", str(images / "sphx_glr_none_thumb.png"), 400, 280)
    utils.scale_image(f"{static}/broken_example.png", str(images / "sphx_glr_bad_thumb.png"), 400, 280)
    _png(images / "sphx_glr_fig_thumb.png", (400, 280), (30, 90, 200, 255))
    problems = check.check_site(tmp_path)
    assert [p.split("'")[1] for p in problems] == ["No figure", "Failed"]
    assert not check.is_placeholder(images / "sphx_glr_fig_thumb.png")


def _results_table(rows, caption="Fit time (s)", header=("dataset", "AML", "θ", "mAP@10")):
    head = "".join(f"<th class='head'><p>{h}</p></th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td><p>{c}</p></td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<table class="results-table table"><caption><span class="caption-text">{caption}</span>'
        f'<a class="headerlink" href="#t">#</a></caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def test_a_results_column_with_mixed_decimals_is_a_problem(check, tmp_path):
    mixed = _results_table(
        [
            ["wine", "0.155", "0.1", "93.71\u00a0±\u00a00.41 (paper 63.90)"],
            ["vehicle", "16.40", "0.01", "97.63\u00a0±\u00a00.4 (paper 97)"],
            ["digits", "2.55", "0.001", "—"],
        ]
    )
    aligned = _results_table([["wine", "0.155", "1e-3", "93.71 ± 0.41"], ["vehicle", "16.400", "1e-2", "97.63 ± 0.40"]])
    (tmp_path / "results.html").write_text(f"<html><body>{mixed}{aligned}</body></html>")
    # Only tables of results: elsewhere a table may hold anything.
    (tmp_path / "other.html").write_text(
        "<html><body><table><tr><td>1.5</td></tr><tr><td>2</td></tr></table></body></html>"
    )
    problems = check.check_site(tmp_path)
    assert problems == [
        "results.html: table 'Fit time (s)', column 'AML': numbers with different numbers of decimals (16.40, 0.155)",
        "results.html: table 'Fit time (s)', column 'mAP@10': spreads after ± with different numbers of decimals "
        "(0.4, 0.41)",
        "results.html: table 'Fit time (s)', column 'mAP@10': papers' numbers with different numbers of decimals "
        "(97, 63.90)",
    ]  # the θ grid (one significant digit each) and the aligned table pass


def test_mixed_decimals_reads_integers_beside_decimals(check):
    assert check.mixed_decimals(["run", "mAP@10"], [["a", "97"], ["b", "97.63"]]) == [
        "column 'mAP@10': numbers with different numbers of decimals (97, 97.63)"
    ]
    assert check.mixed_decimals(["run", "n"], [["a", "200"], ["b", "1000"], ["c", "n/a"]]) == []


# --- Clipped labels, in headless Chromium ---------------------------------------------------

CLIPPED_PAGE = """<!DOCTYPE html><html><head><style>
body { margin: 0; font: 16px sans-serif; }
.bd-article-container { width: 300px; overflow-x: auto; }
.bd-sidebar-primary { width: 120px; overflow: hidden; }
.prev-next-area a { display: flex; max-width: 150px; overflow-x: hidden; }
.prev-next-title { white-space: nowrap; }
</style></head><body>
<div class="bd-sidebar-primary"><a href="#">spectral_ml.experiments.aml_figures</a></div>
<div class="bd-article-container"><h1>spectral_ml.torch.DPPDiversityWithAVeryLongName</h1>
<p>Ordinary text wraps in the column as it should, whatever the width of the window.</p></div>
<div class="prev-next-area"><a class="right-next" href="#"><p class="prev-next-title">spectral_ml.torch.PaperMNISTNet</p></a></div>
<h2 class="sr-only" style="position:absolute;width:1px;height:1px;overflow:hidden">Hidden label spectral_ml.torch</h2>
</body></html>
"""

WRAPPED_PAGE = CLIPPED_PAGE.replace(
    "<style>", "<style>h1, a, p { overflow-wrap: anywhere; white-space: normal !important; }"
)


@pytest.fixture(scope="module")
def browser(check):
    found = check.find_browser()
    if found is None:
        pytest.skip("no Chromium or Chrome installed: the clipping check runs only in a browser")
    return found


def test_clipped_labels_are_found_at_both_widths(check, browser, tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "bad.html").write_text(CLIPPED_PAGE)
    (tmp_path / "good.html").write_text(WRAPPED_PAGE)
    problems = check.clipped_labels(tmp_path, ["api/bad.html", "good.html"], browser)
    for width in (1280, 420):
        mine = [p for p in problems if p.startswith(f"api/bad.html at {width} px: ")]
        assert any(
            "'spectral_ml.torch.DPPDiversityWithAVeryLongName' (h1) is clipped by div.bd-article-container" in p
            for p in mine
        )
        assert any("'spectral_ml.experiments.aml_figures' (a) is clipped by div.bd-sidebar-primary" in p for p in mine)
        assert any(
            "'spectral_ml.torch.PaperMNISTNet' (p.prev-next-title) is clipped by a.right-next" in p for p in mine
        )
        assert not any("Hidden label" in p or "Ordinary text" in p for p in mine)
    assert not any(p.startswith("good.html") for p in problems), problems


def test_a_text_beyond_the_window_is_clipped(check, browser, tmp_path):
    page = "<!DOCTYPE html><html><body><h1 style='white-space: nowrap'>" + "spectral_ml." * 40 + "</h1></body></html>"
    (tmp_path / "wide.html").write_text(page)
    problems = check.clipped_labels(tmp_path, ["wide.html"], browser, widths=(420,))
    assert len(problems) == 1 and "is clipped by the window" in problems[0]


def test_the_sample_takes_the_longest_labels_and_one_page_per_section(check, tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "user_guide").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "index.html").write_text("<h1>Home</h1>")
    (tmp_path / "api" / "long.html").write_text("<h1>spectral_ml.experiments.aml_figures.roc_protocol</h1>")
    (tmp_path / "api" / "short.html").write_text("<h1>spectral_ml.cli</h1>")
    (tmp_path / "api" / "next.html").write_text(
        '<h1>x</h1><div class="prev-next-area"><a><p class="prev-next-title">spectral_ml.datasets.load_npz</p></a></div>'
    )
    (tmp_path / "user_guide" / "dpp.html").write_text("<h1>The DPP term</h1>")
    (tmp_path / "_static" / "webpack-macros.html").write_text("<h1>a_very_long_template_name_that_is_no_page</h1>")
    assert check.sample_pages(tmp_path, 2) == ["api/long.html", "api/next.html", "index.html", "user_guide/dpp.html"]
    assert len(check.sample_pages(tmp_path, None)) == 5


def test_main_reports_a_missing_browser(check, tmp_path, monkeypatch, capsys):
    (tmp_path / "index.html").write_text("<h1>Home</h1>")
    monkeypatch.setattr(check, "find_browser", lambda: None)
    assert check.main([str(tmp_path)]) == 0
    assert "the clipping check did not run" in capsys.readouterr().err
    assert check.main([str(tmp_path), "--require-browser"]) == 1
    assert "the clipping check did not run" in capsys.readouterr().out


# --- Names wrap at their dots; API summaries and pages ---------------------------------------


@pytest.fixture(scope="module")
def extension():
    pytest.importorskip("sphinx")
    return load_script("docs/sphinxext/spectral_docs.py")


def test_names_in_labels_get_a_line_break_opportunity_after_each_dot(extension):
    page = (
        "<html><head><title>spectral_ml.torch.DPPDiversity</title><script>document.body.x()</script></head><body>"
        '<h1 id="spectral_ml.torch">spectral_ml.torch.DPPDiversity<a href="#spectral_ml.torch">#</a></h1>'
        '<nav class="bd-docs-nav"><a href="x.html">spectral_ml.experiments.aml_figures</a>'
        '<code><span class="pre">AMLMetric.get_mahalanobis_matrix()</span></code></nav>'
        '<p class="prev-next-title">spectral_ml.torch.PaperMNISTNet</p>'
        '<table class="autosummary longtable table"><tr><td>spectral_ml.linalg.eigh</td></tr></table>'
        "<p>spectral_ml.AMLMetric in a paragraph; version 0.1.0, e.g. Eq. 3</p><pre>np.linalg.eigh</pre>"
        "<h2>Version 0.1.0, e.g. this</h2></body></html>"
    )
    out = extension.break_names_at_dots(page)
    assert '<h1 id="spectral_ml.torch">spectral_ml.<wbr>torch.<wbr>DPPDiversity<a href="#spectral_ml.torch">' in out
    assert ">spectral_ml.<wbr>experiments.<wbr>aml_figures<" in out
    assert ">AMLMetric.<wbr>get_mahalanobis_matrix()<" in out
    assert ">spectral_ml.<wbr>torch.<wbr>PaperMNISTNet<" in out
    assert ">spectral_ml.<wbr>linalg.<wbr>eigh<" in out
    # Titles, scripts, paragraphs, code blocks, versions and abbreviations are left alone.
    assert out.count("<wbr>") == 9
    assert "<title>spectral_ml.torch.DPPDiversity</title>" in out and "document.body.x()" in out
    assert "<h2>Version 0.1.0, e.g. this</h2>" in out
    assert extension.break_names_at_dots(out) == out


def test_module_summaries_are_whole_sentences(api):
    import spectral_ml.nn

    assert api.first_sentence("Layers, losses with feature\ngradients, optimizers. More here.") == (
        "Layers, losses with feature gradients, optimizers."
    )
    assert api.first_sentence("The term (see Eq. 3), e.g. for\nbatches. Next.\n\nOther.") == (
        "The term (see Eq. 3), e.g. for batches."
    )
    assert api.first_sentence("No full stop\nat the end\n\nNext paragraph.") == "No full stop at the end"
    table = api.modules_table([spectral_ml.nn])
    summary = table.splitlines()[-1].strip()
    assert summary.startswith("- ") and summary.endswith(".")
    assert summary[2:] == api.first_sentence(spectral_ml.nn.__doc__)


def test_undocumented_overrides_of_another_librarys_hooks_are_not_listed(api):
    import json

    class Encoder(json.JSONEncoder):
        def default(self, o):  # a hook json calls, without a docstring of its own
            return str(o)

        def encode(self, o):
            """Documented override: listed."""
            return super().encode(o)

        def extra(self):
            return 1

    assert api.documented_methods(Encoder) == ["encode", "extra"]


def test_torch_classes_list_their_methods_without_extra_repr(api):
    torch_module = pytest.importorskip("spectral_ml.torch")

    assert api.documented_methods(torch_module.DPPDiversity) == ["forward"]
    assert "extra_repr" not in api.documented_methods(torch_module.PaperMNISTNet)


def test_the_docs_build_refuses_to_mock_pytorch(monkeypatch):
    import importlib.util
    import runpy

    from tests._scripts import ROOT

    errors = pytest.importorskip("sphinx.errors")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    with pytest.raises(errors.ConfigError, match=r"torch cannot be imported.*download\.pytorch\.org/whl/cpu"):
        runpy.run_path(str(ROOT / "docs" / "conf.py"))


def test_gallery_headings_do_not_repeat_the_docstrings_examples():
    from tests._scripts import ROOT

    for name in ("class.rst", "function.rst"):
        template = (ROOT / "docs" / "_templates" / "autosummary" / name).read_text(encoding="utf-8")
        assert ":add-heading: Gallery examples" in template
        assert ":add-heading: Examples\n" not in template


def test_code_blocks_scroll_instead_of_wrapping():
    from tests._scripts import ROOT

    css = (ROOT / "docs" / "_static" / "spectral_ml.css").read_text(encoding="utf-8")
    assert "pre-wrap" not in css


def test_source_links_of_inherited_and_wrapped_methods_find_their_code(extension):
    # scikit-learn wraps transform in a function of its own module: follow the wrapper.
    assert extension._module_of_wrapped(None, "spectral_ml", "AMLMetric.transform") == "spectral_ml.metric._base"
    assert extension._module_of_wrapped(None, "spectral_ml", "AMLMetric") == "spectral_ml.metric._aml"
    assert extension._module_of_wrapped(None, "numpy", "linalg") is None  # not the package's
    # The estimator's inherited methods get tags on their base class's lines.
    code, tags = extension._tags_with_inherited_methods(None, "spectral_ml.metric._base")
    assert "def transform" in code
    assert tags["AMLMetric.transform"] == tags["MahalanobisMixin.transform"]
    assert tags["GMMLMetric.fit"] == tags["BasePairMetric.fit"]
    assert extension._tags_with_inherited_methods(None, "numpy.linalg") is None
