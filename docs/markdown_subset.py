"""Read the repository's Markdown files (``CHANGELOG.md``, ``CONTRIBUTING.md``) into the site.

A docutils parser for the ``include`` directive, so that a page includes a Markdown file
instead of a copy of it::

   .. include:: ../CHANGELOG.md
      :parser: markdown_subset

It rewrites the Markdown that these files use as reStructuredText and hands that to the
reStructuredText parser: ATX headings (``#`` to ``####``), paragraphs, ``-``, ``*`` and
numbered lists (nested by indentation), fenced code blocks with a language, inline code,
``**bold**``, ``*emphasis*``, inline links ``[text](url)``, reference links ``[text]``
with their ``[text]: url`` definitions, and ``<url>``. Anything else that would not read as
intended (tables, raw HTML, images, block quotes) raises ``ValueError`` naming the line, so
that the build fails instead of publishing a garbled page.
"""

from __future__ import annotations

import re

from docutils.parsers import rst

__all__ = ["Parser", "markdown_to_rst"]

_UNDERLINES = "=-~^"
_HEADING = re.compile(r"^(#{1,4})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(\s*)```\s*([\w+-]*)\s*$")
_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+")
_DEFINITION = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*(\S+)\s*$")
_UNSUPPORTED = (
    (re.compile(r"^\s*\|"), "a table"),
    (re.compile(r"^\s*<(?!https?://)[A-Za-z/!]"), "raw HTML"),
    (re.compile(r"!\["), "an image"),
    (re.compile(r"^\s*>"), "a block quote"),
)
# Inline spans, in the order they are tried at each position: a backslash escape (the same in
# both languages), then code, whose content is taken literally.
_INLINE = re.compile(
    r"(?P<escaped>\\[!-/:-@[-`{-~])"
    r"|(?P<code>`+)(?P<code_text>.+?)(?P=code)"
    r"|\[(?P<link_text>[^\]]+)\]\((?P<url>[^)\s]+)\)"
    r"|\[(?P<ref>[^\]]+)\](?!\()"
    r"|<(?P<auto>https?://[^>\s]+)>"
    r"|(?P<strong>\*\*)(?P<strong_text>\S(?:.*?\S)?)\*\*"
    r"|(?<![*\w])\*(?P<em_text>[^*\s](?:[^*]*[^*\s])?)\*(?![*\w])"
)
# reStructuredText ends an inline span only before white space or punctuation, and starts one
# only after them: a span glued to a word is separated by an escaped space.
_BEFORE = re.compile(r"[\w*`|]$")
_AFTER = re.compile(r"^[\w*`|]")


def _escape(text: str) -> str:
    """Plain Markdown text as reStructuredText text: its backslash escapes kept as they are."""
    # A word ending in "_" or a "|...|" pair would be a reference or a substitution there.
    text = re.sub(r"(?<=\w)_(?=\W|$)", r"\\_", text)
    # Every mark of emphasis or code left is a literal character: the spans were taken out.
    return re.sub(r"([*`|])", r"\\\1", text)


def _inline(text: str, links: dict[str, str]) -> str:
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(_escape(text[pos : m.start()]))
        if m["escaped"]:
            span = m["escaped"]
        elif m["code"]:
            span = "``" + m["code_text"].strip() + "``"
        elif m["url"]:
            span = f"`{_plain(m['link_text'])} <{m['url']}>`__"
        elif m["ref"]:
            url = links.get(m["ref"].lower())
            span = f"`{_plain(m['ref'])} <{url}>`__" if url else _escape(m["ref"])
        elif m["auto"]:
            span = m["auto"]
        elif m["strong"]:
            span = "**" + _flat(m["strong_text"]) + "**"
        else:
            span = "*" + _flat(m["em_text"]) + "*"
        before = "".join(out)
        if span[0] in "`*" and not m["escaped"] and _BEFORE.search(before):
            span = "\\ " + span
        out.append(span)
        pos = m.end()
        if span[-1] in "`*_" and not m["escaped"] and _AFTER.search(text[pos:]):
            out.append("\\ ")
    out.append(_escape(text[pos:]))
    return "".join(out)


def _flat(text: str) -> str:
    """Emphasized text: reStructuredText cannot nest code in it, so the code marks are dropped."""
    return re.sub(r"(?<!\\)([*|])", r"\\\1", text.replace("`", ""))


def _plain(text: str) -> str:
    """Link text: reStructuredText cannot nest markup in it, so the Markdown marks are dropped."""
    return re.sub(r"[`*]", "", text).replace("<", r"\<")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _text_indent(line: str) -> int:
    """The column where the text of a line starts: after the marker on a list item's line."""
    item = _ITEM.match(line)
    return item.end() if item else _indent(line)


def markdown_to_rst(text: str) -> str:
    """The reStructuredText of Markdown ``text`` (the subset described in the module docstring).

    Raises
    ------
    ValueError
        For Markdown outside that subset, naming the line.
    """
    lines = text.splitlines()
    links = {}
    for line in lines:
        m = _DEFINITION.match(line)
        if m:
            links[m[1].lower()] = m[2]
    out: list[str] = []
    fence: str | None = None  # indentation of the open code block's content
    for number, line in enumerate(lines, 1):
        if fence is not None:
            if _FENCE.match(line) and not _FENCE.match(line)[2]:
                fence = None
                out.append("")
            else:
                out.append(fence + line if line.strip() else "")
            continue
        if _DEFINITION.match(line):
            continue
        m = _FENCE.match(line)
        if m:
            indent = m[1]
            out += ["", f"{indent}.. code-block:: {m[2] or 'text'}", ""]
            fence = indent + "   "
            continue
        if not line.strip():
            out.append("")
            continue
        for pattern, what in _UNSUPPORTED:
            if pattern.search(line):
                raise ValueError(f"line {number}: {what} is not part of the Markdown this converter reads: {line!r}")
        m = _HEADING.match(line)
        if m:
            title = _inline(m[2], links)
            out += ["", title, _UNDERLINES[len(m[1]) - 1] * len(title), ""]
            continue
        indent = len(line) - len(line.lstrip())
        previous = out[-1] if out and out[-1].strip() else None
        if _ITEM.match(line):
            # A list needs a blank line before it, and so does a list that ends a nested one.
            if previous is not None and not (_ITEM.match(previous) and _indent(previous) == indent):
                out.append("")
        elif previous is not None and indent < _text_indent(previous):
            # A lazy continuation line of a list item: indented as the item's text.
            indent = _text_indent(previous)
            line = " " * indent + line.lstrip()
        out.append(line[:indent] + _inline(line[indent:], links))
    if fence is not None:
        raise ValueError("a fenced code block is not closed")
    return "\n".join(out).strip("\n") + "\n"


class Parser(rst.Parser):
    """The reStructuredText parser, fed the conversion of a Markdown file."""

    supported = ("markdown_subset",)

    def parse(self, inputstring: str, document) -> None:  # noqa: D102 - as the base class's
        super().parse(markdown_to_rst(inputstring), document)
