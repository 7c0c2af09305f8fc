"""Numbers as the report shows them (labwork6.latex): mean ± std, intervals, decimals that one test image supports."""

import pytest

from labwork6.latex import format_interval, format_mean_std, percent_decimals


def test_format_mean_std():
    assert format_mean_std(0.99262, 0.0021) == "99.26 ± 0.21"
    assert format_mean_std(0.5, float("nan")) == "50.00"
    assert format_mean_std(1.23456, 0.1, percent=False, decimals=3) == "1.235 ± 0.100"


@pytest.mark.parametrize("total, decimals", [(1, 0), (30, 0), (100, 0), (101, 1), (270, 1), (1000, 1), (1001, 2),
                                             (10_000, 2)])
def test_percent_decimals_follow_one_image(total, decimals):
    # one image is 100 / total points: the last printed digit is no larger than that
    assert percent_decimals(total) == decimals
    assert 10 ** -decimals <= 100 / total or decimals == 0


def test_percent_decimals_and_format_interval_checks():
    with pytest.raises(ValueError, match="total=0"):
        percent_decimals(0)
    with pytest.raises(ValueError, match="total=2.5"):
        percent_decimals(2.5)
    assert format_interval(0.9926, 0.9734, 0.998, 1) == "99.3 [97.3, 99.8]"
    assert format_interval(-0.001, -0.012, 0.01, 0) == "0 [-1, 1]"  # no "-0"
    assert format_interval(0.5, 0.25, 0.75, 2, percent=False) == "0.50 [0.25, 0.75]"
