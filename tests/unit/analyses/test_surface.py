"""One analysis surface: the class fits and holds what it fitted; sentences, charts and tables are functions.

A method that only calls a module function of the same name gives one table
two public names, and notebooks end up using both.
"""

import ast
import inspect
import textwrap

import pytest

from crmlab.core.catalog import REPORTS
from crmlab.running.parameters import analysis_class

CLASSES = {name: analysis_class(name) for name in REPORTS}


def delegating_methods(class_source: str) -> list[str]:
    """Public methods whose whole body returns a call of a function with the method's own name."""
    found = []
    for method in ast.parse(textwrap.dedent(class_source)).body[0].body:
        if not isinstance(method, ast.FunctionDef) or method.name.startswith("_"):
            continue
        body = [s for s in method.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Call):
            function = body[0].value.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
            if name == method.name:
                found.append(method.name)
    return found


@pytest.mark.parametrize("name", list(REPORTS))
def test_no_method_only_calls_a_function_of_its_own_name(name):
    assert delegating_methods(inspect.getsource(CLASSES[name])) == []


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_fitted_attribute_is_documented(name):
    cls = CLASSES[name]
    source = inspect.getsource(cls)
    assigned = {node.attr for node in ast.walk(ast.parse(textwrap.dedent(source)))
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name) and node.value.id == "self" and node.attr.endswith("_")}
    attributes = cls.__doc__.split("Attributes\n    ----------\n", 1)[1].split("\n\n    Examples")[0]
    assert assigned and {a for a in assigned if a not in attributes} == set()


def test_the_check_finds_a_delegating_method():
    assert delegating_methods('''
        class Fitted:
            def headline(self):
                """Says it."""
                return headline(self.metrics_)

            def table(self, by="revenue"):
                return monetary_deciles(self.values_, by=by)

            def rules(self):
                return tables.rules(self.rules_)
    ''') == ["headline", "rules"]
