"""Sphinx extension of the spectral_ml documentation.

* The gallery shows the figures an example saves: the examples draw on
  ``matplotlib.figure.Figure`` objects (no pyplot state) and write them with ``savefig``;
  while the gallery runs, every saved figure is kept and written again as the example's image.
* Names that ``spectral_ml`` re-exports (``spectral_ml.AMLMetric``) are documented there;
  references to them through their submodule (``spectral_ml.metric.AMLMetric``) resolve to
  that page.
* ``mAP@10`` and the like are not e-mail addresses: docutils' automatic ``mailto:`` links are
  undone unless the text is an address (a domain with a dot).
* ``.. results-table:: CAPTION`` with ``:file: results/NAME.csv`` shows a table that the
  reproduction run wrote so that it fits the page: float noise rounded to three decimals,
  the papers' columns (``paper ...``) in a table of their own, and wide tables split into
  parts that repeat the key column(s). The CSV file itself is offered for download.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path, PurePosixPath

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective

PACKAGE = "spectral_ml"
_ADDRESS = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class SavedFigures:
    """sphinx-gallery image scraper: the figures the example's code block saved."""

    def __init__(self):
        self.pending: list = []  # (figure, savefig keyword arguments)
        self._original = None

    def install(self):
        from matplotlib.figure import Figure

        if self._original is not None:
            return
        self._original = Figure.savefig
        scraper = self

        def savefig(fig, fname, *args, **kwargs):
            scraper.pending.append((fig, {k: v for k, v in kwargs.items() if k in ("dpi", "bbox_inches")}))
            return scraper._original(fig, fname, *args, **kwargs)

        Figure.savefig = savefig

    def __call__(self, block, block_vars, gallery_conf):
        from sphinx_gallery.scrapers import figure_rst

        saved, self.pending = self.pending, []
        figures, seen = [], set()
        for fig, kwargs in saved:
            # pyplot's figures are the matplotlib scraper's; a figure saved twice shows once
            if id(fig) in seen or getattr(fig.canvas, "manager", None) is not None:
                continue
            seen.add(id(fig))
            figures.append((fig, kwargs))
        paths = []
        for (fig, kwargs), path in zip(
            figures, block_vars["image_path_iterator"], strict=False
        ):  # an endless supply of paths
            self._original(fig, path, **kwargs)
            paths.append(PurePosixPath(path))
        return figure_rst(paths, gallery_conf["src_dir"]) if paths else ""

    def __repr__(self):  # stable, so the configuration hash does not change between builds
        return "SavedFigures()"


SAVED_FIGURES = SavedFigures()


def _get_sg_image_scraper():
    """Entry point sphinx-gallery calls for ``image_scrapers = ("spectral_docs",)``."""
    SAVED_FIGURES.install()
    return SAVED_FIGURES


def gallery_argv(gallery_conf, script_vars):
    """Command-line arguments of an example in the gallery.

    An example that takes ``--out`` writes its figure next to the gallery's pages (a
    directory the build owns), named by a path relative to the example, so that what it
    prints names no directory of the machine that built the documentation.
    """
    src = Path(script_vars["src_file"])
    if '"--out"' not in src.read_text(encoding="utf-8"):
        return []
    target = Path(gallery_conf["src_dir"]) / "auto_examples" / f"{src.stem}.png"
    return ["--out", os.path.relpath(target, src.parent)]


class UndoFalseMailto(SphinxTransform):
    """Turn ``mailto:`` links whose text is not an e-mail address back into text."""

    default_priority = 900

    def apply(self, **kwargs):
        for ref in list(self.document.findall(nodes.reference)):
            uri = ref.get("refuri", "")
            if uri.startswith("mailto:") and not _ADDRESS.match(uri[len("mailto:") :]):
                ref.replace_self(nodes.Text(ref.astext()))


def _reexported(app) -> set[str]:
    if not hasattr(app.env, "_spectral_reexported"):
        import importlib

        root = importlib.import_module(PACKAGE)
        app.env._spectral_reexported = {n for n in root.__all__ if not n.startswith("_")}
    return app.env._spectral_reexported


def resolve_reexport(app, env, node, contnode):
    """``spectral_ml.<sub>.NAME[.attr]`` -> ``spectral_ml.NAME[.attr]`` for re-exported names."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    module = node.get("py:module") or ""
    names = _reexported(app)
    candidates = []
    m = re.match(rf"^{PACKAGE}(?:\.\w+)+?\.(\w+)(\.\w+)?$", target)
    if m and m.group(1) in names:
        candidates.append(f"{PACKAGE}.{m.group(1)}{m.group(2) or ''}")
    head = target.split(".")[0]
    if module.startswith(PACKAGE) and head in names:
        candidates.append(f"{PACKAGE}.{target}")
    domain = env.domains["py"]
    for new in candidates:
        found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], new, node, contnode)
        if found is not None:
            return found
    return None


_FLOAT = re.compile(r"^-?\d+\.\d{5,}$")  # more decimals than an experiment means to print
MAX_COLUMNS = 5  # value columns per table part, besides the key column(s)


def round_cell(text: str) -> str:
    """``0.09375000000000001`` -> ``0.094``; anything else unchanged."""
    text = text.strip()
    if _FLOAT.match(text):
        value = float(text)
        return f"{value:.3f}" if abs(value) >= 0.01 or value == 0 else f"{value:.3g}"
    return text


_PLAIN = re.compile(r"^-?\d+(\.(\d+))?$")
_MISSING = ("", "—", "-", "n/a")


def _align_decimals(rows: list[list[str]], j: int) -> None:
    """Pad a column of plain numbers to one number of decimals (92.6 -> 92.60 beside 92.68).

    Only where the decimals differ by one, as when trailing zeros were dropped; a column
    such as a parameter grid (0.001 ... 1000.0) is left alone.
    """
    cells = [row[j] for row in rows if row[j] not in _MISSING]
    matches = [_PLAIN.match(c) for c in cells]
    if not cells or not all(matches):
        return
    decimals = [len(m.group(2) or "") for m in matches]
    if max(decimals) == 0 or max(decimals) - min(decimals) > 1:
        return
    for row in rows:
        if row[j] not in _MISSING:
            row[j] = f"{float(row[j]):.{max(decimals)}f}"


def split_table(header: list[str], rows: list[list[str]], max_columns: int = MAX_COLUMNS):
    """[(part header, part rows, is_paper)] of a results table that fits the page.

    Float noise is rounded and a column's decimals aligned. The paper's columns
    (``paper NAME``) go into the cell of our ``NAME`` column when every one has such a column
    ("93.71 ± 0.41 (paper 63.90)"), else into a table of their own. Our columns come in
    parts of at most ``max_columns``, each with the key column(s) first.
    """
    rows = [[round_cell(c) for c in row] for row in rows]
    first = [row[0] for row in rows]
    n_key = 1 if len(set(first)) == len(first) or len(header) < 2 else 2
    key = list(range(n_key))
    for j in range(n_key, len(header)):
        _align_decimals(rows, j)
    ours = [j for j in range(n_key, len(header)) if not header[j].lower().startswith("paper")]
    paper = [j for j in range(n_key, len(header)) if header[j].lower().startswith("paper")]
    names = {header[j]: j for j in ours}
    if paper and all(header[j][len("paper ") :] in names for j in paper):
        for j in paper:
            mine = names[header[j][len("paper ") :]]
            header = [*header[:mine], f"{header[mine]} (paper)", *header[mine + 1 :]]
            for row in rows:
                if row[j] not in _MISSING:
                    row[mine] = f"{row[mine]} ({row[j]})"
        paper = []
    parts = []
    for start in range(0, len(ours), max_columns):
        cols = key + ours[start : start + max_columns]
        parts.append(([header[j] for j in cols], [[row[j] for j in cols] for row in rows], False))
    if paper:
        cols = key + paper
        kept = [row for row in rows if any(row[j] not in _MISSING for j in paper)]
        if kept:
            parts.append(([header[j] for j in cols], [[row[j] for j in cols] for row in kept], True))
    return parts


def _cell(text: str) -> str:
    # "@" would make docutils see an e-mail address (mAP@10); "*" emphasis (DPPSG*).
    # A non-breaking space keeps "0.035 ± 0.021" on one line.
    text = text.replace(" ± ", "\u00a0±\u00a0")
    return text.replace("\\", "\\\\").replace("@", "\\@").replace("*", "\\*") or " "


class ResultsTable(SphinxDirective):
    """A results CSV as one or more tables that fit the page, with a download link."""

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"file": directives.unchanged_required}

    def run(self):
        rel = self.options["file"]
        _, path = self.env.relfn2path(rel, self.env.docname)
        self.env.note_dependency(path)
        with open(path, newline="", encoding="utf-8") as fh:
            header, *rows = list(csv.reader(fh))
        caption = self.arguments[0]
        lines = []
        parts = split_table(header, rows)
        n_ours = sum(1 for *_, is_paper in parts if not is_paper)
        i = 0
        for part_header, part_rows, is_paper in parts:
            if is_paper:
                title = "The paper's figures for comparison"
            else:
                i += 1
                title = caption if n_ours == 1 else f"{caption} ({i}/{n_ours})"
            lines += [f".. list-table:: {_cell(title)}", "   :header-rows: 1", "   :class: results-table", ""]
            for row in [part_header, *part_rows]:
                lines.append(f"   * - {_cell(row[0])}")
                lines += [f"     - {_cell(c)}" for c in row[1:]]
            lines.append("")
        name = rel.rsplit("/", 1)[-1]
        lines += [f"Data: :download:`{name} <{rel}>`", ""]
        return self.parse_text_to_nodes("\n".join(lines))


def _register_author_year_labels():
    """pybtex style "authoryear": the bibliography's labels read like the citations in the text
    ("Chen et al., 2018") instead of numbers."""
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                people = entry.persons.get("author") or entry.persons.get("editor") or []
                last = [" ".join(p.last_names) for p in people]
                if len(last) > 2:
                    names = f"{last[0]} et al."
                else:
                    names = " and ".join(last)
                yield f"{names}, {entry.fields.get('year', '')}"

    class AuthorYearStyle(PlainStyle):
        default_label_style = AuthorYearLabels

    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle, force=True)


def _summary_with_whole_parentheses():
    """autosummary ends a summary at the first ". ", even inside "(AML paper Eq. 9)": extend
    such a summary to the end of its sentence, where the parentheses are balanced."""
    import sphinx.ext.autosummary as autosummary

    original = autosummary.extract_summary
    if getattr(original, "_spectral_docs", False):
        return

    def extract_summary(doc, settings):
        summary = original(doc, settings)
        if summary.count("(") <= summary.count(")"):
            return summary
        stanza = []
        for line in doc:
            if not line.strip():
                if stanza:
                    break
                continue
            stanza.append(line.strip())
        text, depth = " ".join(stanza), 0
        for i, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "." and depth == 0 and i >= len(summary) - 1 and text[i + 1 : i + 2] in ("", " "):
                return text[: i + 1]
        return summary

    extract_summary._spectral_docs = True
    autosummary.extract_summary = extract_summary


def setup(app):
    _register_author_year_labels()
    _summary_with_whole_parentheses()
    app.add_directive("results-table", ResultsTable)
    app.add_transform(UndoFalseMailto)
    app.connect("missing-reference", resolve_reexport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
