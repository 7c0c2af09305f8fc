"""The report's inputs, computed from the run folders: tables, numbers and figures.

:func:`write_report_inputs` reads every completed network run of a profile
(:func:`labwork6.comparison.load_runs`), makes sure the SVC baseline runs exist on the same
splits (:func:`labwork6.baseline.load_baselines`), gathers them in a
:class:`~labwork6.report_data.ReportData` and writes

- into ``report/generated/`` each table of :data:`labwork6.report_tables.TABLES` as ``<stem>.tex``
  (booktabs), ``<stem>.csv`` and ``<stem>.md`` (:func:`labwork6.latex.write_table`), and ``numbers.tex``:
  every number and verdict the prose quotes as a macro (``\\VggAccuracyText``, ...), made by
  :func:`labwork6.latex.write_numbers` from the dicts of the sections in
  :data:`labwork6.report_numbers.SECTIONS`, so that ``report/Report.6.CNN.tex`` holds no number typed by hand;
- into ``report/figures/`` the figures of :func:`labwork6.report_figures.write_figures`, each drawn
  at the size it is printed.

A table is added with one line in ``TABLES`` and a ``\\generatedtable{<stem>}`` in the
report; a number with one entry in the dict of its section. :func:`build_pdf` runs latexmk;
:func:`layout_problems` says what a build breaks of the report's layout rules (:data:`BODY_PAGES`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from labwork6.baseline import load_baselines
from labwork6.comparison import load_runs
from labwork6.latex import LatexError, TexNotFoundError, build_pdf, report_layout, write_numbers, write_table
from labwork6.report_data import ReportData
from labwork6.report_figures import write_figures
from labwork6.report_numbers import SECTIONS, report_numbers
from labwork6.report_numbers.design import AUTHOR_PLACEHOLDER
from labwork6.report_tables import TABLES

#: The pages the report's body (up to its conclusion; then the references and the appendix) may take.
BODY_PAGES = (8, 10)
#: How far a box may stick out of the text block (pt), and how much a table may be shrunk to fit the
#: line (its 9 pt text stays above 8.5 pt).
OVERFULL_LIMIT, TABLE_SHRINK_LIMIT = 10.0, 0.05
#: The report's text width (A4, 2.3 cm margins: 16.4 cm), in pt.
TEXT_WIDTH_PT = 466.0


def layout_problems(report_dir="report", body_pages: tuple[int, int] = BODY_PAGES,
                    allow_missing: tuple[str, ...] = ()) -> list[str]:
    """What the last build of the report in ``report_dir`` breaks of its layout rules, in words (empty
    when nothing): the body's pages outside ``body_pages``, a box sticking out more than
    :data:`OVERFULL_LIMIT`, a figure missing (unless its name contains one of ``allow_missing``) or
    wider than the line, a table shrunk by more than :data:`TABLE_SHRINK_LIMIT`, an undefined reference."""
    layout = report_layout(report_dir)
    problems = []
    if layout["body_pages"] is None or not body_pages[0] <= layout["body_pages"] <= body_pages[1]:
        problems.append(f"the body takes {layout['body_pages']} pages, not {body_pages[0]}-{body_pages[1]}")
    problems += [f"a box sticks out {width:g} pt" for width in layout["overfull"] if width >= OVERFULL_LIMIT]
    problems += [f"figure missing: {name}" for name in layout["missing_figures"]
                 if not any(allowed in name for allowed in allow_missing)]
    problems += [f"figure wider than the line: {name}" for name in layout["shrunk_figures"]]
    problems += [f"a table {width:g} pt wide shrunk to the line" for width in layout["shrunk_tables"]
                 if width > (1 + TABLE_SHRINK_LIMIT) * TEXT_WIDTH_PT]
    if layout["undefined_references"]:
        problems.append("undefined references")
    return problems


def report_author(start) -> str | None:
    """``author`` of ``[tool.labwork6]`` in the first ``pyproject.toml`` found from ``start``
    upwards (the repository's, for ``report/generated``); None when none sets it."""
    for folder in [Path(start).resolve(), *Path(start).resolve().parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                with pyproject.open("rb") as file:
                    author = tomllib.load(file).get("tool", {}).get("labwork6", {}).get("author")
            except tomllib.TOMLDecodeError as error:
                raise ValueError(f"{pyproject} is not valid TOML ({error}); fix it to read the report's author.") \
                    from error
            return str(author).strip() or None if author is not None else None
    return None


def write_report_inputs(runs_root="runs", profile: str = "default", out_dir="report/generated",
                        figures_dir="report/figures", *, dataset: str | None = None,
                        baseline: bool = True, author: str | None = None) -> list[Path]:
    """Write every generated input of ``report/Report.6.CNN.tex`` from the runs of ``profile``.

    Args:
        runs_root: the folder of run folders (``<runs_root>/<profile>/...``).
        profile: the profile whose completed runs are read (shown in the report).
        out_dir: where the tables (``.tex``, ``.csv``, ``.md``) and ``numbers.tex`` go.
        figures_dir: where the figures go (all drawn here, from the runs and their saved models).
        dataset: which dataset's runs (default: see :func:`labwork6.comparison.load_runs`).
        baseline: also compare with the RBF SVC baseline, fitted into run folders next to
            the runs where they are missing (:func:`labwork6.baseline.ensure_baselines`).
        author: the name on the title page (default: :func:`report_author` from ``out_dir``).

    Returns:
        The written files.

    Raises:
        FileNotFoundError: there is no completed run.
    """
    runs = load_runs(runs_root, profile, dataset)
    data = ReportData(profile, runs, load_baselines(runs) if baseline else [], Path(figures_dir),
                      author or report_author(out_dir))
    written = []
    for stem, builder in TABLES:
        table = builder(data)
        stale = [Path(out_dir) / f"{stem}.{suffix}" for suffix in ("tex", "csv", "md")]
        if table is not None:
            written.extend(write_table(table, out_dir, stem))
        else:  # a table of earlier runs must not stand in for one these runs do not have
            for path in stale:
                path.unlink(missing_ok=True)
    written.extend(write_figures(data))
    written.append(write_numbers(report_numbers(data), Path(out_dir) / "numbers.tex",
                                 header="Generated by labwork6.report.write_report_inputs from the run folders. "
                                        "Do not edit."))
    return written


def report_summary(written: Iterable[Path]) -> pd.DataFrame:
    """The written files by kind and folder, for a notebook to show."""
    frame = pd.DataFrame({"file": [Path(p).name for p in written], "folder": [str(Path(p).parent) for p in written]})
    return frame.sort_values(["folder", "file"]).reset_index(drop=True)


__all__ = [
    "AUTHOR_PLACEHOLDER", "BODY_PAGES", "LatexError", "SECTIONS", "TABLES", "TexNotFoundError", "build_pdf",
    "layout_problems", "report_author", "report_layout", "report_numbers", "report_summary", "write_report_inputs",
]
