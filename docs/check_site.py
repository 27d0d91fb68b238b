"""Check the built HTML documentation for what ``sphinx-build -W`` does not see.

Usage (after ``sphinx-build -W -b html docs DIR``)::

    python docs/check_site.py DIR [--no-browser] [--pages N | --all-pages]

Checks every ``.html`` page under DIR (and the CSS files it ships):

* **offline**: no script, stylesheet, font or other resource is loaded from another host
  (``<script src>``, ``<link href>`` of a stylesheet, preload or icon, ``<img src>``, CSS
  ``url(...)`` and ``@import``); links a reader clicks (``<a href>``) may go anywhere;
* **images**: every ``<img>`` of a page (``src`` and ``srcset``) exists in the build;
* **mailto**: no ``mailto:`` link whose address is not an e-mail address (``mAP@10``);
* **math in headings**: no raw LaTeX (``\\(``, ``\\[``, ``$$``, ``\\command``) in a heading or
  in a table of contents, where the math renderer does not always reach;
* **reference lists**: no lettered or roman-numbered list inside a citation, a footnote or a
  References section: a reference written "R. Bhatia, ..." is read as item "R" of such a
  list, whose letter overlaps the citation's label (write "Bhatia, R., ...");
* **signatures**: no public function, class or method documented as ``(*args, **kwargs)``,
  what autodoc shows for an object that was mocked or did not import;
* **thumbnails**: no gallery thumbnail that is sphinx-gallery's placeholder (its
  ``no_image.png``, or ``broken_example.png`` for an example that failed), compared pixel
  by pixel with the placeholder scaled as sphinx-gallery scales it;
* **decimals**: no column of a results table (class ``results-table``, or any table of a
  page under ``results``) whose numbers have different numbers of decimals ("2.55" beside
  "16.40", "97" beside "97.63"); the spreads after "±" and the papers' numbers in
  parentheses are compared among themselves, and a column whose numbers each have one
  significant digit (a parameter grid: 0.1, 0.01, 0.001) is left alone.

And, in headless Chromium where it is installed (a static check cannot see a layout):

* **clipping**: at 1280 and 420 px wide, no heading, page title, breadcrumb, sidebar or
  contents entry, link of the top bar or previous / next link whose text reaches beyond a
  box that hides or scrolls what overflows it, or beyond the window. The rules that wrap
  such labels are global CSS, so a sample of pages is loaded (``--pages``, default 12):
  those whose labels hold the longest unbroken words, where a failing rule shows first,
  and the page of each section with the longest label; ``--all-pages`` loads every page.
  The pages are served from DIR on a local port (127.0.0.1) for the time of the check.
  Without Chromium this check is skipped with a line on standard error
  (``--require-browser`` makes that a problem).

Prints one line per problem and exits with status 1 when there is any, 0 otherwise.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ADDRESS = re.compile(r"^[^@\s/]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
RAW_LATEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\[A-Za-z]{2,}")
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""")
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
TOC_CLASSES = ("toctree", "bd-toc", "toc-entry", "nav", "sidebar")
RESOURCE_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "icon",
    "shortcut",
    "prefetch",
    "apple-touch-icon",
    "manifest",
}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

# Reference lists
LETTERED_CLASSES = {"upperalpha", "loweralpha", "upperroman", "lowerroman"}
LETTERED_STYLE = re.compile(r"list-style(?:-type)?\s*:[^;]*\b(?:upper|lower)-(?:alpha|roman|latin)\b")
REFERENCE_CLASSES = {"citation", "citation-list", "footnote", "footnote-list"}
REFERENCE_ROLES = {"doc-biblioentry", "doc-bibliography", "doc-footnote", "doc-endnotes"}

# Signatures
ARGS_KWARGS = re.compile(r"\(\s*\*\s*args\s*,\s*\*\*\s*kwargs\s*\)")

# Thumbnails
PLACEHOLDERS = ("no_image.png", "broken_example.png")

# Decimals
_NUMBER = r"[-−+]?\d+(?:\.\d+)?"
NUMBER_CELL = re.compile(
    rf"^(?P<value>{_NUMBER})\s*%?"
    rf"(?:\s*±\s*(?P<spread>{_NUMBER})\s*%?)?"
    rf"(?:\s*\((?:paper\s+)?(?P<paper>{_NUMBER})\s*%?\))?$"
)

# Clipping
WIDTHS = (1280, 420)
DEFAULT_PAGES = 12
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
LABEL_SELECTORS = (
    "h1, h2, h3, h4, h5, h6, "
    ".bd-breadcrumbs .breadcrumb-item, "
    ".bd-sidebar-primary a, .bd-sidebar-secondary a, .bd-toc-nav a, "
    ".bd-header .navbar-brand, .bd-header .nav-link, "
    ".prev-next-area a, .prev-next-area .prev-next-title"
)
HARNESS_PATH = "/__check_site__/harness.html"
RESULT_PATH = "/__check_site__/result"
DONE_PATH = "/__check_site__/done"


def is_remote(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme in ("http", "https", "ftp")


# --- Pages as trees ------------------------------------------------------------------------


class Element:
    """An element of a parsed page: tag, attributes, children (elements and strings)."""

    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None):
        self.tag = tag
        self.attrs = attrs
        self.children: list[Element | str] = []
        self.parent = parent

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self, *tags: str):
        """This element and its descendants (those with one of ``tags``, if given)."""
        if not tags or self.tag in tags:
            yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter(*tags)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self._open = self.root

    def _element(self, tag, attrs) -> Element:
        element = Element(tag, {k: v or "" for k, v in attrs}, self._open)
        self._open.children.append(element)
        return element

    def handle_starttag(self, tag, attrs):
        element = self._element(tag, attrs)
        if tag not in VOID:
            self._open = element

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_endtag(self, tag):
        node = self._open
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:  # an end tag without its start tag is ignored
            self._open = node.parent

    def handle_data(self, data):
        self._open.children.append(data)


def parse_page(text: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def _image_urls(element: Element) -> list[str]:
    urls = [element.attrs[key] for key in ("src", "data") if element.attrs.get(key)]
    for entry in element.attrs.get("srcset", "").split(","):
        if entry.strip():
            urls.append(entry.split()[0])
    return urls


def _title_texts(root: Element) -> list[str]:
    """Texts of the headings and of the entries of tables of contents and sidebars."""
    texts = [h.text().strip() for h in root.iter(*HEADINGS)]
    for link in root.iter("a"):
        if any(
            a.tag in ("nav", "ul", "li", "div") and any(c in a.attrs.get("class", "") for c in TOC_CLASSES)
            for a in link.ancestors()
        ):
            texts.append(link.text().strip())
    return [t for t in texts if t]


def label_texts(root: Element) -> list[str]:
    """The texts the clipping check measures: titles, breadcrumbs, previous / next links."""
    texts = _title_texts(root)
    for element in root.iter("p", "li", "a"):
        if element.classes & {"prev-next-title", "breadcrumb-item", "nav-link"}:
            texts.append(element.text().strip())
    return texts


# --- Static checks -------------------------------------------------------------------------


def _lettered_references(root: Element, rel: str) -> list[str]:
    problems = []
    for ol in root.iter("ol"):
        lettered = (
            ol.attrs.get("type") in ("A", "a", "I", "i")
            or bool(ol.classes & LETTERED_CLASSES)
            or bool(LETTERED_STYLE.search(ol.attrs.get("style", "")))
        )
        if not lettered:
            continue
        in_reference = any(
            a.classes & REFERENCE_CLASSES
            or a.attrs.get("role") in REFERENCE_ROLES
            or (a.tag == "section" and a.attrs.get("id", "").startswith("references"))
            for a in ol.ancestors()
        )
        if in_reference:
            text = " ".join(ol.text().split())
            problems.append(
                f"{rel}: a reference parses as a lettered list (an initial read as the list's letter; "
                f"write 'Name, I.'): {text[:70]!r}"
            )
    return problems


def _star_signatures(root: Element, rel: str) -> list[str]:
    problems = []
    for dt in root.iter("dt"):
        if not {"sig", "py"} <= dt.classes:
            continue
        name = dt.attrs.get("id", "")
        if any(part.startswith("_") for part in name.split(".")):
            continue
        signature = " ".join(dt.text().split())
        if ARGS_KWARGS.search(signature):
            problems.append(f"{rel}: {name or signature} is documented as (*args, **kwargs)")
    return problems


@functools.cache
def _placeholder_pixels(width: int, height: int) -> tuple[bytes, ...]:
    """RGBA pixels of sphinx-gallery's placeholders scaled to a thumbnail of this size."""
    try:
        from PIL import Image
        from sphinx_gallery import glr_path_static
        from sphinx_gallery.utils import scale_image
    except ImportError:
        return ()
    pixels = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in PLACEHOLDERS:
            out = Path(tmp) / name
            scale_image(str(Path(glr_path_static()) / name), str(out), width, height)
            with Image.open(out) as image:
                pixels.append(image.convert("RGBA").tobytes())
    return tuple(pixels)


def is_placeholder(path: Path) -> bool:
    """Whether the image at ``path`` is one of sphinx-gallery's placeholder thumbnails."""
    if path.name in PLACEHOLDERS:
        return True
    try:
        from PIL import Image
    except ImportError:
        return False
    try:
        with Image.open(path) as image:
            size, pixels = image.size, image.convert("RGBA").tobytes()
    except OSError:
        return False
    for reference in _placeholder_pixels(*size):
        if len(reference) == len(pixels):
            # a few levels of difference per channel: another PNG encoder or resampling
            diff = sum(abs(a - b) for a, b in zip(reference[::7], pixels[::7], strict=True))
            if diff <= 3 * len(pixels[::7]):
                return True
    return False


def _placeholder_thumbnails(root: Element, path: Path, rel: str, seen: set[Path]) -> list[str]:
    """Placeholder thumbnails of a page's gallery, each image once per site (``seen``)."""
    problems = []
    for container in root.iter("div"):
        if "sphx-glr-thumbcontainer" not in container.classes:
            continue
        links = [a.text().strip() for a in container.iter("a")]
        title = links[0] if links else container.attrs.get("tooltip", "")[:60]
        for img in container.iter("img"):
            src = img.attrs.get("src", "")
            if not src or is_remote(src) or src.startswith("data:"):
                continue
            target = (path.parent / unquote(urlsplit(src).path)).resolve()
            if target in seen or not target.is_file():
                continue
            seen.add(target)
            if is_placeholder(target):
                problems.append(f"{rel}: the gallery thumbnail of {title!r} is sphinx-gallery's placeholder ({src})")
    return problems


def _significant_digits(number: str) -> int:
    return len(number.lstrip("-−+").replace(".", "").strip("0"))


def _decimals(number: str) -> int:
    return len(number.partition(".")[2])


def _table_rows(table: Element) -> tuple[list[str], list[list[str]]]:
    header: list[str] = []
    rows: list[list[str]] = []
    for tr in table.iter("tr"):
        cells = [" ".join(c.text().split()) for c in tr.children if isinstance(c, Element) and c.tag in ("td", "th")]
        if any(a.tag == "thead" for a in tr.ancestors()):
            header = cells
        else:
            rows.append(cells)
    return header, rows


def mixed_decimals(header: list[str], rows: list[list[str]]) -> list[str]:
    """Descriptions of the columns of a table whose numbers differ in their decimals."""
    found = []
    for j in range(max((len(r) for r in rows), default=0)):
        groups: dict[str, list[str]] = {"value": [], "spread": [], "paper": []}
        for row in rows:
            match = NUMBER_CELL.match(row[j].replace("\u00a0", " ")) if j < len(row) else None
            if match:
                for group, numbers in groups.items():
                    if match.group(group):
                        numbers.append(match.group(group))
        name = header[j] if j < len(header) else f"column {j + 1}"
        for group, numbers in groups.items():
            if len({_decimals(n) for n in numbers}) < 2 or all(_significant_digits(n) <= 1 for n in numbers):
                continue
            examples = {}
            for n in numbers:
                examples.setdefault(_decimals(n), n)
            what = {"value": "numbers", "spread": "spreads after ±", "paper": "papers' numbers"}[group]
            shown = ", ".join(examples[d] for d in sorted(examples))
            found.append(f"column {name!r}: {what} with different numbers of decimals ({shown})")
    return found


def _results_tables(root: Element, rel: str) -> list[str]:
    on_results_page = rel.startswith("results")
    problems = []
    for table in root.iter("table"):
        if not (on_results_page or "results-table" in table.classes) or "figure-row" in table.classes:
            continue
        captions = [" ".join(c.text().split()).rstrip("#").strip() for c in table.iter("caption")]
        header, rows = _table_rows(table)
        for found in mixed_decimals(header, rows):
            problems.append(f"{rel}: table {captions[0] if captions else '(no caption)'!r}, {found}")
    return problems


def check_page(
    path: Path, root: Path, label_words: dict[str, int] | None = None, thumbnails: set[Path] | None = None
) -> list[str]:
    """The static checks' problems of one page.

    ``label_words``, if given, gets the page's :func:`longest_label_word`; ``thumbnails``
    holds the gallery thumbnails already checked on other pages (a thumbnail shows on the
    gallery's page and on the API page of every object the example uses).
    """
    rel = path.relative_to(root).as_posix()
    tree = parse_page(path.read_text(encoding="utf-8", errors="replace"))
    if label_words is not None:
        label_words[rel] = longest_label_word(tree)
    problems = []
    for element in tree.iter():
        tag, a = element.tag, element.attrs
        if tag == "script" and a.get("src"):
            what, urls = "script", [a["src"]]
        elif tag == "link" and a.get("href") and set(a.get("rel", "").lower().split()) & RESOURCE_RELS:
            what, urls = f"link rel={a.get('rel')}", [a["href"]]
        elif tag in ("img", "source", "iframe", "embed", "video", "audio"):
            what, urls = tag, _image_urls(element)
        else:
            continue
        problems += [f"{rel}: {what} loads from another host: {url}" for url in urls if is_remote(url)]
    for img in tree.iter("img"):
        for url in _image_urls(img):
            parts = urlsplit(url)
            if parts.scheme == "data" or is_remote(url):
                continue
            target = (path.parent / unquote(parts.path)).resolve()
            if not target.is_file():
                problems.append(f"{rel}: image not found: {url}")
    for link in tree.iter("a"):
        href = link.attrs.get("href", "")
        if href.startswith("mailto:"):
            address = unquote(href[len("mailto:") :]).split("?")[0]
            if not ADDRESS.match(address):
                problems.append(f"{rel}: mailto link from text that is not an address: {address}")
    for title in _title_texts(tree):
        if RAW_LATEX.search(title):
            problems.append(f"{rel}: raw LaTeX in a heading or table of contents: {title!r}")
    problems += _lettered_references(tree, rel)
    problems += _star_signatures(tree, rel)
    problems += _placeholder_thumbnails(tree, path, rel, set() if thumbnails is None else thumbnails)
    problems += _results_tables(tree, rel)
    return problems


def check_css(path: Path, root: Path) -> list[str]:
    rel = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8", errors="replace")
    return [f"{rel}: stylesheet loads from another host: {url}" for url in CSS_URL.findall(text) if is_remote(url)]


def check_site(root: Path, label_words: dict[str, int] | None = None) -> list[str]:
    """Every problem the static checks find under the built HTML directory ``root``.

    ``label_words``, if given, is filled with the length of the longest word of each page's
    labels (what :func:`sample_pages` ranks the pages by), so they are parsed once.
    """
    root = Path(root)
    # index pages first, so that a gallery's thumbnails are reported on the gallery's page
    pages = sorted(root.rglob("*.html"), key=lambda p: (p.name != "index.html", p))
    if not pages:
        return [f"{root}: no HTML page found (build the documentation first)"]
    problems: list[str] = []
    thumbnails: set[Path] = set()
    for page in pages:
        problems += check_page(page, root, label_words, thumbnails)
    for css in sorted(root.rglob("*.css")):
        problems += check_css(css, root)
    return problems


# --- Clipping, in headless Chromium -------------------------------------------------------


def find_browser() -> str | None:
    """The path of an installed Chromium or Chrome, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def longest_label_word(tree: Element) -> int:
    """Length of the longest unbroken word of a page's labels (0 without labels)."""
    return max((len(word) for text in label_texts(tree) for word in text.split()), default=0)


def _section(rel: str) -> str:
    return rel.partition("/")[0] if "/" in rel else ""


def sample_pages(
    root: Path, n_pages: int | None = DEFAULT_PAGES, label_words: dict[str, int] | None = None
) -> list[str]:
    """Pages (paths relative to ``root``) most likely to show a clipped label.

    The ``n_pages`` pages whose labels hold the longest unbroken words, then, for each
    top-level directory of the site (and its top level) not yet among them, its page with
    the longest such word; ``n_pages=None``: every page. Files of ``_static`` are theme
    templates, not pages. ``label_words`` is what :func:`check_site` filled, if it ran.
    """
    root = Path(root)
    if label_words is None:
        label_words = {}
        for path in sorted(root.rglob("*.html")):
            tree = parse_page(path.read_text(encoding="utf-8", errors="replace"))
            label_words[path.relative_to(root).as_posix()] = longest_label_word(tree)
    pages = sorted(rel for rel in label_words if not rel.startswith("_static/"))
    if n_pages is None:
        return pages
    ranked = sorted(pages, key=lambda rel: -label_words[rel])
    chosen = ranked[:n_pages]
    sections = {_section(rel) for rel in chosen}
    for rel in ranked[n_pages:]:
        if _section(rel) not in sections:
            sections.add(_section(rel))
            chosen.append(rel)
    return chosen


# Runs in the harness page: loads each page in an iframe of the width to check, waits for its
# fonts and MathJax, and reports the labels whose text reaches beyond a box that hides or
# scrolls its overflow, or beyond the window.
_HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script>
const JOBS = __JOBS__;
const SELECTORS = __SELECTORS__;
const pause = (ms) => new Promise((done) => setTimeout(done, ms));
function describe(el) {
  let s = el.tagName.toLowerCase();
  if (el.id) s += "#" + el.id;
  if (el.classList.length) s += "." + [...el.classList].slice(0, 2).join(".");
  return s;
}
function clipped(win) {
  const doc = win.document;
  const viewport = doc.documentElement.clientWidth;
  const found = [];
  for (const el of doc.querySelectorAll(SELECTORS)) {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const text = el.textContent.replace(/\\s+/g, " ").trim();
    if (!text) continue;
    const range = doc.createRange();
    range.selectNodeContents(el);
    let left = Infinity, right = -Infinity;
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) { left = Math.min(left, r.left); right = Math.max(right, r.right); }
    }
    if (right <= left) continue;
    let by = null, hidden = false;
    for (let box = el; box && box !== doc.documentElement; box = box.parentElement) {
      const style = win.getComputedStyle(box);
      if (style.overflowX === "visible") continue;
      if (box.clientWidth <= 2) { hidden = true; break; }  // visually hidden on purpose
      const outer = box.getBoundingClientRect();
      const inner = outer.left + box.clientLeft;
      if (left < inner - 1 || right > inner + box.clientWidth + 1) { by = describe(box); break; }
    }
    if (hidden) continue;
    if (!by && (right > viewport + 1 || left < -1)) by = "the window";
    if (by) found.push({text: text.slice(0, 80), element: describe(el), by: by});
  }
  return found;
}
async function measure(job) {
  const frame = document.createElement("iframe");
  frame.style.width = job.width + "px";
  frame.style.height = "900px";
  const loaded = new Promise((done) => { frame.onload = done; });
  frame.src = job.url;
  document.body.appendChild(frame);
  await Promise.race([loaded, pause(20000)]);
  const win = frame.contentWindow;
  await Promise.race([win.document.fonts.ready, pause(5000)]);
  if (win.MathJax && win.MathJax.startup && win.MathJax.startup.promise) {
    await Promise.race([win.MathJax.startup.promise, pause(5000)]);
  }
  await pause(50);
  const found = clipped(win);
  frame.remove();
  return found;
}
async function post(path, data) {
  await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(data)});
}
(async () => {
  for (const job of JOBS) {
    let found;
    try { found = await measure(job); } catch (e) { found = [{text: "", element: "", by: "error: " + e}]; }
    await post("__RESULT__", {page: job.page, width: job.width, found: found});
  }
  await post("__DONE__", {});
})();
</script></body></html>
"""


def _harness(jobs: list[dict]) -> bytes:
    page = (
        _HARNESS.replace("__JOBS__", json.dumps(jobs))
        .replace("__SELECTORS__", json.dumps(LABEL_SELECTORS))
        .replace("__RESULT__", RESULT_PATH)
        .replace("__DONE__", DONE_PATH)
    )
    return page.encode("utf-8")


def clipped_labels(
    root: Path, pages: list[str], browser: str, widths=WIDTHS, timeout: float | None = None
) -> list[str]:
    """Problems of the clipping check on ``pages`` (relative paths) at each of ``widths``."""
    root = Path(root)
    jobs = [{"page": p, "width": w, "url": "/" + quote(p)} for w in widths for p in pages]
    reports: list[dict] = []
    done = threading.Event()
    harness = _harness(jobs)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            if self.path != HARNESS_PATH:
                return super().do_GET()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(harness)))
            self.end_headers()
            self.wfile.write(harness)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == RESULT_PATH:
                reports.append(json.loads(body))
            elif self.path == DONE_PATH:
                done.set()
            self.send_response(204)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    timeout = timeout if timeout is not None else 30 + 10 * len(jobs)
    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as profile:
            process = subprocess.Popen(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-extensions",
                    "--no-first-run",
                    "--no-default-browser-check",
                    f"--user-data-dir={profile}",
                    "--window-size=1400,1000",
                    f"http://127.0.0.1:{server.server_address[1]}{HARNESS_PATH}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                while not done.wait(0.2):
                    if process.poll() is not None or time.monotonic() - start > timeout:
                        break
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    finally:
        server.shutdown()
        server.server_close()
    problems = []
    for report in reports:
        for item in report["found"]:
            if item["by"].startswith("error"):
                problems.append(f"{report['page']} at {report['width']} px: the clipping check failed: {item['by']}")
            else:
                problems.append(
                    f"{report['page']} at {report['width']} px: {item['text']!r} ({item['element']}) "
                    f"is clipped by {item['by']}"
                )
    if not done.is_set():
        problems.append(
            f"clipping check: the browser measured {len(reports)} of {len(jobs)} page loads "
            f"before it {'stopped' if time.monotonic() - start <= timeout else f'timed out ({timeout:.0f} s)'}"
        )
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("html_dir", type=Path, help="output directory of sphinx-build -b html")
    parser.add_argument("--no-browser", action="store_true", help="static checks only")
    parser.add_argument("--require-browser", action="store_true", help="a missing browser is a problem")
    parser.add_argument("--browser", help="path of Chromium or Chrome (default: the first found on PATH)")
    sample = parser.add_mutually_exclusive_group()
    sample.add_argument(
        "--pages",
        type=int,
        default=DEFAULT_PAGES,
        help=f"pages sampled by the clipping check (default {DEFAULT_PAGES})",
    )
    sample.add_argument("--all-pages", action="store_true", help="the clipping check loads every page")
    args = parser.parse_args(argv)
    if not args.html_dir.is_dir():
        parser.error(f"{args.html_dir} is not a directory: build the documentation first")
    label_words: dict[str, int] = {}
    problems = check_site(args.html_dir, label_words)
    n_pages = len(list(args.html_dir.rglob("*.html")))
    if n_pages and not args.no_browser:
        browser = args.browser or find_browser()
        if browser is None:
            message = "check_site: no Chromium or Chrome found, the clipping check did not run"
            if args.require_browser:
                problems.append(message)
            else:
                print(message, file=sys.stderr)
        else:
            pages = sample_pages(args.html_dir, None if args.all_pages else args.pages, label_words)
            problems += clipped_labels(args.html_dir, pages, browser)
            print(f"check_site: clipping checked on {len(pages)} pages at {' and '.join(map(str, WIDTHS))} px")
    for line in problems:
        print(line)
    if problems:
        print(f"check_site: {len(problems)} problem(s) in {n_pages} pages", file=sys.stderr)
        return 1
    print(f"check_site: {n_pages} pages, no problem found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
