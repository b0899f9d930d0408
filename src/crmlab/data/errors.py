"""What validation finds in the user's data, and the error that stops a preparation.

A :class:`Problem` names the column, how many rows and a few examples (by
1-based data row number, with the value as written); :class:`DataError`
gathers every fatal one, so one run shows all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

N_EXAMPLES = 5


@dataclass
class Problem:
    """One finding of validation: which column, how many rows, a few examples."""

    column: str
    what: str
    count: int
    total: int
    examples: list[str] = field(default_factory=list)
    fatal: bool = True

    def message(self) -> str:
        if not self.column:  # a problem of the file as a whole
            return self.what + ("; at " + ", ".join(self.examples) if self.examples else "")
        if self.total == 0:
            return f"column '{self.column}': {self.what}"
        head = f"column '{self.column}': {self.count:,} of {self.total:,} rows {self.what}"
        if not self.examples:
            return head
        return head + "; for example:\n" + "\n".join(f"    {e}" for e in self.examples)


class DataError(ValueError):
    """The input cannot be turned into a trustworthy canonical table.

    ``problems`` lists every fatal finding, so one run shows all of them.
    """

    def __init__(self, problems: list[Problem], source: str = "input"):
        self.problems = problems
        self.source = source
        lines = [f"{source}: {len(problems)} problem(s) stop the data preparation; nothing was written."]
        lines += [f"  - {p.message()}" for p in problems]
        super().__init__("\n".join(lines))


def row_examples(frame: pd.DataFrame, mask: pd.Series, column: str, labels: dict[str, str],
                 positions=None) -> list[str]:
    """A few offending rows, by 1-based data row number, showing the raw value.

    ``positions`` gives the rows' 0-based positions when ``frame`` holds only
    the offending rows (a query's sample); by default they are found in ``mask``.
    """
    rows = []
    shown = frame.loc[mask].head(N_EXAMPLES)
    if positions is None:
        positions = np.flatnonzero(mask.to_numpy())
    for position, (_, row) in zip(positions[:N_EXAMPLES], shown.iterrows()):
        value = row[column] if column in row.index else None
        context = ""
        if column != "customer_id" and "customer_id" in row.index:
            context = f", {labels.get('customer_id', 'customer_id')}={row['customer_id']!r}"
        rows.append(f"row {position + 1}: {labels.get(column, column)}={value!r}{context}")
    return rows


def column_label(column: str, labels: dict[str, str]) -> str:
    source = labels.get(column, column)
    return column if source == column else f"{column} (source column {source})"


