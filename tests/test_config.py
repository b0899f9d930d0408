"""The config schema: unknown keys and wrong types are errors, never silent no-ops."""

from pathlib import Path

import pytest

from conftest import ROOT
from crmlab.config import ConfigError, load_config, notebook_parameters, parse_config


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
    ({"dataset": {"source": "nowhere"}}, "'nowhere' is neither a bundled dataset"),
    ({"dataset": {"source": "file"}}, "dataset.path is required"),
    ({"dataset": {"source": "file", "path": "x.json"}}, "dataset.format: 'json'"),
    ({"dataset": {"source": "cdnow", "returns": "sometimes"}}, "dataset.returns"),
    ({"dataset": {"source": "cdnow", "columns": {"customer": "Id"}}}, "unknown canonical column(s) ['customer']"),
    ({"dataset": {"source": "cdnow"}, "notebooks": {"nope": {}}}, "notebooks.nope: no such notebook"),
    ({"dataset": {"source": "cdnow"}, "notebooks": {"profile": {"orders_cap": 5}}},
     "notebooks.profile: unknown parameter 'orders_cap'"),
    ({"dataset": {"source": "cdnow"}, "notebooks": {"profile": {"orders_bands": "many"}}},
     "expected list"),
    ({"dataset": {"source": "cdnow"}, "notebooks": {"profile": {"processed_dir": "/x"}}},
     "set by the runner"),
])
def test_schema_errors(raw, message):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert message in str(info.value)


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
