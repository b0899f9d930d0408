"""The retention report's sentences and charts, on the CDNOW sample's fitted analysis."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from crmlab.analyses.retention import charts, wording  # noqa: E402


@pytest.fixture(scope="module")
def sample(sample_retention):
    return sample_retention


@pytest.mark.slow
def test_sentences_say_the_figures_and_when_the_model_loses(sample):
    m = sample.metrics_
    assert f"{m['expected_leavers']:,.0f} of 2,357 customers" in wording.headline(m)
    sentence = wording.model_sentence(m)
    assert f"{m['churn_auc']:.3f}" in sentence and f"{m['churn_auc_btyd']:.3f}" in sentence
    if m["churn_auc"] <= m["churn_auc_btyd"]:
        assert "does not beat the BTYD baseline" in sentence
    assert wording.reasons_sentence(sample.reasons_).startswith("Customers who leave tend to have")
    assert f"{m['gap_median_days']} days or shorter" in wording.stopping_sentence(m)


@pytest.mark.slow
def test_charts_draw_with_titles_and_labels_and_on_given_axes(sample):
    figure, axes = plt.subplots(2, 2)
    drawn = [charts.cohort_heatmap(sample.cohorts_.customer_retention, sample.cohorts_.partial, "month",
                                   ax=axes[0, 0]),
             charts.retention_curve_chart(sample.average_retention_, "month", ax=axes[0, 1]),
             charts.gains_chart(sample.holdout_, ax=axes[1, 0]),
             charts.reliability_chart(sample.holdout_, ax=axes[1, 1])]
    assert drawn == list(axes.ravel())
    assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in drawn)
    plt.close(figure)
    empty = charts.gains_chart(pd.DataFrame())
    assert "calibration_end" in " ".join(text.get_text() for text in empty.texts)
    plt.close(empty.figure)


@pytest.mark.slow
def test_the_exports_have_the_issues_columns(sample):
    assert sample.export_customers().columns.tolist() == ["customer_id", "churn_probability", "churn_decile",
                                                          "revenue_last_year", "days_since_last_purchase",
                                                          "top_reasons"]
    holdout = sample.export_holdout()
    assert holdout.columns.tolist() == ["customer_id", "churn_probability", "btyd_churn_probability", "churned"]
    assert len(holdout) == len(sample.holdout_)
