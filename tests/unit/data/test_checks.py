"""The data checks are one table, which both ways of preparing a file read."""

import ast
import re
from pathlib import Path

from crmlab.data import checks

DATA = Path(checks.__file__).parent


def test_each_check_refuses_or_sets_aside_and_says_what_it_sets_aside():
    assert {check.action for check in checks.CHECKS.values()} == {checks.REFUSE, checks.SET_ASIDE}
    for check in checks.CHECKS.values():
        assert check.message and (check.action == checks.REFUSE or check.meaning), check.name
    # The manifest's `dropped` counts and the profile's dropped_lines figures are keyed by these names.
    assert list(checks.DROP_REASONS) == ["missing_customer_id", "duplicate", "return"]


def test_a_message_reads_with_its_values():
    assert checks.CHECKS["after_observation_end"].says(end="2011-12-09") == \
        "are dated after the observation end 2011-12-09"
    assert checks.CHECKS["return"].label == "quantity/revenue" and checks.CHECKS["duplicate"].label == "all columns"
    assert checks.CHECKS["duplicate"].kept.format(count=1234).startswith("1,234 exact duplicate lines were kept")


def _fixed_words(message: str) -> list[str]:
    """The parts of a message between its format fields, long enough to recognise."""
    return [part for part in re.split(r"\{[^}]*\}", message) if len(part) >= 12]


def test_neither_preparing_path_writes_a_checks_words_itself():
    words = [part for check in checks.CHECKS.values() for message in (check.message, check.kept)
             for part in _fixed_words(message)]
    words.append(checks.NO_ORDER_ID_NOTE)
    for module in ("validation.py", "streaming.py"):
        literals = [node.value for node in ast.walk(ast.parse((DATA / module).read_text()))
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)]
        assert [w for w in words if any(w in literal for literal in literals)] == [], module


def test_amount_columns_are_written_once():
    for module in ("validation.py", "streaming.py"):
        source = (DATA / module).read_text()
        assert '"unit_price", "discount"' not in source and '"revenue", "discount", "cost"' not in source, module
