"""House rules for notebooks: thin, parameterised, committed without outputs."""

import ast
import json

import pytest
from helpers import ROOT

from crmlab.core.catalog import REPORTS, RUNNER_PARAMETERS
from crmlab.core.config import notebook_parameters
from crmlab.running.parameters import analysis_class, analysis_defaults

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


def _sentences(tree) -> list[str]:
    """String literals of more than three words, and every f-string: what a caption or a sentence looks like."""
    found = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and len(n.value.split()) > 3]
    return found + [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_caption_or_sentence_is_written_in_a_notebook(path):
    """Sentences come from each report's wording module and chart titles from its charts module, so a change of
    words is one change in src/crmlab, tested there."""
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"]
            if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])]
    assert [s for source in code for s in _sentences(ast.parse(source))] == []


def test_the_literal_check_finds_a_caption():
    assert _sentences(ast.parse('show_chart(ax, "Each dot is a customer.")\nshow(f"{n} rules")')) == [
        "Each dot is a customer.", "f'{n} rules'"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_theme_is_the_notebooks_first_call(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])]
    calls = [n for n in ast.walk(ast.parse("".join(code[0]["source"]))) if isinstance(n, ast.Call)]
    assert [ast.unparse(c.func) for c in calls] == ["apply_theme"]
