"""What a notebook shows: formatted tables, and a sentence where a table has no rows."""

import pandas as pd

from crmlab.publishing.display import DOLLAR, formatted


def test_a_table_with_rows_is_formatted():
    table = pd.DataFrame({"revenue": [1234.5, 20.0], "share": [0.25, 0.75], "customers": [1200, 3]})
    shown = formatted(table, money_columns=["revenue"], share_columns=["share"], empty="No rows.")
    assert shown["Revenue"].tolist() == ["$1,234", "$20"] and shown["Share"].tolist() == ["25.0%", "75.0%"]
    assert shown["Customers"].tolist() == ["1,200", "3"]


def test_an_empty_table_is_the_sentence_that_says_why():
    shown = formatted(pd.DataFrame({"rule": []}), empty="No rule reaches a confidence of 95%; lower `min_confidence`.")
    assert shown.data == "No rule reaches a confidence of 95%; lower `min_confidence`."
    # Dollar signs stay amounts, not LaTeX, as in show().
    assert formatted(pd.DataFrame(), empty="Below $5 and $10").data == f"Below {DOLLAR}5 and {DOLLAR}10"
    # Without a sentence an empty table is still a (headed) table.
    assert isinstance(formatted(pd.DataFrame({"rule": []})), pd.DataFrame)
