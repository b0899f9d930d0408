"""crmlab as a user installs it: the wheel in a fresh venv, a project folder made by ``crmlab init``, a real run.

Nothing here reads the source tree: the venv holds the locked dependencies
and the wheel (never an editable install), and the project folder lies
outside the checkout, so the notebooks the run executes are the wheel's own.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import FIXTURE, ROOT

pytestmark = pytest.mark.slow


def _run(command, *, cwd, env, check=True):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(built_wheel, fresh_venv):
    """The fresh venv (requirements.lock) with the wheel; returns its bin folder and the environment to run it in."""
    from uv import find_uv_bin

    venv = fresh_venv.wait()
    env = dict(fresh_venv.env)
    _run([find_uv_bin(), "pip", "install", "--quiet", "--no-deps", "--python", str(venv / "bin" / "python"),
          str(built_wheel.path)], cwd=venv.parent, env=env)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return venv / "bin", env


def test_init_then_run_with_the_wheel_outside_the_source_tree(installed, tmp_path):
    bin_dir, env = installed
    crmlab = str(bin_dir / "crmlab")
    where = _run([str(bin_dir / "python"), "-c", "import crmlab; print(crmlab.__file__)"], cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).is_relative_to(bin_dir.parent), where.stdout  # the wheel, not the checkout
    assert not tmp_path.is_relative_to(ROOT)

    # Before init, the kernel the notebooks name is not registered in this venv: run says how, and runs nothing.
    (tmp_path / "early.yaml").write_text(yaml.safe_dump({"dataset": {"name": "s", "source": "cdnow_sample"}}))
    refused = _run([crmlab, "run", "--config", "early.yaml"], cwd=tmp_path, env=env, check=False)
    assert refused.returncode == 2, refused.stderr
    assert "crmlab init" in refused.stderr and "ipykernel install" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "reports").exists()

    made = _run([crmlab, "init", "shop"], cwd=tmp_path, env=env)
    project = tmp_path / "shop"
    assert "registered the Jupyter kernel 'crmlab'" in made.stdout
    kernel = json.loads((bin_dir.parent / "share" / "jupyter" / "kernels" / "crmlab" / "kernel.json").read_text())
    assert Path(kernel["argv"][0]).parent == bin_dir  # the kernel runs this venv's Python
    assert (project / ".gitignore").read_text().startswith("# Customer data")
    assert yaml.safe_load((project / "configs" / "example.yaml").read_text())["dataset"]["source"] == \
        "complete_journey"
    assert {p.name for p in project.iterdir()} == {".gitignore", "configs", "data", "notebooks", "reports"}

    # A run from the project folder, on the committed fixture read as a user's own file. Two reports, not five:
    # the whole bundle runs in bundle_run (conftest.py), and tests/unit/test_environment.py checks that the wheel
    # carries every notebook byte for byte.
    config = {"dataset": {"name": "shop", "source": "file", "path": str(FIXTURE / "transactions.parquet")},
              "notebooks": yaml.safe_load((project / "configs" / "example.yaml").read_text())["notebooks"]}
    (project / "configs" / "shop.yaml").write_text(yaml.safe_dump(config))
    _run([crmlab, "run", "--config", "configs/shop.yaml", "--only", "profile,deciles"], cwd=project, env=env)
    latest = project / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())
    assert sorted(metrics) == ["deciles", "profile"]
    assert metrics["profile"]["customers"] == 190
    assert (latest / "profile.html").exists() and (latest / "deciles.html").exists()

    # The analyst's path from there: a report bound to the config, for JupyterLab.
    bound = _run([crmlab, "notebook", "clv", "--config", "configs/shop.yaml"], cwd=project, env=env)
    assert (project / bound.stdout.strip().splitlines()[-1]) == project / "notebooks/work/shop/clv.ipynb"
    assert (project / "notebooks" / "work" / "shop" / "clv.ipynb").exists()
