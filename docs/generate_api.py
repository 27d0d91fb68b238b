"""Write the API reference's module pages from the ``__all__`` of every public module.

``conf.py`` runs this at every build, so the reference always follows the code: one page per
public module under ``docs/api/`` (not tracked), each with summary tables whose entries
autosummary turns into one page per object under ``docs/api/generated/``. The hand-written
``docs/api.rst`` holds the table of the main entry points and links to the module pages.

A module is documented when its name has no leading underscore, it defines ``__all__`` and
it adds names that its parent package does not re-export (``spectral_ml.nn.layers`` is
documented through ``spectral_ml.nn``). Names that ``spectral_ml`` itself re-exports are
documented where users import them, as ``spectral_ml.NAME``.

``python docs/generate_api.py`` writes the pages without building; modules that do not
import are left out and reported on standard error.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import pkgutil
import pprint
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
PACKAGE = "spectral_ml"

KINDS = (
    ("class", "Classes"),
    ("function", "Functions"),
    ("exception", "Exceptions and warnings"),
    ("data", "Constants"),
)


def kind(obj) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return "data"


def documented_methods(cls) -> list[str]:
    """Public methods a class page documents.

    scikit-learn estimators: the methods defined by this package's classes in the MRO (so a
    metric learner shows ``transform`` from its mixin, not ``get_params`` and the rest of
    scikit-learn's machinery). Other classes: the methods the class itself defines.
    """
    from sklearn.base import BaseEstimator

    if issubclass(cls, BaseEstimator):
        owners = [c for c in cls.__mro__ if c.__module__.startswith(PACKAGE + ".")]
    else:
        owners = [cls]
    names: list[str] = []
    for owner in owners:
        for name, value in vars(owner).items():
            if name.startswith("_") or name in names or _undocumented_hook(owner, name, value):
                continue
            if inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod)):
                names.append(name)
    return names


def _undocumented_hook(owner, name: str, value) -> bool:
    """A method without a docstring that overrides one of a base class from another library.

    Such a method is a hook the other library calls (``torch.nn.Module.extra_repr``), not
    part of this package's API; its page entry would have an empty summary.
    """
    if getattr(getattr(value, "__func__", value), "__doc__", None):  # its own, not an inherited one
        return False
    return any(name in vars(base) and not base.__module__.startswith(PACKAGE + ".") for base in owner.__mro__[1:])


def doc_comment(name: str, module) -> str:
    """The ``#:`` comment above ``name = ...`` in the package's sources (the module's first)."""
    own = pathlib.Path(inspect.getsourcefile(module)).resolve()
    others = [p for p in sorted((ROOT / PACKAGE).rglob("*.py")) if p.resolve() != own]
    for path in [own, *others]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if re.match(rf"^{re.escape(name)}\s*(:[^=]*)?=", line):
                doc = []
                j = i - 1
                while j >= 0 and lines[j].startswith("#:"):
                    doc.insert(0, lines[j][2:].strip())
                    j -= 1
                if doc:
                    return " ".join(doc)
    return ""


def public_modules() -> tuple[list, list[tuple[str, str]]]:
    """(documented modules, [(name, error)] of those that do not import)."""
    root = importlib.import_module(PACKAGE)
    found, missing = [], []
    for info in pkgutil.walk_packages(root.__path__, PACKAGE + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception as exc:  # an optional dependency is missing
            missing.append((info.name, f"{type(exc).__name__}: {exc}"))
            continue
        names = getattr(module, "__all__", None)
        if not names:
            continue
        parent = importlib.import_module(info.name.rpartition(".")[0])
        if parent is not root and set(names) <= set(getattr(parent, "__all__", ())):
            continue
        found.append(module)
    return found, missing


def top_level_names() -> set[str]:
    root = importlib.import_module(PACKAGE)
    return {n for n in root.__all__ if not n.startswith("_") and not inspect.ismodule(getattr(root, n))}


def module_page(module, reexported: set[str]) -> str:
    name = module.__name__
    out = [".. _api-" + name + ":", "", name, "=" * len(name), ""]
    out += [f".. automodule:: {name}", "   :no-members:", ""]
    root = importlib.import_module(PACKAGE)
    # autosummary prefixes every entry with the current module, so the tables are written
    # relative to the package: re-exported names then point to their spectral_ml.NAME page.
    relative = name[len(PACKAGE) + 1 :]
    # A submodule's names that its package re-exports are documented on the package's page.
    parent = importlib.import_module(name.rpartition(".")[0])
    shared = (
        []
        if parent is root
        else [
            n
            for n in module.__all__
            if n in getattr(parent, "__all__", ()) and getattr(parent, n) is getattr(module, n)
        ]
    )
    if shared:
        names = ", ".join(f":obj:`~{parent.__name__}.{n}`" for n in shared)
        out += [f"Also defined here and documented with :mod:`{parent.__name__}`: {names}.", ""]
    groups: dict[str, list[str]] = {k: [] for k, _ in KINDS}
    for n in module.__all__:
        if n not in shared:
            groups[kind(getattr(module, n))].append(n)
    for key, label in KINDS:
        items = groups[key]
        if not items:
            continue
        out += [label, "-" * len(label), ""]
        if key == "data":
            out += [f".. currentmodule:: {name}", ""]
            for n in items:
                out += _data_entry(n, getattr(module, n), doc_comment(n, module))
            continue
        out += [f".. currentmodule:: {PACKAGE}", ""]
        out += [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
        for n in items:
            top = n in reexported and getattr(root, n) is getattr(module, n)
            out.append(f"   {n}" if top else f"   ~{relative}.{n}")
        out.append("")
    return "\n".join(out)


def _data_entry(name: str, value, doc: str) -> list[str]:
    text = pprint.pformat(value, width=72, sort_dicts=False)
    if "\n" not in text and len(text) <= 60:
        return [f".. data:: {name}", f"   :value: {text}", "", f"   {doc}", ""]
    # Long values (the papers' tables) as a wrapped literal instead of one long line.
    try:
        ast.parse(text)
        language = "python"
    except SyntaxError:  # reprs such as <class ...>
        language = "text"
    lines = [f".. data:: {name}", "", f"   {doc}", "", f"   .. code-block:: {language}", ""]
    lines += [f"      {ln}" for ln in text.splitlines()]
    return lines + [""]


_ABBREVIATIONS = ("e.g", "i.e", "cf", "etc", "Eq", "Eqs", "Fig", "Figs", "Sec", "Thm", "Ch", "vs", "al")


def first_sentence(doc: str | None) -> str:
    """The first sentence of a docstring's first paragraph, on one line.

    A sentence ends at a full stop followed by a space or the end of the paragraph, outside
    parentheses and not after an abbreviation ("e.g.", "Eq."); a paragraph without one is
    returned whole. ``"Layers with explicit backward passes, losses with feature\ngradients.
    More."`` gives ``"Layers with explicit backward passes, losses with feature gradients."``.
    """
    paragraph = " ".join(inspect.cleandoc(doc or "").split("\n\n")[0].split())
    depth = 0
    for i, char in enumerate(paragraph):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char != "." or depth > 0 or paragraph[i + 1 : i + 2] not in ("", " "):
            continue
        word = paragraph[:i].rsplit(" ", 1)[-1].lstrip("(")
        if word not in _ABBREVIATIONS:
            return paragraph[: i + 1]
    return paragraph


def modules_table(modules) -> str:
    """A table of the module pages with the first sentence of each module's docstring."""
    lines = [".. list-table::", "   :class: api-modules", ""]
    for module in modules:
        summary = first_sentence(module.__doc__)
        lines += [f"   * - :doc:`{module.__name__} <api/{module.__name__}>`", f"     - {summary}"]
    return "\n".join(lines) + "\n"


def _stub_names(page: str) -> set[str]:
    """Full names of the objects a page's autosummary tables give their own page."""
    names, in_table = set(), False
    for line in page.splitlines():
        if line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and re.fullmatch(r"   ~?[\w.]+", line):
            names.add(f"{PACKAGE}.{line.strip().lstrip('~')}")
        elif in_table and line and not line.startswith("   "):
            in_table = False
    return names


def _write_if_changed(path: pathlib.Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")  # unchanged pages keep Sphinx's cache


def write_pages(docs_dir: pathlib.Path = DOCS) -> dict[str, list[str]]:
    """Write one ``api/<module>.rst`` per documented module; return the class -> methods map."""
    sys.path.insert(0, str(ROOT))
    target = docs_dir / "api"
    target.mkdir(exist_ok=True)
    modules, missing = public_modules()
    reexported = top_level_names()
    for n, error in missing:
        print(f"generate_api: {n} left out ({error})", file=sys.stderr)
    written = set()
    for module in modules:
        page = target / f"{module.__name__}.rst"
        _write_if_changed(page, module_page(module, reexported))
        written.add(page.name)
    for stale in target.glob("*.rst"):
        if stale.name not in written:
            stale.unlink()
    _write_if_changed(target / "modules.inc", modules_table(modules))
    # Stub pages of names that left the API would stay behind as orphans: remove them.
    expected = set()
    for page in [*target.glob("*.rst"), docs_dir / "api.rst"]:
        expected |= _stub_names(page.read_text(encoding="utf-8"))
    for stub in (target / "generated").glob("*.rst"):
        if stub.stem not in expected:
            stub.unlink()
    methods = {}
    root = importlib.import_module(PACKAGE)
    for module in modules:
        for n in module.__all__:
            obj = getattr(module, n)
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                meths = documented_methods(obj)
                methods[f"{module.__name__}.{n}"] = meths
                if n in reexported and getattr(root, n) is obj:
                    methods[f"{PACKAGE}.{n}"] = meths
    return methods


if __name__ == "__main__":
    write_pages()
    print(f"wrote {DOCS / 'api'}/", file=sys.stderr)
