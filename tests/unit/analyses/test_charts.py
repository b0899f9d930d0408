"""Every chart of every report: a function that takes ``ax=None`` and returns the Axes it drew on."""

import importlib
import inspect

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from crmlab.core.catalog import REPORTS  # noqa: E402

CHART_FUNCTIONS = [(name, function) for report in REPORTS
                   for name, function in inspect.getmembers(importlib.import_module(f"crmlab.analyses.{report}.charts"),
                                                            inspect.isfunction)
                   if not name.startswith("_") and function.__module__.endswith(f"{report}.charts")]


def test_every_report_has_charts():
    assert {function.__module__.split(".")[2] for _, function in CHART_FUNCTIONS} == set(REPORTS)


@pytest.mark.parametrize("name, function", CHART_FUNCTIONS, ids=[name for name, _ in CHART_FUNCTIONS])
def test_each_chart_takes_ax_as_a_keyword_defaulting_to_none(name, function):
    ax = inspect.signature(function).parameters.get("ax")
    assert ax is not None and ax.default is None and ax.kind == inspect.Parameter.KEYWORD_ONLY, name


def test_a_chart_draws_on_the_axes_it_is_given():
    from crmlab.analyses.profile.charts import orders_per_customer_chart

    figure, (left, right) = plt.subplots(1, 2)
    bands = pd.Series([40, 25, 10], index=["1", "2", "3+"])
    assert orders_per_customer_chart(bands, ax=right) is right
    assert left.get_title() == "" and right.get_title() == "Orders per customer"
    assert len(right.patches) == 3
    plt.close(figure)


def test_without_ax_a_chart_makes_its_own_figure():
    from crmlab.analyses.profile.charts import orders_per_customer_chart

    before = plt.get_fignums()
    ax = orders_per_customer_chart(pd.Series([3, 1], index=["1", "2+"]))
    assert ax.figure.number not in before and ax.get_xlabel() == "Orders placed in the data (count)"
    plt.close(ax.figure)


# Values for a chart's other required arguments, by name, when its table is empty.
OTHER_ARGUMENTS = {"currency": "$", "unit_label": "days", "calibration_end": "2017-07-01", "time_unit": "weeks",
                   "gini": 0.0, "pareto": 0.0, "k": 3, "names": pd.Series(dtype=object), "attribute": "age",
                   "column": "revenue", "title": "Revenue per month", "ylabel": "Revenue ($)",
                   "new": pd.DataFrame(), "partial": pd.DataFrame(), "period": "month"}


@pytest.mark.parametrize("name, function", CHART_FUNCTIONS, ids=[name for name, _ in CHART_FUNCTIONS])
def test_an_empty_table_draws_a_sentence_instead_of_failing(name, function):
    required = [p for p in list(inspect.signature(function).parameters.values())[1:]
                if p.default is inspect.Parameter.empty and p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
    ax = function(pd.DataFrame(), *[OTHER_ARGUMENTS[p.name] for p in required])
    drawn = " ".join(text.get_text().replace("\n", " ") for text in ax.texts)
    assert ax.get_title() and drawn == function.empty_message and drawn.startswith("No ")
    assert ax.empty_message == function.empty_message  # what a page shows in the chart's place
    plt.close(ax.figure)
