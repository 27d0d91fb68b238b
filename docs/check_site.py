"""Check the built HTML documentation for what ``sphinx-build -W`` does not see.

Usage (after ``sphinx-build -W -b html docs DIR``)::

    python docs/check_site.py DIR

Checks every ``.html`` page under DIR (and the CSS files it ships):

* **offline**: no script, stylesheet, font or other resource is loaded from another host
  (``<script src>``, ``<link href>`` of a stylesheet, preload or icon, ``<img src>``, CSS
  ``url(...)`` and ``@import``); links a reader clicks (``<a href>``) may go anywhere;
* **images**: every ``<img>`` of a page (``src`` and ``srcset``) exists in the build;
* **mailto**: no ``mailto:`` link whose address is not an e-mail address (``mAP@10``);
* **math in headings**: no raw LaTeX (``\\(``, ``\\[``, ``$$``, ``\\command``) in a heading or
  in a table of contents, where the math renderer does not always reach.

Prints one line per problem and exits with status 1 when there is any, 0 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


def is_remote(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme in ("http", "https", "ftp")


class _Page(HTMLParser):
    """Collects a page's resources, images, mailto links and heading / toc texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.resources: list[tuple[str, str]] = []  # (what, url)
        self.images: list[str] = []
        self.mailtos: list[str] = []
        self.titles: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, collects title text)
        self._text: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.resources.append(("script", a["src"]))
        elif tag == "link" and a.get("href"):
            rels = set((a.get("rel") or "").lower().split())
            if rels & RESOURCE_RELS:
                self.resources.append((f"link rel={a.get('rel')}", a["href"]))
        elif tag in ("img", "source", "iframe", "embed", "video", "audio"):
            for key in ("src", "data"):
                if a.get(key):
                    self.resources.append((tag, a[key]))
                    if tag == "img":
                        self.images.append(a[key])
            for entry in (a.get("srcset") or "").split(","):
                if entry.strip():
                    url = entry.split()[0]
                    self.resources.append((tag, url))
                    if tag == "img":
                        self.images.append(url)
        elif tag == "a" and (a.get("href") or "").startswith("mailto:"):
            self.mailtos.append(a["href"])
        if tag in ("meta", "link", "img", "br", "hr", "input", "source", "area", "wbr", "col"):
            return  # void elements have no end tag
        classes = a.get("class") or ""
        collects = tag in HEADINGS or (tag in ("nav", "ul", "li", "div") and any(c in classes for c in TOC_CLASSES))
        if tag in ("a",) and self._collecting():
            collects = True
        self._stack.append((tag, collects))
        if collects:
            self._text.append([])

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, collects = self._stack.pop()
            if collects:
                text = "".join(self._text.pop()).strip()
                if text and (open_tag in HEADINGS or open_tag == "a"):
                    self.titles.append(text)
                elif self._text:
                    self._text[-1].append(text)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._text:
            self._text[-1].append(data)

    def _collecting(self) -> bool:
        return any(c for _, c in self._stack)


def check_page(path: Path, root: Path) -> list[str]:
    rel = path.relative_to(root).as_posix()
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    page.close()
    problems = []
    for what, url in page.resources:
        if is_remote(url):
            problems.append(f"{rel}: {what} loads from another host: {url}")
    for url in page.images:
        parts = urlsplit(url)
        if parts.scheme == "data" or is_remote(url):
            continue
        target = (path.parent / unquote(parts.path)).resolve()
        if not target.is_file():
            problems.append(f"{rel}: image not found: {url}")
    for href in page.mailtos:
        address = unquote(href[len("mailto:") :]).split("?")[0]
        if not ADDRESS.match(address):
            problems.append(f"{rel}: mailto link from text that is not an address: {address}")
    for title in page.titles:
        if RAW_LATEX.search(title):
            problems.append(f"{rel}: raw LaTeX in a heading or table of contents: {title!r}")
    return problems


def check_css(path: Path, root: Path) -> list[str]:
    rel = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8", errors="replace")
    return [f"{rel}: stylesheet loads from another host: {url}" for url in CSS_URL.findall(text) if is_remote(url)]


def check_site(root: Path) -> list[str]:
    """Every problem found under the built HTML directory ``root``."""
    root = Path(root)
    pages = sorted(root.rglob("*.html"))
    if not pages:
        return [f"{root}: no HTML page found (build the documentation first)"]
    problems = []
    for page in pages:
        problems += check_page(page, root)
    for css in sorted(root.rglob("*.css")):
        problems += check_css(css, root)
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("html_dir", type=Path, help="output directory of sphinx-build -b html")
    args = parser.parse_args(argv)
    if not args.html_dir.is_dir():
        parser.error(f"{args.html_dir} is not a directory: build the documentation first")
    problems = check_site(args.html_dir)
    for line in problems:
        print(line)
    n_pages = len(list(args.html_dir.rglob("*.html")))
    if problems:
        print(f"check_site: {len(problems)} problem(s) in {n_pages} pages", file=sys.stderr)
        return 1
    print(f"check_site: {n_pages} pages, no problem found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
