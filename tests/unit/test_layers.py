"""The architecture as import rules: each layer of src/crmlab imports only the layers below it.

Read from the code's own imports (the AST, imports inside functions and under
``TYPE_CHECKING`` included), so a rule broken anywhere in a module fails here.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "crmlab"

# What each layer may import of crmlab, besides itself (docs/architecture.md draws the same table).
MAY_IMPORT = {
    "core": set(),
    "engine": {"core"},
    "data": {"core", "engine"},
    "models": {"core", "engine"},
    "analyses": {"core", "engine", "data", "models"},
    "publishing": {"core"},
    "running": {"core", "engine", "data", "models", "analyses", "publishing", "running"},
}
LONGEST_MODULE = 600


def imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative imports resolved against ``package``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            # `from crmlab import data` imports the module crmlab.data.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def layer_breaks(src: Path) -> list[str]:
    """Every import that crosses a line the table above does not allow, as ``file:line imports module``."""
    breaks = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src).parts
        if len(parts) < 2:
            continue  # crmlab/__init__.py
        layer = parts[0]
        package = ".".join((src.name,) + parts[:-1])
        for line, module in imported_modules(path, package):
            names = module.split(".")
            if names[0] != src.name or len(names) < 2 or names[1] not in MAY_IMPORT:
                continue
            other = names[1]
            where = f"{'/'.join(parts)}:{line} imports {module}"
            if other == layer:
                if layer == "analyses" and len(names) > 2 and len(parts) > 2 and names[2] != parts[1]:
                    breaks.append(where + " (another analysis)")
            elif other not in MAY_IMPORT[layer]:
                breaks.append(where)
    return breaks


def test_every_import_stays_within_its_layers_rules():
    assert layer_breaks(SRC) == []


def test_nothing_but_the_layers_sits_at_the_top():
    top = {p.name for p in SRC.iterdir() if p.name != "__pycache__"}
    assert top == {"__init__.py", *MAY_IMPORT}


def test_every_report_is_a_package_under_analyses():
    from crmlab.core.catalog import REPORTS

    for name, report in REPORTS.items():
        assert (SRC / "analyses" / name / "__init__.py").exists(), name
        assert report.analysis.startswith(f"crmlab.analyses.{name}:"), report.analysis


def test_no_module_is_longer_than_600_lines():
    lengths = {str(p.relative_to(SRC)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    assert {name: n for name, n in lengths.items() if n > LONGEST_MODULE} == {}


@pytest.mark.parametrize("layer, line, broken", [
    ("core", "from crmlab.engine import lines", "core/bad.py:1 imports crmlab.engine.lines"),
    ("publishing", "from crmlab import data", "publishing/bad.py:1 imports crmlab.data"),
    ("models", "from ..analyses.clv import wording", "models/bad.py:1 imports crmlab.analyses.clv.wording"),
    ("engine", "def f():\n    import crmlab.running.cli", "engine/bad.py:2 imports crmlab.running.cli"),
])
def test_the_check_finds_a_forbidden_import(tmp_path, layer, line, broken):
    src = tmp_path / "crmlab"
    (src / layer).mkdir(parents=True)
    (src / layer / "bad.py").write_text(line + "\n")
    assert layer_breaks(src) == [broken]


def test_the_check_finds_one_analysis_importing_another(tmp_path):
    src = tmp_path / "crmlab"
    (src / "analyses" / "segments").mkdir(parents=True)
    (src / "analyses" / "segments" / "tables.py").write_text("from crmlab.analyses.clv import analysis\n")
    (src / "analyses" / "segments" / "wording.py").write_text("from crmlab.analyses.segments import tables\n")
    assert layer_breaks(src) == [
        "analyses/segments/tables.py:1 imports crmlab.analyses.clv.analysis (another analysis)"]
