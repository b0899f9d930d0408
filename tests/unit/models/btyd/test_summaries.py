"""Per-customer RFM summaries: equal to lifetimes' on the bundled data, by hand, compressed without loss."""

import warnings

import numpy as np
import pandas as pd
import pytest

from crmlab.models.btyd import summaries

# Imported quietly: lifetimes' import-time warnings are not what these tests check.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes.utils import summary_data_from_transaction_data


def lifetimes_summary(lines, end, unit_days):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return summary_data_from_transaction_data(lines, "customer_id", "order_date", "revenue",
                                                  observation_period_end=end, freq="D",
                                                  freq_multiplier=unit_days)


def assert_same_summary(ours, theirs):
    theirs = theirs.sort_index()
    assert list(ours.index) == list(theirs.index)
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[column].to_numpy(), theirs[column].to_numpy(), rtol=1e-12, atol=1e-9,
                                   err_msg=column)


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["days", "weeks", "months"])
def test_summary_equals_lifetimes_on_cdnow(bundled, unit):
    lines = bundled("cdnow")
    ours = summaries.rfm_summary(lines, "1998-06-30", unit)
    assert_same_summary(ours, lifetimes_summary(lines, "1998-06-30", summaries.TIME_UNITS[unit]))


@pytest.mark.slow
def test_summary_equals_lifetimes_on_complete_journey(bundled):
    lines = bundled("complete_journey")[["customer_id", "order_date", "revenue"]]
    # Timestamps with times of day, and an observation end before the last line.
    ours = summaries.rfm_summary(lines, "2017-10-15", "days")
    assert_same_summary(ours, lifetimes_summary(lines, "2017-10-15", 1))
    assert ours["frequency"].max() > 100 and (ours["T"] >= ours["recency"]).all()


def test_calibration_holdout_equals_lifetimes_summaries(bundled):
    lines = bundled("cdnow_sample")
    ours = summaries.calibration_holdout_summary(lines, "1997-09-30", "1998-06-30", "weeks")
    cal = lines[lines["order_date"] <= "1997-09-30"]
    theirs = lifetimes_summary(cal, "1997-09-30", 7)
    assert_same_summary(ours.rename(columns=lambda c: c.removesuffix("_cal")), theirs)
    holdout = lines[(lines["order_date"] > "1997-09-30") & (lines["order_date"] <= "1998-06-30")]
    days = holdout.groupby("customer_id")["order_date"].nunique().reindex(ours.index, fill_value=0)
    np.testing.assert_array_equal(ours["frequency_holdout"].to_numpy(), days.to_numpy())
    assert (ours["duration_holdout"] == 39).all()  # 273 days = 39 weeks, as in the paper
    assert len(ours) == 2357 and ours["frequency_cal"].sum() == 2457


def test_summary_hand_example():
    lines = pd.DataFrame({
        "customer_id": ["b", "a", "a", "a", "a", "c"],
        "order_date": pd.to_datetime(["2020-01-03", "2020-01-01", "2020-01-01 18:00", "2020-01-08",
                                      "2020-01-20", "2020-01-02"], format="ISO8601"),
        "revenue": [4.0, 5.0, 5.0, 20.0, 9.0, 1.0]})
    out = summaries.rfm_summary(lines, "2020-01-15", "days")
    # a: purchase days 1 Jan (two lines) and 8 Jan; 20 Jan is after the end.
    assert out.loc["a"].tolist() == [1.0, 7.0, 14.0, 20.0]
    assert out.loc["b"].tolist() == [0.0, 0.0, 12.0, 0.0]
    assert out.loc["c"].tolist() == [0.0, 0.0, 13.0, 0.0]


def test_compress_keeps_every_customer():
    summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 0], "recency": [0, 0, 2, 2, 0], "T": [5, 5, 5, 6, 4]})
    packed = summaries.compress(summary)
    assert packed["weight"].sum() == 5 and len(packed) == 4
