"""The numbers the report's prose quotes, one section at a time, from a report's runs.

Each section is a small function of a :class:`labwork6.report_data.ReportData` that returns a plain
dict of macro name -> value (:data:`SECTIONS`); :func:`report_numbers` merges them and
:func:`labwork6.latex.write_numbers` writes them as ``numbers.tex``: ``True``/``False`` as
``\\newif`` flags, None (a value the runs do not have) as "n/a". A new number is one more
entry in its section's dict. Verdicts ("more accurate than", "cannot be told apart") are
worded here from the paired tests and integer counts, never from comparing two floats.

- :mod:`~labwork6.report_numbers.design`: the runs, data, recipe and budget, architectures (block by
  block: :mod:`~labwork6.report_numbers.blocks`), costs.
- :mod:`~labwork6.report_numbers.results`: metrics with intervals, the baseline, the verdicts.
- :mod:`~labwork6.report_numbers.analysis`: robustness (per corruption type, the contrast diagnosis),
  ``make study``'s results, errors, speed, and what training changed in the first-layer filters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from labwork6.report_numbers.analysis import (
    class_numbers,
    contrast_numbers,
    error_numbers,
    feature_numbers,
    filter_numbers,
    robustness_numbers,
    speed_numbers,
    study_numbers,
)
from labwork6.report_numbers.design import (
    architecture_numbers,
    augmentation_text,
    block_numbers,
    budget_numbers,
    cost_numbers,
    data_numbers,
    recipe_numbers,
    reference_numbers,
    run_numbers,
    writer_numbers,
)
from labwork6.report_numbers.results import baseline_numbers, curve_numbers, model_numbers, verdict_numbers

if TYPE_CHECKING:
    from labwork6.report_data import ReportData

#: The sections of ``numbers.tex``: each returns a dict of macro name -> value.
SECTIONS: tuple[Callable[[ReportData], dict], ...] = (
    run_numbers, data_numbers, writer_numbers, model_numbers, curve_numbers, recipe_numbers, budget_numbers,
    baseline_numbers, verdict_numbers, robustness_numbers, contrast_numbers, study_numbers, error_numbers,
    class_numbers, speed_numbers, filter_numbers, feature_numbers, architecture_numbers,
    cost_numbers, block_numbers, reference_numbers,
)


def report_numbers(data: ReportData) -> dict:
    """Every section's numbers in one dict.

    Raises:
        ValueError: two sections give the same name.
    """
    numbers: dict = {}
    for section in SECTIONS:
        part = section(data)
        repeated = sorted(numbers.keys() & part.keys())
        if repeated:
            raise ValueError(f"{section.__name__} gives numbers another section gave already: {repeated}")
        numbers.update(part)
    return numbers


__all__ = ["SECTIONS", "augmentation_text", "report_numbers"]
