"""Sphinx extension of the spectral_ml documentation.

* Names that ``spectral_ml`` re-exports (``spectral_ml.AMLMetric``) are documented there;
  references to them through their submodule (``spectral_ml.metric.AMLMetric``) resolve to
  that page.
* ``mAP@10`` and the like are not e-mail addresses: docutils' automatic ``mailto:`` links are
  undone unless the text is an address (a domain with a dot).
* ``.. results-table:: CAPTION`` with ``:file: results/NAME.csv`` shows a table that the
  reproduction run wrote so that it fits the page: float noise rounded to three decimals,
  the papers' columns (``paper ...``) in a table of their own, and wide tables split into
  parts that repeat the key column(s). The CSV file itself is offered for download.
* Long dotted names (``spectral_ml.torch.PaperMNISTNet``) wrap at their dots: after the
  build, every page gets a ``<wbr>`` (a line-break opportunity that copying and search
  ignore) after each dot inside a name in its headings, its navigation (sidebars, contents,
  breadcrumbs), its previous / next links and the API summary tables. The theme renders the
  navigation from plain-text titles, so this is done on the written pages.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective

PACKAGE = "spectral_ml"
_ADDRESS = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


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


# A dot between two parts of a name: "spectral_ml.torch" but not "0.1.0", "Eq. 3" or "e.g.".
_NAME_DOT = re.compile(r"(?<=[A-Za-z_]\w)\.(?=[A-Za-z_])")
# The parts of a page whose text is a label: headings, navigation, previous / next titles and
# the API's summary tables (none of them holds a script or preformatted text).
_LABELS = re.compile(
    r"<(h[1-6])\b.*?</\1>"
    r"|<nav\b.*?</nav>"
    r'|<p class="prev-next-title">.*?</p>'
    r'|<table class="[^"]*\bautosummary\b.*?</table>',
    re.DOTALL,
)
# The text between two tags, or a block whose text is not a label (kept as it is).
_TEXT = re.compile(r"(<(script|style|pre|textarea)\b.*?</\2>)|>([^<]+)<", re.DOTALL)


def _break_text(match: re.Match) -> str:
    if match.group(1):
        return match.group(1)
    return ">" + _NAME_DOT.sub(".<wbr>", match.group(3)) + "<"


def break_names_at_dots(html: str) -> str:
    """``html`` with ``<wbr>`` after each dot inside a name in its headings, navigation,
    previous / next links and autosummary tables (text elsewhere is left as it is).

    ``<h1>spectral_ml.torch.DPPDiversity</h1>`` becomes
    ``<h1>spectral_ml.<wbr>torch.<wbr>DPPDiversity</h1>``; attributes are not text and stay
    as they are, and a page already treated comes back unchanged.
    """
    return _LABELS.sub(lambda label: _TEXT.sub(_break_text, label.group(0)), html)


def _break_names_in_pages(app, exception):
    """``break_names_at_dots`` on every HTML page of the output directory."""
    if app.builder.format != "html":
        return
    for path in Path(app.outdir).rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        treated = break_names_at_dots(html)
        if treated != html:
            path.write_text(treated, encoding="utf-8")


def _module_of_wrapped(app, modname, attribute):
    """viewcode: the module that defines a package object, through decorators' wrappers.

    scikit-learn wraps an estimator's ``transform`` (``set_output``) in a function of its
    own module; the ``[source]`` link goes to the wrapped function's module instead.
    """
    import importlib
    import inspect

    if not modname or not (modname == PACKAGE or modname.startswith(PACKAGE + ".")):
        return None
    try:
        value = importlib.import_module(modname)
        for part in attribute.split("."):
            value = getattr(value, part)
        return getattr(inspect.unwrap(value), "__module__", None)
    except Exception:  # not an attribute viewcode can follow: its own lookup decides
        return None


def _tags_with_inherited_methods(app, modname):
    """viewcode's source and tags of a package module, with a tag for each inherited method.

    viewcode links ``spectral_ml.AMLMetric.fit`` to the module that defines ``fit`` (a
    base class's module) but looks for the tag ``AMLMetric.fit`` there, where the method is
    ``BasePairMetric.fit``: every class of the package that inherits a method of a class of
    this module gets a tag of its own name on the same lines, so the method's ``[source]``
    link shows where it is written.
    """
    import importlib
    import inspect

    from sphinx.pycode import ModuleAnalyzer

    if not (modname == PACKAGE or modname.startswith(PACKAGE + ".")):
        return None
    try:
        analyzer = ModuleAnalyzer.for_module(modname)
        analyzer.find_tags()
        module = importlib.import_module(modname)
    except Exception:  # viewcode itself reports what it cannot analyze
        return None
    tags = dict(analyzer.tags)
    for owner in list(vars(module).values()):
        if not inspect.isclass(owner) or owner.__module__ != modname:
            continue
        subclasses, seen = list(owner.__subclasses__()), set()
        while subclasses:
            sub = subclasses.pop()
            if sub in seen:
                continue
            seen.add(sub)
            subclasses += sub.__subclasses__()
            for tag, where in analyzer.tags.items():
                head, _, method = tag.partition(".")
                if head != owner.__name__ or not method or "." in method:
                    continue
                alias = f"{sub.__name__}.{method}"
                found = next((vars(c)[method] for c in sub.__mro__ if method in vars(c)), None)
                if alias not in tags and method in vars(owner) and _plain(found) is _plain(vars(owner)[method]):
                    tags[alias] = where
    return analyzer.code, tags


def _plain(attribute):
    """The function behind a class attribute: through classmethod, staticmethod, property
    and wrappers (scikit-learn re-wraps ``transform`` in each subclass)."""
    import inspect

    attribute = getattr(attribute, "__func__", None) or getattr(attribute, "fget", None) or attribute
    return inspect.unwrap(attribute) if callable(attribute) else attribute


def setup(app):
    app.setup_extension("sphinx.ext.viewcode")  # its event is connected to below
    _register_author_year_labels()
    _summary_with_whole_parentheses()
    app.add_directive("results-table", ResultsTable)
    app.add_transform(UndoFalseMailto)
    app.connect("missing-reference", resolve_reexport)
    app.connect("build-finished", _break_names_in_pages)
    app.connect("viewcode-find-source", _tags_with_inherited_methods)
    app.connect("viewcode-follow-imported", _module_of_wrapped)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
