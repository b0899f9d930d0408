"""Reports the data cannot support explain themselves, and the run goes on.

Three real runs of the five notebooks through ``crmlab run`` (papermill, real
HTML), each on an Online-Retail-style CSV made from the fixture: the whole
export, one customer's lines, and one day's lines without product columns.
The analyses' own checks are tested directly, without a run.
"""

import json
import re

import pandas as pd
import pytest
import yaml
from helpers import FIXTURE, online_retail_export, own_data_config

from crmlab import data
from crmlab.analyses.baskets import BasketAnalysis
from crmlab.analyses.baskets import analysis as baskets_analysis
from crmlab.analyses.clv import CLVAnalysis
from crmlab.analyses.clv import analysis as clv_analysis
from crmlab.analyses.deciles import CustomerValueAnalysis
from crmlab.analyses.segments import SegmentationAnalysis
from crmlab.analyses.segments import analysis as segments_analysis
from crmlab.core.availability import NotAvailable
from crmlab.core.schema import parse_config
from crmlab.models.itemsets import encoding
from crmlab.publishing.metrics import not_available_page, record_metrics
from crmlab.running import cli
from crmlab.running.runner import run


def run_cli(tmp_path, frame: pd.DataFrame, **dataset) -> tuple[int, dict, dict, str]:
    """Write ``frame`` as a CSV export, run the whole bundle on it; exit code, metrics, run.json, index text."""
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    before = path.read_bytes()
    config = own_data_config(path, tmp_path / "data", **dataset)
    if "columns" in dataset:
        config["dataset"]["columns"] = dataset["columns"]
    config_path = tmp_path / "shop.yaml"
    config_path.write_text(yaml.safe_dump(config))
    code = cli.main(["run", "--config", str(config_path), "--out", str(tmp_path / "reports")])
    assert path.read_bytes() == before  # the user's file is never modified
    latest = tmp_path / "reports" / "latest"
    if code != 0:
        return code, {}, {}, ""
    metrics = json.loads((latest / "metrics.json").read_text())
    run_info = json.loads((latest / "run.json").read_text())
    return code, metrics, run_info, (latest / "index.html").read_text()


def page_text(path) -> str:
    text = re.sub(r"<style.*?</style>", "", path.read_text(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


@pytest.fixture(scope="module")
def export():
    return online_retail_export(data.load_transactions(FIXTURE))


def test_online_retail_export_runs_the_whole_bundle_at_product_level(tmp_path, export):
    code, metrics, run_info, _ = run_cli(tmp_path, export)
    assert code == 0
    assert {name: m["status"] for name, m in metrics.items()} == {
        **dict.fromkeys(["profile", "clv", "deciles", "segments", "baskets"], "ok"),
        # Six months cannot hold a training cutoff, the test cutoff and a 90-day horizon.
        "retention": "not_available"}
    assert "too short for a training cutoff" in metrics["retention"]["reason"]
    assert metrics["baskets"]["level"] == "product_id"  # no category column: the next level down
    assert metrics["baskets"]["rules"] > 0
    assert run_info["status"] == "ok"


def test_one_customer_publishes_profile_and_deciles_and_explains_the_rest(tmp_path, export):
    one = export[export["CustomerID"] == export["CustomerID"].iloc[0]]
    code, metrics, run_info, index = run_cli(tmp_path, one)
    assert code == 0  # a result, not a failure: latest moved
    assert metrics["profile"]["status"] == "ok" and metrics["profile"]["customers"] == 1
    assert metrics["deciles"]["status"] == "ok"
    for name in ("clv", "segments"):
        assert metrics[name]["status"] == "not_available"
        assert "1 customer" in metrics[name]["reason"]
        assert run_info["notebooks"][name]["status"] == "not_available"
    assert metrics["baskets"]["status"] == "not_available" and "baskets" in metrics["baskets"]["reason"]
    assert index.count("Not available for this dataset") == 4  # clv, segments, baskets, retention
    page = page_text(tmp_path / "reports" / "latest" / "clv.html")
    assert "Not available for this dataset" in page and "What would make it possible" in page
    assert "Traceback" not in page and "NotAvailable" not in page and "Exception" not in page
    assert "The holdout check" not in page  # the rest of the report is not shown
    # Segments ran without CLV, baskets without segments: no exports from either.
    assert not (tmp_path / "reports" / "latest" / "exports" / "customer_clv.parquet").exists()


def test_one_day_without_products_explains_clv_and_does_not_run_baskets(tmp_path, export):
    day = export["InvoiceDate"].str[:10]
    one_day = export[day == day.value_counts().index[0]].drop(columns=["StockCode", "Description"])
    columns = {k: v for k, v in own_data_config("x", tmp_path)["dataset"]["columns"].items() if k != "product_id"}
    code, metrics, run_info, index = run_cli(tmp_path, one_day, columns=columns)
    assert code == 0
    assert metrics["clv"]["status"] == "not_available" and "one day" in metrics["clv"]["reason"]
    assert metrics["profile"]["status"] == metrics["deciles"]["status"] == "ok"
    # No item column at all: the report is not run, and the index says why.
    assert metrics["baskets"] == {"status": "not_available",
                                  "reason": metrics["baskets"]["reason"], "remedy": metrics["baskets"]["remedy"]}
    assert "no product or category column" in metrics["baskets"]["reason"]
    assert run_info["notebooks"]["baskets"]["ran"] is False
    assert not (tmp_path / "reports" / "latest" / "baskets.html").exists()
    assert "baskets.html" not in index and "no product or category column" in index


# --------------------------------------------------------------------------- the analyses' own checks


@pytest.fixture(scope="module")
def lines():
    return data.load_transactions(FIXTURE)


def test_clv_needs_more_than_one_day(lines):
    day = lines["order_date"].dt.normalize()
    with pytest.raises(NotAvailable, match="every purchase falls on one day"):
        CLVAnalysis().fit(lines[day == day.iloc[0]])


def test_clv_needs_customers_and_repeat_buyers(lines):
    few = lines[lines["customer_id"].isin(lines["customer_id"].unique()[:clv_analysis.MIN_CUSTOMERS - 1])]
    with pytest.raises(NotAvailable, match=f"need at least {clv_analysis.MIN_CUSTOMERS}"):
        CLVAnalysis().fit(few)
    first_days = lines[lines["order_date"].dt.normalize()
                       == lines.groupby("customer_id")["order_date"].transform("min").dt.normalize()]
    with pytest.raises(NotAvailable, match="bought on more than one day"):
        CLVAnalysis().fit(first_days)


def test_segments_need_thirty_customers_and_run_at_thirty(lines):
    ids = lines["customer_id"].unique()
    with pytest.raises(NotAvailable):
        SegmentationAnalysis().fit(lines[lines["customer_id"].isin(ids[:segments_analysis.MIN_CUSTOMERS - 1])])
    fitted = SegmentationAnalysis().fit(lines[lines["customer_id"].isin(ids[:segments_analysis.MIN_CUSTOMERS])])
    assert fitted.metrics_["customers"] == segments_analysis.MIN_CUSTOMERS


def test_deciles_work_for_one_customer(lines):
    one = lines[lines["customer_id"] == lines["customer_id"].iloc[0]]
    analysis = CustomerValueAnalysis().fit(one)
    assert analysis.metrics_["customers"] == 1
    assert len(analysis.export()) == 1


def test_basket_level_auto_takes_the_coarsest_level_present(lines):
    assert encoding.resolve_level(lines, "auto") == "category"
    assert encoding.resolve_level(lines.drop(columns=["category"]), "auto") == "product_id"
    assert encoding.resolve_level(lines, "department") == "department"  # only when asked for
    with pytest.raises(NotAvailable, match="no product or category column"):
        encoding.resolve_level(lines.drop(columns=["category", "product_id", "department"]), "auto")
    with pytest.raises(NotAvailable, match="no 'category' column"):
        encoding.resolve_level(lines.drop(columns=["category"]), "category")


def test_baskets_need_multi_item_baskets(lines):
    one = lines[lines["customer_id"] == lines["customer_id"].iloc[0]]
    assert encoding.multi_item_baskets(one, "category") < baskets_analysis.MIN_MULTI_ITEM_BASKETS
    with pytest.raises(NotAvailable, match="baskets hold two or more different items"):
        BasketAnalysis().fit(one)


def test_a_small_file_never_mines_below_the_support_floor(lines):
    """1% of 200 baskets is 2: every pair in a handful of big baskets would be 'frequent'."""
    few = lines[lines["customer_id"].isin(lines["customer_id"].unique()[:5])]
    encoded = encoding.encode(few, "category", 0.01, baskets_analysis.MIN_SUPPORT_BASKETS)
    assert encoded.min_count == baskets_analysis.MIN_SUPPORT_BASKETS
    # A count is as given.
    assert encoding.encode(few, "category", 3, baskets_analysis.MIN_SUPPORT_BASKETS).min_count == 3


def test_not_available_page_records_the_reason_and_stops(tmp_path):
    path = tmp_path / "m.json"
    with pytest.raises(NotAvailable):
        with not_available_page("clv", path):
            raise NotAvailable("only 3 customers", "at least 30 customers")
    assert json.loads(path.read_text()) == {"clv": {"status": "not_available", "reason": "only 3 customers",
                                                    "remedy": "at least 30 customers"}}
    record_metrics("clv", {"customers": 3}, path)
    assert json.loads(path.read_text())["clv"]["status"] == "ok"


def test_a_baskets_run_without_rules_publishes_its_sequences(tmp_path):
    """No rule passes the thresholds, but sequences do: the page is published, and says which parameter to lower."""
    config = parse_config({"dataset": {"name": "sample", "source": "file",
                                       "path": str(FIXTURE / "transactions.parquet")},
                           "data_dir": str(tmp_path / "data"), "notebooks": {"baskets": {"min_confidence": 0.95}}})
    result = run(config, only=["baskets"], out_dir=tmp_path / "reports", log=lambda _: None)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())["baskets"]
    assert metrics["status"] == "ok" and metrics["rules"] == 0 and metrics["sequences"] > 0
    page = page_text(result.run_dir / "baskets.html")
    assert "No rule reaches a confidence of 95% at a support of 1.0%; lower min_confidence or min_support" in page
    # The two rules charts say so in their place, without the captions of charts that are not there.
    assert page.count("No rule passes the thresholds; lower min_confidence or min_support") == 2
    assert "Each dot is a rule" not in page
    # The sequences: their chart (an image titled as such) and their table.
    assert 'alt="What customers buy next' in (result.run_dir / "baskets.html").read_text()
    assert "Customers X then Y" in page
