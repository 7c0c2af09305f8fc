"""Small helpers the sections share: missing values, figure paths, lists and seeds in words."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from labwork6.latex import fixed, is_missing


def known(function, *values):
    """``function(*values)``, or None when one of the values is missing."""
    return None if any(is_missing(value) for value in values) else function(*values)


def figure_path(figures_dir: Path, name: str | None) -> PurePosixPath | None:
    """``figures/<name>`` relative to the report when that figure exists."""
    return PurePosixPath("figures", name) if name and (Path(figures_dir) / name).exists() else None


def words(items: Sequence) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    items = [str(item) for item in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def percent(value, decimals: int) -> str | None:
    """A fraction as a percentage with ``decimals`` decimals, never "-0" (None when missing)."""
    text = known(lambda number: fixed(100 * number, decimals), value)
    return text.lstrip("-") if text is not None and float(text) == 0 else text


def times(larger, smaller) -> str | None:
    """``larger / smaller`` with one decimal, e.g. ``"3.9"`` (None when missing)."""
    return known(lambda a, b: fixed(a / b, 1), larger, smaller)
