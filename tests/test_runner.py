"""The runner end to end: real papermill runs of the real notebooks on the fixture."""

import json
import re
import shutil

import nbformat
import pandas as pd
import pytest

from conftest import FIXTURE, ROOT
from crmlab import cli, data
from crmlab.config import ConfigError, parse_config
from crmlab.runner import NotebookFailed, run


def fixture_config(tmp_path, notebooks_dir=ROOT / "notebooks"):
    raw = {"dataset": {"name": "sample", "source": "file",
                       "path": str(FIXTURE / "transactions.parquet"),
                       "customers_path": str(FIXTURE / "customer_attributes.parquet")},
           "data_dir": str(tmp_path / "data")}
    return raw, parse_config(raw, notebooks_dir=notebooks_dir)


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("run")
    _, config = fixture_config(tmp_path)
    result = run(config, out_dir=tmp_path / "reports", log=lambda _: None)
    return tmp_path, config, result


def test_run_writes_the_report_folder(good_run):
    tmp_path, _, result = good_run
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink() and latest.resolve() == result.run_dir.resolve()
    for name in ("index.html", "profile.html", "metrics.json", "run.json",
                 "notebooks/profile.ipynb", "parameters/profile.yaml"):
        assert (latest / name).exists(), name


def test_profile_metrics_match_the_data(good_run):
    tmp_path, config, _ = good_run
    metrics = json.loads((tmp_path / "reports" / "latest" / "metrics.json").read_text())["profile"]
    table = pd.read_parquet(FIXTURE / "transactions.parquet")
    assert metrics["customers"] == table["customer_id"].nunique()
    assert metrics["orders"] == table["order_id"].nunique()
    assert metrics["lines"] == len(table)
    assert metrics["revenue"] == pytest.approx(table["revenue"].sum(), abs=0.01)
    assert metrics["first_date"] == str(table["order_date"].min().date())
    assert metrics["last_date"] == str(table["order_date"].max().date())
    assert set(metrics["dropped_lines"]) == set(data.DROP_REASONS)
    # The notebook wrote the customer master next to the canonical table.
    customers = pd.read_parquet(config.processed_dir / "customers.parquet")
    assert len(customers) == metrics["customers"]
    assert customers["revenue"].sum() == pytest.approx(metrics["revenue"], abs=0.01)
    assert customers["age"].notna().sum() > 0  # demographics joined where known


def test_html_is_for_leadership(good_run):
    tmp_path, _, _ = good_run
    page = (tmp_path / "reports" / "latest" / "profile.html").read_text()
    assert "Customer records profile" in page and "Dataset: sample" in page
    assert "Data period: 2017-01-01 to 2017-06-30" in page
    assert "customers placed" in page  # the computed headline sentence
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) >= 3
    # No code, prompts or parameters: none of the notebook's source text leaks into the page.
    for leak in ("load_transactions", "processed_dir", "In&nbsp;[", "injected-parameters", "metrics_path"):
        assert leak not in page, leak
    assert not re.search(r'<(script|link)[^>]+(src|href)="http', page)  # self-contained
    index = (tmp_path / "reports" / "latest" / "index.html").read_text()
    assert 'href="profile.html"' in index and "customers" in index


def test_run_json_records_the_run(good_run):
    tmp_path, _, _ = good_run
    info = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    assert info["status"] == "ok"
    assert info["versions"]["papermill"] != "not installed"
    assert len(info["input"]["transactions_sha256"]) == 64
    assert info["notebooks"]["profile"]["seconds"] > 0
    assert info["config"]["dataset"]["name"] == "sample"


def broken_notebooks(tmp_path):
    """A copy of the notebooks whose profile raises in its third code cell."""
    folder = tmp_path / "broken_notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    nb = nbformat.read(folder / "profile.ipynb", as_version=4)
    nb.cells.insert(4, nbformat.v4.new_code_cell('raise ValueError("the data has gone missing")'))
    nbformat.write(nb, folder / "profile.ipynb")
    return folder


def test_failed_run_keeps_previous_latest(good_run, tmp_path):
    good_tmp, _, first = good_run
    out = tmp_path / "reports"
    shutil.copytree(good_tmp / "reports", out, symlinks=True)
    before = (out / "latest").resolve()
    folder = broken_notebooks(tmp_path)
    _, config = fixture_config(good_tmp, notebooks_dir=folder)
    with pytest.raises(NotebookFailed) as info:
        run(config, out_dir=out, notebooks_dir=folder, log=lambda _: None)
    error = info.value
    assert error.notebook == "profile" and "ValueError: the data has gone missing" in str(error)
    assert "cell 5 (In [4]: raise ValueError" in str(error)
    assert (out / "latest").resolve() == before
    assert error.executed.exists()  # kept for debugging
    assert json.loads((error.run_dir / "run.json").read_text())["status"] == "failed"


def test_cli_run_failure_exit_code(good_run, tmp_path, capsys):
    good_tmp, _, _ = good_run
    raw, _ = fixture_config(good_tmp)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(raw))
    folder = broken_notebooks(tmp_path)
    code = cli.main(["run", "--config", str(config_path), "--out", str(tmp_path / "reports"),
                     "--notebooks", str(folder)])
    assert code == 1
    err = capsys.readouterr().err
    assert "notebook 'profile' failed in cell 5" in err
    assert not (tmp_path / "reports" / "latest").exists()


def test_cli_only_rejects_unknown_report(good_run, tmp_path, capsys):
    good_tmp, _, _ = good_run
    raw, _ = fixture_config(good_tmp)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(raw))
    assert cli.main(["run", "--config", str(config_path), "--only", "horoscope"]) == 2
    assert "unknown report(s) horoscope" in capsys.readouterr().err


def test_deciles_metrics_match_the_data(good_run):
    tmp_path, config, _ = good_run
    metrics = json.loads((tmp_path / "reports" / "latest" / "metrics.json").read_text())["deciles"]
    table = pd.read_parquet(FIXTURE / "transactions.parquet")
    revenue = table.groupby("customer_id")["revenue"].sum().sort_values(ascending=False)
    assert metrics["customers"] == len(revenue)
    assert metrics["revenue_total"] == pytest.approx(revenue.sum(), abs=0.01)
    top = round(len(revenue) * 0.1)
    assert metrics["top10_revenue_share"] == pytest.approx(revenue.iloc[:top].sum() / revenue.sum())
    assert len(metrics["decile_revenue_share"]) == 10
    assert sum(metrics["decile_revenue_share"]) == pytest.approx(1.0)
    assert sum(metrics["abc_counts"].values()) == len(revenue)
    assert metrics["deal_only_customers"] is not None  # the fixture has discounts
    export = pd.read_parquet(config.processed_dir / "customer_values.parquet")
    assert len(export) == len(revenue) and set(export["abc_class"]) <= {"A", "B", "C"}
    assert (config.processed_dir / "customer_values.csv").exists()
    index = (tmp_path / "reports" / "latest" / "index.html").read_text()
    assert 'href="deciles.html"' in index and "revenue from the top 10%" in index


CLV_KEYS = {"model", "time_unit", "customers", "repeat_customers", "params", "log_likelihood", "fit_step", "boundary",
            "gamma_gamma", "holdout_actual_total", "holdout_predicted_total", "holdout_error_pct", "holdout_mae",
            "clv_total", "clv_median", "at_risk_customers", "at_risk_value"}


def test_clv_metrics_match_the_exports(good_run):
    tmp_path, config, _ = good_run
    metrics = json.loads((tmp_path / "reports" / "latest" / "metrics.json").read_text())["clv"]
    assert CLV_KEYS <= set(metrics)
    table = pd.read_parquet(FIXTURE / "transactions.parquet")
    assert metrics["customers"] == table["customer_id"].nunique()
    assert set(metrics["params"]) == {"r", "alpha", "a", "b"} and set(metrics["gamma_gamma"]) == {"p", "q", "v"}
    assert all(value > 0 for value in metrics["params"].values())
    export = pd.read_parquet(config.processed_dir / "customer_clv.parquet")
    assert len(export) == metrics["customers"]
    assert export["clv"].sum() == pytest.approx(metrics["clv_total"])
    assert export["p_alive"].between(0, 1).all() and export.notna().all().all()
    at_risk = pd.read_csv(config.processed_dir / "clv_at_risk.csv")
    assert len(at_risk) == metrics["at_risk_customers"] == int(export["at_risk"].sum())
    assert len(pd.read_excel(config.processed_dir / "clv_at_risk.xlsx")) == len(at_risk)
    assert metrics["holdout_actual_total"] > 0
    assert metrics["holdout_error_pct"] == pytest.approx(
        (metrics["holdout_predicted_total"] / metrics["holdout_actual_total"] - 1) * 100)
    html = (tmp_path / "reports" / "latest" / "clv.html").read_text()
    assert "holdout" in html and html.count("data:image/png") >= 7


def test_segments_metrics_match_the_export(good_run):
    tmp_path, config, _ = good_run
    latest = tmp_path / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())["segments"]
    assert {"customers", "segment_counts", "k", "silhouette", "stability_ari", "cluster_sizes",
            "cluster_names"} <= set(metrics)
    export = pd.read_parquet(config.processed_dir / "customer_segments.parquet")
    assert len(export) == metrics["customers"] == sum(metrics["segment_counts"].values())
    assert export["rfm_segment"].value_counts().to_dict() == {k: v for k, v in metrics["segment_counts"].items() if v}
    assert sorted(export["cluster"].unique()) == list(range(1, metrics["k"] + 1))
    assert export["cluster"].value_counts().sort_index().tolist() == metrics["cluster_sizes"]
    assert len(set(metrics["cluster_names"])) == metrics["k"]
    assert (config.processed_dir / "customer_segments.csv").exists()
    html = (latest / "segments.html").read_text()
    # CLV ran in the same run, so the CLV-per-segment table is there.
    assert "Mean CLV" in html and "No CLV results from this run" not in html
    index = (latest / "index.html").read_text()
    assert 'href="segments.html"' in index


def test_baskets_metrics_match_the_exports(good_run):
    tmp_path, config, _ = good_run
    latest = tmp_path / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())["baskets"]
    assert {"baskets", "items", "level", "min_support", "itemsets", "rules", "top_rule", "top_lift", "sequences",
            "engine", "mining_seconds"} <= set(metrics)
    table = pd.read_parquet(FIXTURE / "transactions.parquet")
    assert metrics["level"] == "category"
    assert metrics["baskets"] == table.dropna(subset=["category"])["order_id"].nunique()
    assert metrics["items"] == table["category"].nunique()
    rules = pd.read_parquet(config.processed_dir / "basket_rules.parquet")
    assert len(rules) == metrics["rules"] and rules["lift"].max() == pytest.approx(metrics["top_lift"])
    assert (rules["count"] >= metrics["min_count"]).all() and (rules["confidence"] >= 0.3).all()
    sequences = pd.read_csv(config.processed_dir / "basket_sequences.csv")
    assert len(sequences) == metrics["sequences"]
    assert metrics["engine"].startswith("hmine-projected")
    html = (latest / "baskets.html").read_text()
    # Segments ran in the same run, so the per-segment table is there.
    assert "No segments from this run" not in html and "Placement" in html


def test_a_report_switched_off_in_the_config_is_not_run(tmp_path):
    raw, _ = fixture_config(tmp_path)
    raw["notebooks"] = {"baskets": False}
    config = parse_config(raw)
    assert config.skipped == ["baskets"] and "baskets" not in config.notebooks
    with pytest.raises(ConfigError, match="baskets switched off"):
        run(config, only=["baskets"], out_dir=tmp_path / "reports", log=lambda _: None)
