"""The baskets report's tables as the page shows them."""

import pandas as pd

from crmlab.analyses.baskets import tables


def test_tables_on_the_page_are_ranked_from_one():
    sequences = pd.DataFrame({"x": list("abcd"), "y": list("efgh"), "lift": [4.0, 3.0, 2.0, 1.0]})
    table = tables.sequences_table(sequences, top=3)
    # A reader sees "rank 1", not pandas' row 0.
    assert table.index.tolist() == [1, 2, 3] and table.index.name == "rank"
    assert table["x"].tolist() == ["a", "b", "c"] and list(table.columns) == ["x", "y", "lift"]
    assert tables.sequences_table(sequences.iloc[:0]).empty
