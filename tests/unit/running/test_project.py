"""``crmlab init``: a project folder an installed crmlab runs from."""

import json

from crmlab.core.schema import load_config
from crmlab.running import cli
from crmlab.running.parameters import check_config


def test_init_writes_a_project_whose_config_and_notebook_are_ready(tmp_path, capsys):
    assert cli.main(["init", str(tmp_path / "shop"), "--no-kernel"]) == 0
    project = tmp_path / "shop"
    assert {str(p.relative_to(project)) for p in project.rglob("*")} == {
        ".gitignore", "configs", "configs/example.yaml", "data", "data/raw", "data/processed", "reports",
        "notebooks", "notebooks/explore.ipynb", "notebooks/work"}
    config = load_config(project / "configs" / "example.yaml")
    check_config(config)  # every parameter as a run checks it
    assert (config.dataset.source, config.data_dir.as_posix()) == ("complete_journey", "data")
    # Customer data, the pseudonym key below data/, runs and bound copies stay out of version control.
    ignored = (project / ".gitignore").read_text().splitlines()
    assert {"data/", "reports/", "notebooks/work/"} <= set(ignored)
    cells = json.loads((project / "notebooks" / "explore.ipynb").read_text())["cells"]
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert 'crmlab.open("../configs/example.yaml")' in code and "fixture" not in code
    out = capsys.readouterr().out
    assert "crmlab run --config configs/example.yaml" in out and "registered" not in out


def test_init_never_overwrites(tmp_path, capsys):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "example.yaml").write_text("mine\n")
    assert cli.main(["init", str(tmp_path), "--no-kernel"]) == 2
    assert "init never overwrites" in capsys.readouterr().err
    assert (tmp_path / "configs" / "example.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["configs"]  # nothing else written either
