"""Turn the output directories of ``spectral-ml`` runs into the docs page ``results.rst``.

Usage (from the repository root, after the runs)::

    spectral-ml reproduce --out spectral_ml_results
    python docs/collect_results.py spectral_ml_results [MORE_RUNS ...] [--title "..."] [--header FILE]

Every CSV table and PNG figure of the runs is copied into ``docs/results/`` (replacing what
was there) and shown on the page in the order of the runs and of each run's ``report.md``:
each experiment's section, its tables, its notes and its figures. A table is shown as the
run wrote it, cell for cell (the reporting code has rounded it, one rule for every table),
with the papers' columns (``paper NAME``) beside our column ``NAME`` in the same table and
a wide table split into parts that repeat its key columns; the figures of one experiment
stand side by side, with the captions of ``FIGURE_CAPTIONS``. The machines and versions of
all the runs close the page, in one section that says each of their lines once.

The header file is placed under the title; a line ``.. the runs' sections`` in it marks
where the runs' sections go, and what follows that line ends the page (before the
machines). The page contains no number that the runs or the header did not write.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent

#: The line of the header file that stands for the runs' sections.
RUNS_MARKER = ".. the runs' sections"

#: The section of ``report.md`` that describes the machine rather than an experiment.
MACHINE_SECTION = "Machine and versions"

#: About the characters that the page's column holds in one row of a table (at 1280 px);
#: wider tables are split into parts, each repeating the key columns.
MAX_WIDTH = 88

#: Columns that belong to a row's key when they follow it: the settings a row was run with.
SETTING_COLUMNS = ("λ₁", "θ", "λ₁θ", "seed")


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
    text = markdown.replace("\\", "\\\\")
    text = re.sub(r"`([^`]+)`", r"``\1``", text)
    return text.replace("*", r"\*")


#: Captions of the run's figures, by file name; ``{}`` is the part matched by ``*``.
FIGURE_CAPTIONS = {
    "aml_synthetic": "The synthetic set (AML paper, Fig. 3): training and test samples on the "
    "first two principal components of the input and of the GMML and AML embeddings.",
    "aml_roc_*": "ROC curves on held-out {} pairs: Euclidean, GMML and AML.",
    "aml_sensitivity_*": "5-NN error against {} (AML paper, Fig. 5).",
    "dpp_retrieval_*_features": "2-D features of the test images, one panel per variant (DPP paper, Fig. 1).",
    "dpp_retrieval_*_loss": "Training losses per epoch, one curve per variant.",
    "dpp_retrieval_*_theta": "mAP@10 and gap to P of DPPSG* against its step θ, one curve per DPP weight λ₁ "
    "(mean ± std over the seeds); the dashed line and its band are the baseline's mean ± std.",
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


def _cell(text: str) -> str:
    """A table cell or caption as reStructuredText: escaped once, kept on one line.

    A browser would break ``0.5 ± 0.1`` at its spaces and ``3e-4`` after its hyphen when the
    table is short of room: non-breaking spaces, and the non-breaking hyphen (which looks the
    same) in an exponent, keep each number whole.
    """
    # "@" would make docutils see an e-mail address (mAP@10); "*" emphasis (DPPSG*).
    text = re.sub(r"(?<=\de)-(?=\d)", "\u2011", text.strip().replace(" ± ", "\u00a0±\u00a0"))
    return text.replace("\\", "\\\\").replace("@", "\\@").replace("*", "\\*") or " "


def _paper_partner(name: str, ours: list[str]) -> str | None:
    """Our column that a paper column ``paper NAME`` (or ``paper NAME (note)``) stands beside."""
    if not name.lower().startswith("paper "):
        return None
    rest = name[len("paper ") :]
    for candidate in (rest, rest.split(" (")[0]):
        if candidate in ours:
            return candidate
    return None


def arrange_columns(header: list[str]) -> tuple[list[int], list[list[int]]]:
    """(key columns, value column groups) of a results table, by index.

    The key is the first column; each paper column ``paper NAME`` joins the group of our
    column ``NAME`` (one group, so that no split separates them); the papers' columns without
    a column of ours follow the others, in one group of their own.
    """
    ours = [h for h in header[1:] if not h.lower().startswith("paper ")]
    groups: dict[str, list[int]] = {h: [header.index(h)] for h in ours}
    alone = []
    for j, h in enumerate(header[1:], start=1):
        partner = _paper_partner(h, ours)
        if partner is not None:
            groups[partner].append(j)
        elif h not in groups:
            alone.append(j)
    return [0], list(groups.values()) + ([alone] if alone else [])


def _key_columns(header: list[str], rows: list[list[str]]) -> int:
    """How many leading columns tell the rows apart, with the settings that follow them."""
    n = next((n for n in range(1, len(header)) if len({tuple(row[:n]) for row in rows}) == len(rows)), 1)
    while n < len(header) - 1 and header[n] in SETTING_COLUMNS:
        n += 1
    return n


def _width(name: str, cells: list[str]) -> int:
    """The characters a column takes in a row: its longest cell or header word, and padding.

    Text with spaces wraps (counted up to 24 characters); ``mean ± std`` does not.
    """
    longest = max((len(c) if " ± " in c or " " not in c.strip() else min(len(c), 24) for c in cells), default=0)
    return max(longest, *(len(word) for word in name.split() or [""])) + 3


def table_parts(header: list[str], rows: list[list[str]], max_width: int = MAX_WIDTH):
    """[(part header, part rows)] of a results table: every cell as written, wide tables split.

    The key columns (those that tell the rows apart, and the settings after them) lead every
    part; the other columns are grouped with their paper columns and packed into parts about
    ``max_width`` characters wide.
    """
    n_key = _key_columns(header, rows)
    _, groups = arrange_columns(header)
    key = list(range(n_key))
    width = [_width(name, [row[j] for row in rows]) for j, name in enumerate(header)]
    groups = [[j for j in g if j >= n_key] for g in groups]
    parts, current = [], []
    for group in (g for g in groups if g):
        if current and sum(width[j] for j in key + current + group) > max_width:
            parts.append(current)
            current = []
        current += group
    if current or not parts:
        parts.append(current)
    return [([header[j] for j in key + cols], [[row[j] for j in key + cols] for row in rows]) for cols in parts]


def results_table(path: Path, rel: str, caption: str) -> list[str]:
    """The page's lines of one results CSV: one or more list-tables and a download link."""
    with open(path, newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    parts = table_parts(header, rows)
    lines = []
    for i, (part_header, part_rows) in enumerate(parts, start=1):
        title = caption if len(parts) == 1 else f"{caption} ({i}/{len(parts)})"
        lines += [f".. list-table:: {_cell(title)}", "   :header-rows: 1", "   :class: results-table", ""]
        for row in [part_header, *part_rows]:
            lines.append(f"   * - {_cell(row[0])}")
            lines += [f"     - {_cell(c)}" for c in row[1:]]
        lines.append("")
    return [*lines, f"Data: :download:`{path.name} <{rel}>`", ""]


def _figures(names: list[tuple[str, str]]) -> list[str]:
    """One figure full width, several side by side (a borderless row).

    ``names``: (file name in ``results/``, the name the run gave it, which the caption reads).
    """
    if len(names) == 1:
        name, original = names[0]
        return [
            f".. figure:: results/{name}",
            "   :class: result-figure",
            "",
            f"   {_rst_text(figure_caption(Path(original).stem))}",
            "",
        ]
    lines = [".. list-table::", "   :class: figure-row", ""]
    for i, (name, original) in enumerate(names):
        lines += [
            f"   {'*' if i == 0 else ' '} - .. figure:: results/{name}",
            "",
            f"          {_rst_text(figure_caption(Path(original).stem))}",
            "",
        ]
    return lines


def _copy(src: Path, target: Path, quick: bool) -> str:
    """Copy a run's file into ``target`` under a name no earlier run of the page took; return it.

    Two runs of one experiment write the same names: the second one's get ``_quick`` (a
    quick run) or a number.
    """
    name, n = src.name, 1
    while (target / name).exists():
        n += 1
        tag = "quick" if quick and n == 2 else f"run{n}"
        name = f"{src.stem}_{tag}{src.suffix}"
    shutil.copy2(src, target / name)
    return name


def _split_header(header: str) -> tuple[str, str]:
    """(what goes under the title, what ends the page) of the header file."""
    lines = header.splitlines()
    if RUNS_MARKER not in (ln.strip() for ln in lines):
        return header.strip(), ""
    at = next(i for i, ln in enumerate(lines) if ln.strip() == RUNS_MARKER)
    return "\n".join(lines[:at]).strip(), "\n".join(lines[at + 1 :]).strip()


def build(results, title: str, header: str, docs_dir: Path = DOCS) -> str:
    """Copy the runs' tables and figures into ``docs_dir/results`` and return the page.

    ``results`` is one output directory or a list of them (a full ``reproduce`` run, then
    single experiments run apart, such as ``dpp-retrieval --network paper-cnn``); their
    sections follow each other in that order, and the machines of all of them close the page.
    """
    runs = [Path(results)] if isinstance(results, (str, Path)) else [Path(r) for r in results]
    target = docs_dir / "results"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    intro, outro = _split_header(header)
    lines = [".. _results:", "", title, "=" * len(title), ""] + ([intro, ""] if intro else [])
    titles: set[str] = set()
    machine: dict[str, str] = {}  # the runs' notes on the machine, each said once
    for run in runs:
        run_lines, notes = run_sections(run, target, titles)
        lines += run_lines
        for note in notes:
            machine.setdefault(_same_note(note), note)
    if outro:
        lines += [outro, ""]
    if machine:
        lines += [MACHINE_SECTION, "-" * len(MACHINE_SECTION), ""]
        lines += [f"* {_rst_text(note)}" for note in machine.values()] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _same_note(note: str) -> str:
    """A machine note in a form that two runs share when they say the same thing.

    The thread pools of a "Threads:" note come in the order the libraries were loaded.
    """
    if not note.startswith("Threads: "):
        return note
    return "Threads: " + "; ".join(sorted(set(note[len("Threads: ") :].rstrip(".").split("; "))))


def _run_label(report: str) -> str:
    """``Full run, seed 0`` or ``Quick run (reduced ...), seed 0`` from report.md's ``Mode:`` line."""
    mode = re.search(r"^Mode: (quick|full)[^;]*; seed (\d+)\.", report, flags=re.MULTILINE)
    if not mode:
        return ""
    kind = "Quick run (reduced grids, splits, epochs and seeds)" if mode.group(1) == "quick" else "Full run"
    return f"{kind}, seed {mode.group(2)}"


def run_sections(results: Path, target: Path, titles: set[str] | None = None) -> tuple[list[str], list[str]]:
    """The page's lines for one run's ``report.md`` and its machine notes.

    Its tables and figures go to ``target``. A section title already in ``titles`` (the
    same experiment in two runs) is told apart by the run's mode, then by a number.
    """
    report = (results / "report.md").read_text(encoding="utf-8")
    titles = set() if titles is None else titles
    label = _run_label(report)
    lines, machine = [], []
    for section, body in _sections(report):
        if section == MACHINE_SECTION:
            machine = [ln[2:] for ln in body if ln.startswith("- ")]
            continue
        heading, n = section, 1
        if heading in titles and "Quick" in label:
            heading = f"{section} (quick run)"
        while heading in titles:
            n += 1
            heading = f"{section} ({n})"
        titles.add(heading)
        lines += [heading, "-" * len(heading), ""]
        seconds = next((ln.strip("_ ") for ln in body if re.fullmatch(r"_[0-9.]+ s_", ln.strip())), None)
        if label or seconds:
            lines += ["; ".join(p for p in (label, f"computing time {seconds}" if seconds else "") if p) + ".", ""]
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
                for original in re.findall(r"\[([^\]]+\.csv)\]", link.group(1)):
                    src = results / original
                    name = _copy(src, target, "Quick" in label)
                    md = src.with_suffix(".md")
                    caption = original
                    if md.is_file():
                        first = md.read_text(encoding="utf-8").splitlines()[0]
                        caption = first.lstrip("# ").strip() or original
                    lines += results_table(target / name, f"results/{name}", caption)
        notes = [ln[2:] for ln in body if ln.startswith("- ")]
        for note in notes:
            lines += [f"* {_rst_text(note)}"]
        if notes:
            lines.append("")
        figures = []
        for ln in body:
            fig = re.match(r"^!\[([^\]]*)\]\(([^)]+\.png)\)$", ln.strip())
            if fig:
                src = results / fig.group(2)
                figures.append((_copy(src, target, "Quick" in label), src.name))
        # Figures of one kind (the ROC of each data set, the two sensitivities) side by side.
        groups: dict[str, list[tuple[str, str]]] = {}
        for name, original in figures:
            groups.setdefault(_caption_key(Path(original).stem)[0], []).append((name, original))
        for names in groups.values():
            lines += _figures(names)
    return lines, machine


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "results",
        type=Path,
        nargs="+",
        help="output directory of spectral-ml reproduce, then of any experiments run apart",
    )
    parser.add_argument("--title", default="Results of a full run")
    parser.add_argument(
        "--header", type=Path, help=f"reStructuredText file placed under the title (see {RUNS_MARKER!r})"
    )
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
