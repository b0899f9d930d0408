"""House rules for notebooks: thin, parameterised, committed without outputs."""

import ast
import json

import pytest

from conftest import ROOT
from crmlab.catalog import REPORTS, RUNNER_PARAMETERS
from crmlab.config import notebook_parameters
from crmlab.parameters import analysis_class, analysis_defaults

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_is_a_notebook_for_every_report():
    assert {p.stem for p in NOTEBOOKS} == set(REPORTS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_the_analysis_signature(path):
    """Names and defaults are declared once, in the analysis class; the notebook repeats them exactly."""
    params = notebook_parameters(path)
    cls = analysis_class(path.stem)
    expected = analysis_defaults(cls)
    own = {name: value for name, value in params.items() if name not in RUNNER_PARAMETERS}
    assert own == expected
    assert set(cls._parameter_constraints) == set(expected)


@pytest.mark.parametrize("name", list(REPORTS))
def test_analysis_constructors_are_keyword_only(name):
    import inspect

    cls = analysis_class(name)
    kinds = {p.kind for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}
    assert kinds == {inspect.Parameter.KEYWORD_ONLY}
    with pytest.raises(TypeError):
        cls(*[None])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_points_at_the_fixture(path):
    params = notebook_parameters(path)  # one cell, literals only, or it raises
    assert set(RUNNER_PARAMETERS) <= set(params)
    assert (path.parent / params["processed_dir"]).resolve() == (ROOT / "tests" / "fixtures" /
                                                                 "complete_journey_sample")
    assert params["metrics_path"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_thin_cells_and_crmlab_kernel(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "crmlab"
    assert nb["cells"][0]["cell_type"] == "markdown"
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        tree = ast.parse(source)
        # Logic lives in src/crmlab: no functions, classes or loops over data in a notebook.
        assert not [n for n in ast.walk(tree)
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda, ast.While))], source
        if "parameters" not in cell["metadata"].get("tags", []):  # literals may run long
            assert len(source.splitlines()) <= 12, source
