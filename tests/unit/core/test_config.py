"""The config schema: unknown keys and wrong types are errors, never silent no-ops."""

from datetime import date
from pathlib import Path

import pytest
import yaml
from helpers import ROOT

from crmlab.core.config import ConfigError, notebook_parameters
from crmlab.core.schema import load_config, parse_config
from crmlab.running import cli
from crmlab.running.parameters import check_config


def test_every_shipped_config_loads():
    paths = sorted((ROOT / "configs").glob("*.yaml"))
    assert {p.stem for p in paths} >= {"default", "cdnow", "cdnow_sample", "complete_journey", "fixture"}
    for path in paths:
        config = load_config(path)
        assert config.processed_dir == Path("data/processed") / config.dataset.name


def test_default_config_is_complete_journey():
    assert load_config(ROOT / "configs" / "default.yaml").dataset.source == "complete_journey"


@pytest.mark.parametrize("raw, message", [
    ({"dataset": {"source": "cdnow"}, "colour": "blue"}, "unknown top-level key(s) ['colour']"),
    ({"dataset": {"source": "cdnow", "sauce": 1}}, "unknown key(s) in dataset: ['sauce']"),
    ({"dataset": {"source": "nowhere"}}, "dataset.source: 'nowhere' is not allowed; expected one of 'cdnow', "
                                         "'cdnow_sample', 'complete_journey', 'file', 'table'"),
    ({"dataset": {"source": "file"}}, "dataset.path is required"),
    ({"dataset": {"source": "file", "path": "x.json"}}, "dataset.format: 'json'"),
    ({"dataset": {"source": "cdnow", "returns": "sometimes"}}, "dataset.returns"),
    ({"dataset": {"source": "cdnow", "columns": {"customer": "Id"}}}, "unknown canonical column(s) ['customer']"),
    ({"dataset": {"source": "cdnow"}, "notebooks": {"nope": {}}}, "notebooks.nope: no such notebook"),
    ({"dataset": {"source": "cdnow"}, "notebooks": {"clv": [1]}}, "notebooks.clv: expected a mapping"),
    ({"dataset": {"source": "table"}}, "dataset.table is required when dataset.source is 'table'"),
    ({"dataset": {"source": "table", "table": "sales; DROP TABLE x"}},
     "dataset.table: 'sales; DROP TABLE x' is not allowed; expected a table name such as db.transactions"),
    ({"dataset": {"source": "cdnow", "sheet": -1}}, "dataset.sheet: -1 is not allowed; expected text, an integer"),
    ({"dataset": {"source": "cdnow", "timezone": "Mars/Olympus"}}, "dataset.timezone: 'Mars/Olympus' is not allowed"),
    ({"dataset": {"source": "cdnow"}, "sharing": {"min_group_customers": -1}}, "sharing.min_group_customers: -1"),
    ({"dataset": {"source": "cdnow"}, "sharing": {"min_group": 5}}, "sharing: unknown key 'min_group'"),
    ({"dataset": {"source": "table", "table": "db.sales", "path": "x.csv"}}, "a table is named by dataset.table"),
    ({"dataset": {"source": "file", "path": "x.csv", "table": "db.sales"}}, "dataset.table is for dataset.source"),
    ({"dataset": {"source": "table", "table": "db.sales"}}, "'table' reads db.sales from the Spark cluster, so it "
                                                           "needs engine: {name: spark"),
])
def test_schema_errors(raw, message):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert message in str(info.value)


def test_every_problem_of_every_section_is_listed_at_once():
    raw = {"dataset": {"source": "file", "path": "sales.csv", "returns": "sometimes", "delimiter": ";;"},
           "engine": {"name": "polars", "threads": 0}, "sharing": {"min_group_customers": "ten"},
           "notebooks": {"nope": {}}}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert str(info.value).splitlines() == [
        "dataset.returns: 'sometimes' is not allowed; expected one of 'exclude', 'keep'",
        "dataset.delimiter: ';;' is not allowed; expected one character (',', ';', '\\t', '|') or None",
        "notebooks.nope: no such notebook; known: baskets, clv, deciles, profile, retention, segments",
        "sharing.min_group_customers: 'ten' is not allowed; expected an integer in [0, inf]",
        "engine.name: 'polars' is not allowed; expected one of 'duckdb', 'spark'",
        "engine.threads: 0 is not allowed; expected an integer in [1, inf] or None",
    ]


@pytest.mark.parametrize("params, message", [
    ({"profile": {"orders_cap": 5}}, "notebooks.profile: unknown parameter 'orders_cap'"),
    ({"profile": {"orders_bands": "many"}}, "notebooks.profile.orders_bands: 'many' is not allowed; expected a non-empty list"),
    ({"profile": {"orders_bands": [5, 1]}}, "a non-empty list of increasing values"),
    ({"profile": {"processed_dir": "/x"}}, "notebooks.profile.processed_dir is set by the runner"),
    ({"clv": {"model": "bgbb"}}, "notebooks.clv.model: 'bgbb' is not allowed; expected one of 'auto', 'bgnbd', "
                                 "'mbgnbd', 'pareto_nbd'"),
    ({"clv": {"calibration_end": "soon"}}, "expected a date like 2017-07-02 or None"),
    ({"clv": {"gross_margin": 1.5}}, "notebooks.clv.gross_margin: 1.5 is not allowed; expected a number in (0, 1]"),
    ({"deciles": {"margin_rate": "30%"}}, "notebooks.deciles.margin_rate"),
    ({"segments": {"k": "five"}}, "notebooks.segments.k: 'five' is not allowed; expected an integer in [2, inf] "
                                  "or None"),
    ({"segments": {"features": ["tenure", "star_sign"]}}, "notebooks.segments.features"),
    ({"baskets": {"min_support": 2.5}}, "notebooks.baskets.min_support: 2.5 is not allowed; expected a number in "
                                        "(0, 1) or an integer in [1, inf]"),
    ({"baskets": {"max_len": None, "prune_redundant": "yes"}}, "notebooks.baskets.prune_redundant: 'yes'"),
])
def test_parameter_errors_name_the_key_and_what_is_allowed(params, message):
    config = parse_config({"dataset": {"source": "cdnow"}, "notebooks": params})
    with pytest.raises(ConfigError) as info:
        check_config(config)
    assert message in str(info.value)


def test_none_defaults_are_type_checked_too():
    # calibration_end, margin_rate, k and max_len default to None: a value must still be the right kind.
    config = parse_config({"dataset": {"source": "cdnow"}, "notebooks": {
        "clv": {"calibration_end": 5}, "deciles": {"margin_rate": "high"}, "segments": {"k": 2.5},
        "baskets": {"max_len": "three"}}})
    with pytest.raises(ConfigError) as info:
        check_config(config)
    assert str(info.value).count("is not allowed") == 4


def test_good_values_pass_and_yaml_dates_become_text():
    config = parse_config({"dataset": {"source": "cdnow"}, "notebooks": {
        "clv": {"calibration_end": date(1997, 9, 30), "model": "pareto_nbd", "gross_margin": 1},
        "segments": {"k": 4, "features": ["tenure"]}, "baskets": {"min_support": 25}}})
    check_config(config)  # no error
    assert config.notebooks["clv"]["calibration_end"] == "1997-09-30"


def test_cli_reports_every_bad_parameter_at_once_and_creates_nothing(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({
        "dataset": {"name": "bad", "source": "cdnow"}, "data_dir": str(tmp_path / "data"),
        "notebooks": {"clv": {"model": "bgbb"}, "segments": {"k": "five"}, "baskets": {"min_support": 2.5}}}))
    for command in (["run", "--out", str(tmp_path / "reports")], ["data", "prepare"]):
        assert cli.main([*command, "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert "3 problem(s)" in err
        for key in ("clv.model", "segments.k", "baskets.min_support"):
            assert f"notebooks.{key}:" in err
    assert not (tmp_path / "reports").exists() and not (tmp_path / "data").exists()


def test_notebook_parameters_are_the_schema():
    params = notebook_parameters(ROOT / "notebooks" / "profile.ipynb")
    assert params["orders_bands"][0] == 1
    config = parse_config({"dataset": {"source": "cdnow"},
                           "notebooks": {"profile": {"orders_bands": [1, 5]}}})
    assert config.notebooks["profile"] == {"orders_bands": [1, 5]}


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
