"""docs/markdown_subset.py: the Markdown files the site includes (release notes, contributing)."""

import pytest

from tests._scripts import ROOT, load_script

docutils_core = pytest.importorskip("docutils.core")


@pytest.fixture(scope="module")
def md():
    return load_script("docs/markdown_subset.py")


def _doctree(rst):
    """The doctree of ``rst``; a warning or error of docutils fails the test."""
    return docutils_core.publish_doctree(
        rst, settings_overrides={"halt_level": 2, "report_level": 5, "doctitle_xform": False}
    )


@pytest.mark.parametrize("name", ["CHANGELOG.md", "CONTRIBUTING.md"])
def test_included_markdown_files_convert_without_docutils_warnings(md, name):
    text = (ROOT / name).read_text(encoding="utf-8")
    tree = _doctree(md.markdown_to_rst(text))
    headings = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    titles = [t.astext() for t in tree.findall(lambda n: n.tagname == "title")]
    assert titles == [h.replace("[", "").replace("]", "").replace("`", "") for h in headings]
    # Every code span survives as a literal, none as stray backquotes.
    assert "`" not in tree.astext().replace("```", "")


def test_inline_markup(md):
    rst = md.markdown_to_rst(
        "See `OUT.partial`s, [the `docs`](https://example.org/d), [Ref], DPPSG\\* and DPPSG*, "
        "**bold**, *em*, name_ and a|b.\n\n[Ref]: https://example.org/r\n"
    )
    paragraph = _doctree(rst).children[0]
    assert paragraph.astext() == "See OUT.partials, the docs, Ref, DPPSG* and DPPSG*, bold, em, name_ and a|b."
    refs = [n["refuri"] for n in paragraph.findall(lambda n: n.tagname == "reference")]
    assert refs == ["https://example.org/d", "https://example.org/r"]
    kinds = [n.tagname for n in paragraph.children if n.tagname != "#text"]
    assert kinds == ["literal", "reference", "reference", "strong", "emphasis"]


def test_code_inside_emphasis_is_flattened(md):
    # reStructuredText cannot nest markup: the code marks go, the emphasis stays.
    rst = md.markdown_to_rst("**`Learner` trains DPPSG* with θ = 10⁻³**, *see `x`*.\n")
    paragraph = _doctree(rst).children[0]
    assert paragraph.astext() == "Learner trains DPPSG* with θ = 10⁻³, see x."
    assert [n.tagname for n in paragraph.children if n.tagname != "#text"] == ["strong", "emphasis"]


def test_headings_lists_and_code_blocks(md):
    text = """# Title

## [1.0.0] - 2026-01-01

- one
  continued
  - nested
- two

1. first
2. second

```bash
pip install x   # a comment
```
"""
    tree = _doctree(md.markdown_to_rst(text))
    assert [t.astext() for t in tree.findall(lambda n: n.tagname == "title")] == ["Title", "1.0.0 - 2026-01-01"]
    bullet = next(tree.findall(lambda n: n.tagname == "bullet_list"))
    assert [item.children[0].astext() for item in bullet.children] == ["one\ncontinued", "two"]
    assert next(bullet.children[0].findall(lambda n: n.tagname == "bullet_list")).astext() == "nested"
    assert next(tree.findall(lambda n: n.tagname == "enumerated_list")).astext() == "first\n\nsecond"
    block = next(tree.findall(lambda n: n.tagname == "literal_block"))
    assert block.astext() == "pip install x   # a comment"


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("| a | b |", "a table"),
        ("<div>x</div>", "raw HTML"),
        ("![fig](f.png)", "an image"),
        ("> quoted", "a block quote"),
    ],
)
def test_markdown_outside_the_subset_is_refused_with_its_line(md, line, what):
    with pytest.raises(ValueError, match=f"line 3: {what}"):
        md.markdown_to_rst(f"# T\n\n{line}\n")


def test_unclosed_code_block_is_refused(md):
    with pytest.raises(ValueError, match="not closed"):
        md.markdown_to_rst("```bash\nx\n")
