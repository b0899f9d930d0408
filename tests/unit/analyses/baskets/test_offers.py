"""One-to-one offers: scores, reasons and fill by hand, the holdout check counted by hand, the page's verdict."""

import pandas as pd
import pytest

from crmlab.analyses.baskets import BasketAnalysis, offers, scoring, tables, wording
from crmlab.engine.customer_tables import day_of
from crmlab.engine.offer_tables import ALL_BASKETS

START = pd.Timestamp("2021-01-01")


def lines_of(rows):
    """(customer, order, day offset, category) rows as transaction lines."""
    return pd.DataFrame([{"customer_id": c, "order_id": o, "order_date": START + pd.Timedelta(days=d),
                          "revenue": 1.0, "category": item} for c, o, d, item in rows])


def rules_of(*rules):
    """(antecedent items, consequent item, confidence) as the rules table the analysis finds."""
    return pd.DataFrame({"antecedent": [tuple(a) for a, _, _ in rules], "consequent": [(c,) for _, c, _ in rules],
                         "confidence": [conf for _, _, conf in rules]})


NO_SEQUENCES = pd.DataFrame(columns=["x_item", "y_item", "share", "lift"])


def offers_as_of(lines, day, rules, *, sequences=NO_SEQUENCES, segments=None, segment_rules=None, k=4,
                 window_days=30):
    customers = sorted(lines["customer_id"].unique())
    segments = segments if segments is not None else pd.Series("Loyal", index=customers)
    segment_rules = segment_rules or {}
    rule_set = offers.OfferRules.of({ALL_BASKETS: rules, **{s: r for s, (r, _) in segment_rules.items()}},
                                    sequences)
    return offers.todays_offers(lines, "category", day_of(START) + day, rule_set, segments, segment_rules, k,
                                window_days)


def test_the_best_offer_by_hand():
    lines = lines_of([(1, 1, 0, "pasta"), (1, 1, 0, "beef"), (2, 2, 0, "milk")])
    rules = rules_of((["pasta", "beef"], "sauce", 0.55), (["pasta"], "cheese", 0.40), (["beef"], "cheese", 0.30),
                     (["pasta", "bread"], "jam", 0.60), (["pasta"], "beef", 0.80), (["bread"], "honey", 0.9))
    got = offers_as_of(lines, 0, rules)
    first = got[got["customer_id"] == 1].set_index("rank")
    # cheese: 0.40 + 0.30 from two rules; sauce: 0.55 x 2/2; jam: 0.60 x 1/2 (bread not held); beef is held;
    # honey's rule has nothing of customer 1's. The fourth is the best seller customer 1 lacks (ties by name).
    assert first["item"].tolist() == ["cheese", "sauce", "jam", "milk"]
    assert first["score"].iloc[:3].tolist() == pytest.approx([0.70, 0.55, 0.30])
    assert first["source"].tolist() == ["rule", "rule", "rule", "popular"]
    assert first.loc[1, "reason"] == "bought pasta; 40% of such baskets also hold cheese"
    assert first.loc[2, "reason"] == "bought pasta and beef; 55% of such baskets also hold sauce"
    assert first.loc[3, "reason"] == "bought pasta; 60% of baskets with pasta and bread also hold jam"
    assert first.loc[4, "reason"] == "one of the most popular items: 50% of customers bought milk"
    assert pd.isna(first.loc[4, "score"])
    # Customer 2 matches no rule: the best sellers not bought, and only two items exist that they lack.
    second = got[got["customer_id"] == 2]
    assert second["item"].tolist() == ["beef", "pasta"] and (second["source"] == "popular").all()
    assert second["rank"].tolist() == [1, 2]


def test_a_segment_with_rules_of_its_own_uses_them():
    lines = lines_of([(1, 1, 0, "pasta"), (2, 2, 0, "pasta")])
    segments = pd.Series(["Loyal", "Champions"], index=[1, 2])
    got = offers_as_of(lines, 0, rules_of((["pasta"], "sauce", 0.5)), segments=segments, k=1,
                       segment_rules={"Champions": (rules_of((["pasta"], "wine", 0.4)), 600)})
    assert got.set_index("customer_id")["item"].to_dict() == {1: "sauce", 2: "wine"}
    assert got.set_index("customer_id").loc[2, "reason"] == (
        "bought pasta; 40% of such baskets among Champions customers also hold wine")


def test_sequences_offer_y_for_an_x_bought_within_window_days_of_the_day():
    lines = lines_of([(1, 1, 0, "milk")])
    sequences = pd.DataFrame({"x_item": ["milk", "milk"], "y_item": ["cookies", "tea"], "share": [0.5, 0.9],
                              "lift": [2.0, 0.8]})
    rules = rules_of((["bread"], "jam", 0.5))
    # Day 29 is the 30th day of a 30-day window that starts on day 0: the milk counts.
    on_last_day = offers_as_of(lines, 29, rules, sequences=sequences, k=1)
    assert on_last_day["item"].tolist() == ["cookies"] and on_last_day["source"].tolist() == ["rule"]
    assert on_last_day["reason"].iloc[0] == ("bought milk in the last 30 days; 50% of its buyers buy cookies within "
                                             "30 days")
    # A day later it is out of the window; tea (lift below 1) is never offered from the sequence.
    a_day_later = offers_as_of(lines, 30, rules, sequences=sequences, k=1)
    assert a_day_later.empty  # and milk, the one item there is, is held


def holdout_lines():
    cut = 31  # 2021-02-01
    return cut, lines_of([
        (1, 1, cut - 10, "pasta"), (1, 1, cut - 10, "beef"), (1, 2, cut, "milk"),  # the cut day is history
        (1, 3, cut + 1, "cheese"),                                                  # the next day is the holdout
        (2, 4, cut - 5, "milk"), (2, 5, cut + 3, "beef"),
        (3, 6, cut, "bread"),                                                      # evaluated, buys nothing later
        (4, 7, cut + 1, "beef"), (4, 7, cut + 1, "cheese"),                        # first seen after: not evaluated
    ])


def check_by_hand(rules, segments):
    cut, lines = holdout_lines()
    rule_set = offers.OfferRules.of({ALL_BASKETS: rules}, NO_SEQUENCES)
    return offers.holdout_check(lines, "category", day_of(START) + cut, rule_set, segments, {}, 2, 30)


def test_the_holdout_check_counted_by_hand():
    segments = pd.Series(["A", "A", "B"], index=[1, 2, 3])
    rules = rules_of((["pasta"], "cheese", 0.4), (["beef"], "cheese", 0.3), (["bread"], "jam", 0.5))
    check = check_by_hand(rules, segments)
    # Offers: 1 -> cheese (rule), bread; 2 -> beef, bread (best sellers: milk 2, then beef, bread, pasta by
    # name); 3 -> jam (rule), milk. Bought after the cut: 1 cheese, 2 beef, 3 nothing.
    assert check["offers_customers_evaluated"] == 3
    assert check["offers_hit_rate"] == pytest.approx(2 / 3)
    assert check["offers_precision"] == pytest.approx(2 / 6)
    assert check["offers_rule_coverage"] == pytest.approx(2 / 3)
    # Best sellers: 1 -> bread (holds the rest; cheese and jam nobody bought before the cut); 2 -> beef, bread;
    # 3 -> milk, beef. Only 2's beef is bought.
    assert check["offers_hit_rate_popular"] == pytest.approx(1 / 3)
    assert check["offers_precision_popular"] == pytest.approx(1 / 5)
    # Within segments: A's best sellers are milk, beef, pasta: 1 holds all, 2 gets beef and pasta; B: bread only.
    assert check["offers_hit_rate_segment_popular"] == pytest.approx(1 / 3)
    assert check["offers_precision_segment_popular"] == pytest.approx(1 / 2)


def test_when_popularity_wins_the_page_says_so():
    segments = pd.Series(["A", "A", "B"], index=[1, 2, 3])
    # Rules that offer what nobody buys later.
    check = check_by_hand(rules_of((["pasta"], "jam", 0.9), (["milk"], "jam", 0.9), (["bread"], "honey", 0.9),
                                   (["milk"], "honey", 0.8)), segments)
    assert check["offers_hit_rate"] < check["offers_hit_rate_popular"]
    metrics = {**check, "offers_per_customer": 2, "calibration_end": "2021-02-01", "offers_holdout_days": 3}
    verdict = wording.offers_verdict(metrics, None)
    assert "**The rule-based offers lose to both**" in verdict
    assert "do no better than offering each customer the best sellers" in wording.what_to_do(
        pd.DataFrame(), pd.DataFrame(), metrics)
    table = tables.offer_check_table(check)
    assert table["customers buying one"].tolist() == pytest.approx([check["offers_hit_rate"], 1 / 3, 1 / 3])


def test_offers_on_the_fixture_are_never_what_the_customer_bought(fixture_lines):
    analysis = BasketAnalysis(min_support=0.02).fit(fixture_lines)
    got = analysis.offers_
    bought = set(zip(fixture_lines["customer_id"], fixture_lines["category"]))
    assert not any((c, i) in bought for c, i in zip(got["customer_id"], got["item"]))
    assert got.groupby("customer_id")["rank"].apply(lambda r: r.tolist() == list(range(1, len(r) + 1))).all()
    assert got.groupby("customer_id").size().max() == 3 and got["customer_id"].nunique() == 190
    # Rule offers come first, by score; a best seller only fills a gap after them.
    for _, own in got.groupby("customer_id"):
        rule = own[own["source"] == "rule"]
        assert rule["score"].is_monotonic_decreasing
        assert (own["source"].tolist() == sorted(own["source"], key=lambda s: s != "rule"))
    metrics = analysis.metrics_
    assert metrics["calibration_end"] == "2017-04-01" and metrics["offers_customers_evaluated"] > 0
    assert 0 < metrics["offers_hit_rate"] <= 1 and metrics["offers_holdout_days"] == 90


def test_reasons_matched_a_few_offers_at_a_time_are_the_reasons_matched_at_once(fixture_lines, monkeypatch):
    def figures(metrics):
        return {name: value for name, value in metrics.items() if not name.endswith("_seconds")}

    whole = BasketAnalysis(min_support=0.02).fit(fixture_lines)
    # The fixture's 570 offers (some of them from sequences), matched with their rules 7 at a time.
    assert len(whole.offers_) > 10 * 7 and (whole.offers_["reason"].str.contains("in the last")).any()
    monkeypatch.setattr(scoring, "OFFERS_PER_CHUNK", 7)
    parted = BasketAnalysis(min_support=0.02).fit(fixture_lines)
    pd.testing.assert_frame_equal(parted.offers_, whole.offers_)  # reasons included
    assert figures(parted.metrics_) == figures(whole.metrics_)


def test_the_reason_is_the_rule_that_adds_most_and_the_first_of_equals():
    lines = lines_of([(1, 1, 0, "pasta"), (1, 1, 0, "beef"), (1, 2, 25, "wine"), (2, 3, 0, "milk")])
    # For cheese: 0.6 x 1/2 = 0.3 from the first rule, 0.3 from the second (the first is found first), and the
    # sequence from wine 0.25. For sauce: the sequence's 0.5 beats the rule's 0.8 x 1/2 = 0.4.
    rules = rules_of((["pasta", "bread"], "cheese", 0.60), (["beef"], "cheese", 0.30), (["beef", "jam"], "sauce", 0.8))
    sequences = pd.DataFrame({"x_item": ["wine", "wine"], "y_item": ["cheese", "sauce"], "share": [0.25, 0.5],
                              "lift": [2.0, 3.0]})
    got = offers_as_of(lines, 30, rules, sequences=sequences).set_index(["customer_id", "item"])
    assert got.loc[(1, "cheese"), "score"] == pytest.approx(0.85)
    assert got.loc[(1, "cheese"), "reason"] == "bought pasta; 60% of baskets with pasta and bread also hold cheese"
    assert got.loc[(1, "sauce"), "score"] == pytest.approx(0.9)
    assert got.loc[(1, "sauce"), "reason"] == ("bought wine in the last 30 days; 50% of its buyers buy sauce "
                                               "within 30 days")


def test_a_calibration_end_on_the_last_day_leaves_nothing_to_check(fixture_lines):
    analysis = BasketAnalysis(min_support=0.02, calibration_end="2017-06-30").fit(fixture_lines)
    assert analysis.offers_check_ is None and "`calibration_end`" in analysis.offers_check_reason_
    assert analysis.metrics_["offers_hit_rate"] is None and len(analysis.offers_) > 0
    assert "could not be checked" in wording.offers_verdict(analysis.metrics_, analysis.offers_check_reason_)
