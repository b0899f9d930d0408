"""``crmlab notebook``: a report's notebook bound to a config, run by an analyst, never publishing anything."""

import json
import os

import nbformat
import papermill as pm
import pytest
import yaml
from helpers import FIXTURE

from crmlab.running import cli


def test_the_list_names_every_report(capsys):
    assert cli.main(["notebook", "--list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "profile", "clv", "deciles", "segments", "baskets", "retention"]


def test_a_bound_notebook_runs_on_the_configs_data_and_writes_only_by_hand(tmp_path, capsys):
    config = {"dataset": {"name": "shop", "source": "file", "path": str(FIXTURE / "transactions.parquet")},
              "data_dir": "data", "notebooks": {"profile": {"orders_bands": [1, 2, 5]}}}
    (tmp_path / "shop.yaml").write_text(yaml.safe_dump(config))
    cwd = os.getcwd()
    os.chdir(tmp_path)  # an analyst's project folder
    try:
        assert cli.main(["notebook", "profile", "--config", "shop.yaml"]) == 0
        path = capsys.readouterr().out.strip().splitlines()[-1]  # the path, on the last line
        assert (tmp_path / path).resolve() == tmp_path / "notebooks" / "work" / "shop" / "profile.ipynb"
        bound = nbformat.read(path, as_version=4)
        tags = [cell.metadata.get("tags", []) for cell in bound.cells]
        injected = tags.index(["injected-parameters"])
        assert tags[injected - 1] == ["parameters"]  # right after the defaults, as papermill injects them
        source = bound.cells[injected].source
        assert "orders_bands = [1, 2, 5]" in source and "metrics_path = None" in source
        assert str(tmp_path / "data" / "processed" / "shop") in source  # prepared for it
        assert str(tmp_path / "reports" / "by-hand" / "shop" / "exports") in source
        # Run top to bottom, as in JupyterLab: this dataset's figures, exports by hand, no published run.
        executed = pm.execute_notebook(path, str(tmp_path / "ran.ipynb"), kernel_name="crmlab",
                                       progress_bar=False, cwd=str(tmp_path))
        text = json.dumps(executed.cells[injected + 2].outputs)
        assert "190 customers" in text
        assert (tmp_path / "reports" / "by-hand" / "shop" / "exports" / "customers.parquet").exists()
        assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["by-hand"]
        # A report the config does not know is refused, exit 2.
        assert cli.main(["notebook", "churn", "--config", "shop.yaml"]) == 2
        assert "churn: no such report" in capsys.readouterr().err
    finally:
        os.chdir(cwd)


def test_crmlab_open_gives_a_configs_data_from_any_folder(tmp_path):
    from helpers import ROOT

    import crmlab
    from crmlab.analyses.deciles import CustomerValueAnalysis

    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    config = {"dataset": {"name": "shop", "source": "file", "path": str(FIXTURE / "transactions.parquet"),
                          "customers_path": str(FIXTURE / "customer_attributes.parquet")},
              "data_dir": "data", "notebooks": {"deciles": {"decline_steps": 3}, "clv": {}}}
    (project / "configs" / "shop.yaml").write_text(yaml.safe_dump(config))
    (project / "notebooks" / "mine").mkdir(parents=True)
    cwd = os.getcwd()
    os.chdir(project / "notebooks" / "mine")  # an analyst's notebook, two folders down
    try:
        shop = crmlab.open("../../configs/shop.yaml")
    finally:
        os.chdir(cwd)
    assert shop.processed_dir == project / "data" / "processed" / "shop"  # the project's data/, not the notebook's
    lines = shop.transactions()
    assert len(lines) == shop.lines().count().execute() and lines["customer_id"].nunique() == 190
    customers = shop.customers()
    assert len(customers) == 190 and customers["revenue"].sum() == pytest.approx(lines["revenue"].sum())
    assert shop.parameters("deciles") == {"decline_steps": 3}
    assert shop.parameters("clv") == {}  # no observation end in the config: the CLV report takes the last day
    analysis = CustomerValueAnalysis(**shop.parameters("deciles")).fit(shop.lines())
    assert analysis.metrics_["customers"] == 190
    assert not (ROOT / "notebooks" / "mine").exists()
