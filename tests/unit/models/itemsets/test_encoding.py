"""Encoding baskets x items: exact minimum counts, baskets without the level left out."""

import pandas as pd
import pytest

from crmlab.models.itemsets import encoding


def test_min_basket_count_is_exact():
    assert encoding.min_basket_count(0.001, 9835) == 10  # 9.835 baskets -> at least 10
    assert encoding.min_basket_count(0.01, 155_659) == 1557
    assert encoding.min_basket_count(0.25, 8) == 2  # exactly on it
    assert encoding.min_basket_count(40, 1000) == 40
    with pytest.raises(ValueError):
        encoding.min_basket_count(0, 10)
    with pytest.raises(ValueError):
        encoding.min_basket_count(2.5, 10)


def test_baskets_without_the_item_level_do_not_count():
    lines = pd.DataFrame({"order_id": [1, 1, 2, 3], "category": ["x", "y", None, "x"]})
    encoded = encoding.encode(lines, "category", 1)
    assert encoded.n_baskets == 2
    with pytest.raises(ValueError, match="item level 'department' is not a column"):
        encoding.encode(lines, "department", 1)
