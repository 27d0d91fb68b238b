"""Turn the output directory of ``spectral-ml reproduce`` into the docs page ``results.rst``.

Usage (from the repository root, after a run)::

    spectral-ml reproduce --out spectral_ml_results
    python docs/collect_results.py spectral_ml_results [--title "..."] [--header FILE]

Every CSV table and PNG figure of the run is copied into ``docs/results/`` (replacing what
was there) and shown on the page in the order of the run's ``report.md``: each experiment's
section, its tables, its notes and its figures. Tables use the ``results-table`` directive
(``sphinxext/spectral_docs.py``), which rounds float noise, puts the papers' columns in a
table of their own and splits wide tables; the figures of one experiment stand side by
side, with the captions of ``FIGURE_CAPTIONS``. The page states where the numbers come
from; it contains no number that the run did not write.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def _sections(report: str):
    """(title, body lines) per ``## `` section of report.md."""
    sections, current = [], None
    for line in report.splitlines():
        if line.startswith("## "):
            current = [line[3:].strip(), []]
            sections.append(current)
        elif current is not None:
            current[1].append(line)
    return sections


def _rst_text(markdown: str) -> str:
    """Inline Markdown of the report's notes to reStructuredText."""
    text = re.sub(r"`([^`]+)`", r"``\1``", markdown)
    text = text.replace("*", r"\*")
    return text


#: Captions of the run's figures, by file name; ``{}`` is the data set of ``aml_roc_*``.
FIGURE_CAPTIONS = {
    "aml_synthetic": "The synthetic set (AML paper, Fig. 3): training and test samples on the "
    "first two principal components of the input and of the GMML and AML embeddings.",
    "aml_roc_*": "ROC curves on held-out {} pairs: Euclidean, GMML and AML.",
    "aml_sensitivity_*": "5-NN error against {} (AML paper, Fig. 5).",
    "dpp_retrieval_*_features": "2-D features of the test images, one panel per variant (DPP paper, Fig. 1).",
    "dpp_retrieval_*_loss": "Training losses per epoch, one curve per variant.",
    "dpp_overhead": "Time per training step and the DPP term's share against the batch size (DPP paper, Table 6).",
}


_SYMBOLS = {"alpha": "α", "beta": "β"}


def _caption_key(stem: str):
    """(FIGURE_CAPTIONS key, the parts its ``*`` matched) of a figure, or (stem, ())."""
    for pattern in FIGURE_CAPTIONS:
        match = re.fullmatch(re.escape(pattern).replace(r"\*", "(.+)"), stem)
        if match:
            return pattern, match.groups()
    return stem, ()


def figure_caption(stem: str) -> str:
    """The caption of a figure file (its name when FIGURE_CAPTIONS has none)."""
    key, parts = _caption_key(stem)
    if key not in FIGURE_CAPTIONS:
        return stem.replace("_", " ")
    return FIGURE_CAPTIONS[key].format(*(_SYMBOLS.get(p, p.replace("_", " ")) for p in parts))


def _results_table(rel: str, caption: str) -> list[str]:
    return [f".. results-table:: {caption}", f"   :file: {rel}", ""]


def _figures(names: list[str]) -> list[str]:
    """One figure full width, several side by side (a borderless row)."""
    if len(names) == 1:
        name = names[0]
        return [
            f".. figure:: results/{name}",
            "   :class: result-figure",
            "",
            f"   {_rst_text(figure_caption(Path(name).stem))}",
            "",
        ]
    lines = [".. list-table::", "   :class: figure-row", ""]
    for i, name in enumerate(names):
        lines += [
            f"   {'*' if i == 0 else ' '} - .. figure:: results/{name}",
            "",
            f"          {_rst_text(figure_caption(Path(name).stem))}",
            "",
        ]
    return lines


def build(results, title: str, header: str, docs_dir: Path = DOCS) -> str:
    """Copy the runs' tables and figures into ``docs_dir/results`` and return the page.

    ``results`` is one output directory or a list of them (a full ``reproduce`` run, then
    single experiments run apart, such as ``dpp-retrieval --network paper-cnn``); their
    sections follow each other in that order.
    """
    runs = [Path(results)] if isinstance(results, (str, Path)) else [Path(r) for r in results]
    target = docs_dir / "results"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    lines = [".. _results:", "", title, "=" * len(title), "", header.strip(), ""]
    for run in runs:
        lines += run_sections(run, target)
    return "\n".join(lines).rstrip() + "\n"


def run_sections(results: Path, target: Path) -> list:
    """The page's lines for one run's ``report.md``; its tables and figures go to ``target``."""
    report = (results / "report.md").read_text(encoding="utf-8")
    lines = []
    mode = next((ln for ln in report.splitlines() if ln.startswith("Mode:")), "")
    if mode:
        lines += [_rst_text(mode), ""]
    for section, body in _sections(report):
        lines += [section, "-" * len(section), ""]
        seconds = next((ln.strip("_ ") for ln in body if re.fullmatch(r"_[0-9.]+ s_", ln.strip())), None)
        if seconds:
            lines += [f"Run time: {seconds}.", ""]
        if any(ln.startswith("**Failed:**") for ln in body):
            lines += [
                "This experiment failed in the run: "
                + _rst_text(next(ln for ln in body if ln.startswith("**Failed:**"))),
                "",
            ]
            continue
        for ln in body:
            link = re.match(r"^Data: (.*)$", ln)
            if link:
                for name in re.findall(r"\[([^\]]+\.csv)\]", link.group(1)):
                    src = results / name
                    shutil.copy2(src, target / name)
                    md = src.with_suffix(".md")
                    caption = name
                    if md.is_file():
                        first = md.read_text(encoding="utf-8").splitlines()[0]
                        caption = first.lstrip("# ").strip() or name
                    lines += _results_table(f"results/{name}", _rst_text(caption))
        notes = [ln[2:] for ln in body if ln.startswith("- ")]
        for note in notes:
            lines += [f"* {_rst_text(note)}"]
        if notes:
            lines.append("")
        figures = []
        for ln in body:
            fig = re.match(r"^!\[([^\]]*)\]\(([^)]+\.png)\)$", ln.strip())
            if fig:
                name = Path(fig.group(2)).name
                shutil.copy2(results / fig.group(2), target / name)
                figures.append(name)
        # Figures of one kind (the ROC of each data set, the two sensitivities) side by side.
        groups: dict[str, list[str]] = {}
        for name in figures:
            groups.setdefault(_caption_key(Path(name).stem)[0], []).append(name)
        for names in groups.values():
            lines += _figures(names)
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "results",
        type=Path,
        nargs="+",
        help="output directory of spectral-ml reproduce, then of any experiments run apart",
    )
    parser.add_argument("--title", default="Results of a full run")
    parser.add_argument("--header", type=Path, help="reStructuredText file placed under the title")
    args = parser.parse_args(argv)
    for run in args.results:
        if not (run / "report.md").is_file():
            sys.exit(f"{run} has no report.md: run `spectral-ml reproduce --out {run}` first.")
    header = args.header.read_text(encoding="utf-8") if args.header else ""
    page = build(args.results, args.title, header)
    (DOCS / "results.rst").write_text(page, encoding="utf-8")
    print(f"wrote {DOCS / 'results.rst'} and {DOCS / 'results'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
