"""The holdout checks of the CLV report."""

import pytest

from crmlab.analyses.clv import validation


def test_holdout_checks_add_up(paper, bundled):
    cal, _, fit = paper
    table = validation.holdout_by_frequency(fit, cal)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == len(cal)
    errors = validation.holdout_errors(fit, cal)
    assert errors["holdout_actual_total"] == cal["frequency_holdout"].sum()
    weighted = (table["predicted"] * table["customers"]).sum()
    assert errors["holdout_predicted_total"] == pytest.approx(weighted)
    assert errors["holdout_rmse"] >= errors["holdout_mae"] > 0

    curve = validation.cumulative_repeat_transactions(fit, bundled("cdnow_sample"), "1997-09-30", "1998-06-30", "weeks")
    # The cohort is the calibration customers: by the end, every repeat purchase day of theirs is counted.
    assert curve["actual"].iloc[-1] == cal["frequency_cal"].sum() + cal["frequency_holdout"].sum()
    assert curve["actual"].is_monotonic_increasing and curve["model"].is_monotonic_increasing
    assert len(curve) == 78 and (curve["period"] == "calibration").sum() == 39
    # The paper's figure 2: the model tracks the cumulative curve within a few percent.
    assert curve["model"].iloc[-1] == pytest.approx(curve["actual"].iloc[-1], rel=0.05)

    period = validation.period_transactions(fit, cal)
    assert period["actual"].sum() == len(cal) and period["model"].sum() == pytest.approx(len(cal))
    assert period.loc["0", "model"] == pytest.approx(period.loc["0", "actual"], rel=0.05)
