"""LaTeX for the report: escaping, number formatting, tables, the numbers file and the PDF.

- :func:`fixed`, :func:`thousands`, :func:`shape_text`, :func:`format_mean_std`,
  :func:`format_interval` and :func:`percent_decimals` write numbers as the tables and the prose
  show them.
- :func:`table_to_latex` and :func:`markdown_table` turn a DataFrame into a booktabs table
  (pandas' ``Styler.to_latex``) and a GitHub Markdown table (``tabulate``);
  :func:`write_table` writes a :class:`Table` as ``stem.tex``, ``stem.md`` and ``stem.csv``.
- :func:`numbers_to_tex` turns a dict of named values into ``\\newcommand`` macros (booleans
  into ``\\newif`` flags, missing values into "n/a"), so that the report's prose quotes
  numbers without typing them.
- :func:`build_pdf` compiles the report with ``latexmk``; :func:`report_layout` reads back from its
  log and ``.aux`` how many pages it has (the body's: up to the label ``body-end``), what overflows
  the page, and which figures were missing or had to be shrunk.

The benchmarks (``benchmarks/_results.py``) write their tables with the same functions.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np
import pandas as pd

REPORT_NAME = "Report.6.CNN.tex"
TEX_INSTALL_HINT = (
    "Install TeX with `make tex`, or `sudo apt-get install latexmk texlive-latex-recommended "
    "texlive-latex-extra texlive-fonts-recommended lmodern` (Debian/Ubuntu; elsewhere install "
    "TeX Live or MiKTeX with latexmk)."
)
#: What a missing value becomes: in the prose's macros, and in table cells.
MISSING_MACRO = "n/a"
MISSING_CELL = "–"

_MACRO_NAME = re.compile(r"^[A-Za-z]+$")
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
#: Signs written by the formatting helpers, and their LaTeX math equivalents.
_MATH_SIGNS = {"±": r"$\pm$", "×": r"$\times$"}


class TexNotFoundError(RuntimeError):
    """latexmk or pdflatex is not installed; the message says how to install TeX."""


class LatexError(RuntimeError):
    """latexmk failed; the message holds the end of the LaTeX log."""


# --------------------------------------------------------------------------- text and numbers


def tex_escape(text) -> str:
    """``text`` with LaTeX's special characters escaped; ``--`` stays two hyphens (not an
    en dash), so that command-line options read as typed."""
    escaped = "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))
    return escaped.replace("--", "-{}-")


def _math_signs(text: str) -> str:
    for sign, latex in _MATH_SIGNS.items():
        text = text.replace(sign, latex)
    return text


def is_missing(value) -> bool:
    """True for None, NaN and pandas' NA."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def thousands(value) -> str | None:
    """``12288000`` -> ``"12,288,000"`` (rounded to an integer); None when missing."""
    return None if is_missing(value) else f"{int(round(float(value))):,}"


def fixed(value, decimals: int) -> str | None:
    """``value`` with ``decimals`` decimals; None when missing."""
    return None if is_missing(value) else f"{float(value):.{decimals}f}"


def shape_text(shape) -> str | None:
    """``(32, 32, 1)`` -> ``"32×32×1"``; None when there is no shape."""
    if shape is None or len(shape) == 0:
        return None
    return "×".join(str(int(d)) for d in shape)


def format_mean_std(mean: float, std: float | None = None, percent: bool = True, decimals: int = 2) -> str:
    """``"99.26 ± 0.21"`` for tables (fractions shown as percentages by default).

    A missing or NaN ``std`` (a single run) prints the mean alone.
    """
    scale = 100.0 if percent else 1.0
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    text = f"{mean * scale:.{decimals}f}"
    if std is not None and not math.isnan(std):
        text += f" ± {std * scale:.{decimals}f}"
    return text


def percent_decimals(total: int) -> int:
    """The decimals a percentage over ``total`` test images supports: the fewest whose last
    digit is no larger than one image (270 images: one image is 0.37 points, so 1 decimal;
    30 images: 0 decimals; 10,000: 2)."""
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 1:
        raise ValueError(f"`total` must be a positive number of images. Received: total={total!r}")
    return max(0, math.ceil(-math.log10(100.0 / int(total)) - 1e-12))


def format_interval(value: float, low: float, high: float, decimals: int = 1, percent: bool = True) -> str:
    """``"99.3 [97.3, 99.8]"``: a value and its interval (fractions shown as percentages)."""
    scale = 100.0 if percent else 1.0

    def number(x: float) -> str:
        text = f"{x * scale:.{decimals}f}"
        return text.lstrip("-") if float(text) == 0 else text  # no "-0"

    return f"{number(value)} [{number(low)}, {number(high)}]"


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """A table for the report: the shown ``frame`` and how to write it.

    Attributes:
        frame: the table as shown (formatted strings); its index is the first column.
        numeric: the unrounded numbers for the CSV (default: ``frame``).
        column_format, longtable, caption, label, index: see :func:`table_to_latex`.
    """

    frame: pd.DataFrame
    numeric: pd.DataFrame | None = None
    column_format: str | None = None
    longtable: bool = False
    caption: str | None = None
    label: str | None = None
    index: bool = True


def _with_index_as_columns(frame: pd.DataFrame, index: bool) -> pd.DataFrame:
    if not index:
        return frame.reset_index(drop=True)
    flat = frame.reset_index()
    if isinstance(frame.columns, pd.MultiIndex):
        # the index names go on the last header row, next to the other column names
        levels = frame.columns.nlevels
        flat.columns = pd.MultiIndex.from_tuples(
            [("",) * (levels - 1) + (column[0],) if i < frame.index.nlevels else column
             for i, column in enumerate(flat.columns)])
    return flat


def table_to_latex(frame: pd.DataFrame, *, column_format: str | None = None, longtable: bool = False,
                   caption: str | None = None, label: str | None = None, index: bool = True) -> str:
    """A DataFrame as a booktabs LaTeX table, made by ``Styler.to_latex(hrules=True)``.

    With ``index`` the index becomes the first column(s), named on the last header row.
    Cells and column names are escaped (``escape="latex"``), missing cells shown as ``–``,
    and the ``±`` and ``×`` signs become ``$\\pm$`` and ``$\\times$``. Without ``caption``
    and ``longtable`` the result is a bare ``tabular``, for the report to place in its own
    ``table`` float; with a ``caption`` it is a centred ``table`` float; ``longtable``
    tables break across pages. ``caption`` is LaTeX (escape plain text with
    :func:`tex_escape`).
    """
    flat = _with_index_as_columns(frame, index)
    styler = flat.style.format(escape="latex", na_rep=MISSING_CELL).hide(axis="index")
    styler = styler.format_index(escape="latex", axis=1)
    if column_format is None:
        column_format = "l" * (frame.index.nlevels if index else 0) + "r" * frame.shape[1]
    options = {"hrules": True, "column_format": column_format, "multicol_align": "c"}
    if longtable:
        options.update(environment="longtable", caption=caption, label=label)
    elif caption is not None:
        options.update(environment="table", caption=caption, label=label, position="htbp",
                       position_float="centering")
    return _math_signs(styler.to_latex(**options))


def markdown_table(frame: pd.DataFrame, *, index: bool = True) -> str:
    """A DataFrame as a GitHub Markdown table (``DataFrame.to_markdown``), cells as they are shown.

    With ``index`` the index becomes the first column(s). Multi-level column names are
    joined with spaces, missing cells shown as ``–`` and ``|`` escaped.
    """
    flat = _with_index_as_columns(frame, index)
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" ".join(str(part) for part in column if str(part)) for column in flat.columns]
    flat.columns = [str(column).replace("|", "\\|") for column in flat.columns]
    shown = flat.map(lambda value: (MISSING_CELL if is_missing(value) else str(value)).replace("|", "\\|"))
    # cells as shown: no number parsing or alignment by tabulate
    return shown.to_markdown(index=False, tablefmt="pipe", disable_numparse=True, stralign=None, numalign=None) + "\n"


def write_table(table: Table, out_dir, stem: str) -> list[Path]:
    """Write ``stem.tex`` (booktabs), ``stem.md`` and ``stem.csv`` (``table.numeric`` when
    given, else the shown table) into ``out_dir``; return the three paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.{suffix}" for suffix in ("tex", "md", "csv")]
    paths[0].write_text(table_to_latex(table.frame, column_format=table.column_format, longtable=table.longtable,
                                       caption=table.caption, label=table.label, index=table.index),
                        encoding="utf8")
    paths[1].write_text(markdown_table(table.frame, index=table.index), encoding="utf8")
    (table.numeric if table.numeric is not None else table.frame).to_csv(paths[2], index=table.index)
    return paths


# --------------------------------------------------------------------------- numbers.tex


def numbers_to_tex(numbers: Mapping[str, object], header: str = "") -> str:
    """LaTeX definitions of named values, one line each.

    A boolean ``True`` under ``HaveResnet`` becomes ``\\newif\\ifHaveResnet\\HaveResnettrue``;
    any other value a ``\\newcommand{\\HaveResnet}{...}``: None and NaN as "n/a", a
    :class:`pathlib.PurePath` verbatim (a file name for ``\\includegraphics``), everything
    else as ``str(value)`` escaped, with ``±`` and ``×`` as math. ``header`` becomes a
    comment on the first line.

    Raises:
        ValueError: a name is not made of letters only (TeX macro names).
    """
    lines = [f"% {line}" for line in header.splitlines()]
    for name, value in numbers.items():
        if not isinstance(name, str) or not _MACRO_NAME.match(name):
            raise ValueError(f"Macro names must be letters only (A-Z, a-z). Received: name={name!r}")
        if isinstance(value, (bool, np.bool_)):
            lines.append(f"\\newif\\if{name}\\{name}{'true' if value else 'false'}")
            continue
        if is_missing(value):
            text = MISSING_MACRO
        elif isinstance(value, PurePath):
            text = value.as_posix()
        else:
            text = _math_signs(tex_escape(value))
        lines.append(f"\\newcommand{{\\{name}}}{{{text}}}")
    return "\n".join(lines) + "\n"


def write_numbers(numbers: Mapping[str, object], path, header: str = "") -> Path:
    """Write :func:`numbers_to_tex` of ``numbers`` to ``path``; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(numbers_to_tex(numbers, header), encoding="utf8")
    return path


# --------------------------------------------------------------------------- PDF


def build_pdf(report_dir="report") -> Path:
    """Compile ``report_dir/Report.6.CNN.tex`` with latexmk (pdflatex) and return the PDF.

    Raises:
        TexNotFoundError: latexmk or pdflatex is missing (the message says how to install).
        FileNotFoundError: the .tex or its generated inputs are missing.
        LatexError: LaTeX failed; the message ends with the log's last lines.
    """
    report_dir = Path(report_dir)
    source = report_dir / REPORT_NAME
    if not source.exists():
        raise FileNotFoundError(f"No {REPORT_NAME} in '{report_dir.resolve()}'.")
    if not (report_dir / "generated" / "numbers.tex").exists():
        raise FileNotFoundError(
            f"The generated report inputs are missing ({report_dir / 'generated'}/numbers.tex). Write them first: "
            "`python -m labwork6 report --profile PROFILE` or labwork6.report.write_report_inputs().")
    missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
    if missing:
        raise TexNotFoundError(f"Cannot build the PDF report: {' and '.join(missing)} not found. {TEX_INSTALL_HINT}")
    # -no-shell-escape: a generated input (a class name, a dataset folder's name) never runs a command.
    command = ["latexmk", "-pdf", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
               "-file-line-error", REPORT_NAME]
    result = subprocess.run(command, cwd=report_dir, capture_output=True, text=True)
    pdf = report_dir / REPORT_NAME.replace(".tex", ".pdf")
    if result.returncode != 0 or not pdf.exists():
        log = report_dir / REPORT_NAME.replace(".tex", ".log")
        text = log.read_text(errors="replace") if log.exists() else result.stdout + result.stderr
        tail = "\n".join(text.splitlines()[-40:])
        raise LatexError(f"latexmk failed on {source} (exit {result.returncode}). End of the log:\n{tail}")
    return pdf


#: TeX wraps its log at this many characters (``max_print_line``).
_LOG_WIDTH = 79
#: Written by the report's ``\optionalfigure`` and ``\fitwidth`` (report/Report.6.CNN.tex).
_FIGURE_MISSING = re.compile(r"Figure file missing: (.+?) on input line")
_FIGURE_SHRUNK = re.compile(r"Figure (.+?) is wider than the line")
_TABLE_SHRUNK = re.compile(r"A table ([\d.]+)pt wide shrunk to the line")


def _unwrapped(log: str) -> str:
    """A TeX log with its hard line wraps (lines of exactly 79 characters) joined again."""
    return re.sub(rf"(?m)^(.{{{_LOG_WIDTH}}})\n", r"\1", log)


def report_layout(report_dir="report") -> dict:
    """What the last build of ``report_dir/Report.6.CNN.tex`` looks like, from its ``.log`` and ``.aux``:
    ``pages`` (all), ``body_pages`` (the page of the label ``body-end``, None without it),
    ``overfull`` (how far each overfull box sticks out, in pt), ``missing_figures`` and
    ``shrunk_figures`` (the report's own warnings), ``shrunk_tables`` (their widths, pt) and
    ``undefined_references``.

    Raises:
        FileNotFoundError: the report was not built (no ``.log``).
    """
    report_dir = Path(report_dir)
    log_path = report_dir / REPORT_NAME.replace(".tex", ".log")
    if not log_path.exists():
        raise FileNotFoundError(f"No LaTeX log in '{report_dir.resolve()}': build the report first (build_pdf).")
    log = _unwrapped(log_path.read_text(errors="replace"))
    pages = re.search(r"Output written on .*?\((\d+) pages?", log)
    aux = report_dir / REPORT_NAME.replace(".tex", ".aux")
    body = re.search(r"\\newlabel\{body-end\}\{\{[^}]*\}\{(\d+)\}", aux.read_text(errors="replace")) \
        if aux.exists() else None
    return {
        "pages": int(pages.group(1)) if pages else 0,
        "body_pages": int(body.group(1)) if body else None,
        "overfull": [float(width) for width in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too", log)],
        "missing_figures": _FIGURE_MISSING.findall(log),
        "shrunk_figures": _FIGURE_SHRUNK.findall(log),
        "shrunk_tables": [float(width) for width in _TABLE_SHRUNK.findall(log)],
        "undefined_references": "There were undefined references" in log,
    }
