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


def test_enough_multi_item_baskets_is_exact_below_the_bar_and_a_lower_bound_above():
    from crmlab import engine
    from crmlab.engine import item_tables

    # Orders 1-5 hold two categories each (order 5's second line comes last), 6-8 one each.
    lines = pd.DataFrame({"order_id": [1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 5],
                          "category": ["a", "b", "a", "c", "b", "c", "a", "b", "a", "a", "b", "c", "c"]})
    t = engine.lines(lines)
    assert item_tables.multi_item_baskets(t, "category") == 5
    # The first 4 lines hold two such baskets: enough for a bar of 2 (on the bar), not for 3.
    assert item_tables.multi_item_baskets(t, "category", enough=2, early_lines=4) == 2
    assert item_tables.multi_item_baskets(t, "category", enough=3, early_lines=4) == 5
    # Order 5 has one line among the first 9: it does not count there, and the count below the bar is exact.
    assert item_tables.multi_item_baskets(t, "category", enough=6, early_lines=9) == 5
    assert encoding.multi_item_baskets(lines, "category", enough=100) == 5


def test_basket_codes_take_16_bits_until_the_items_need_more():
    import numpy as np

    lines = pd.DataFrame({"order_id": [1, 1, 2, 2, 3], "category": ["a", "b", "a", "b", "a"]})
    encoded = encoding.encode(lines, "category", 2)
    assert encoded.columns.dtype == np.int16
    assert sorted(encoded.columns.tolist()) == [0, 0, 1, 1]
    # 32,768 frequent items: the last position no longer fits in 16 bits.
    n = 2**15
    wide = pd.DataFrame({"order_id": np.repeat([1, 2], n), "product_id": np.tile(np.arange(n), 2)})
    encoded = encoding.encode(wide, "product_id", 2)
    assert len(encoded.items) == n
    assert encoded.columns.dtype == np.int32
    assert encoded.columns.min() == 0 and encoded.columns.max() == n - 1
