"""Confidential by default: pseudonyms instead of customer ids, no small groups, in what leadership reads.

Customer records are an asset that must not leak through the reports made
from them. Two rules hold on every leadership page:

* **Pseudonyms.** Where a page shows an individual customer, it shows
  ``C-`` plus the first 16 hex digits of HMAC-SHA256(key, customer id): stable
  across reports and runs with the same key, and not reversible without it
  (a plain or salted hash of a short id is, by trying every id). The key comes
  from ``CRMLAB_PSEUDONYM_KEY`` or from ``data/.pseudonym-key``, created on
  first use with mode 0600; it never appears in a notebook, its parameters,
  a page or ``run.json``. Exports for marketing carry both the id and the
  pseudonym, so a pseudonym seen on a page can be looked up by those who
  hold the exports.
* **No small groups.** A table row or chart cell describing fewer than
  ``min_group_customers`` customers (default 10) shows "fewer than 10"
  instead of its figures, and so does the next smallest group wherever a
  published total would let a reader recompute the suppressed one
  (secondary suppression). ``min_group_customers: 0`` turns this off for an
  internal run; the pages then say "internal: not for sharing".

A leaf module: it imports nothing of crmlab.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

KEY_ENVIRONMENT = "CRMLAB_PSEUDONYM_KEY"
KEY_FILE = ".pseudonym-key"
DEFAULT_MIN_GROUP = 10
SUPPRESSED = "–"  # the figures of a suppressed row
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / "data"


def key_path(processed_dir: str | Path | None = None) -> Path:
    """Where the key file lives: ``<data_dir>/.pseudonym-key`` of the prepared dataset, else the kit's ``data/``."""
    if processed_dir is not None:
        folder = Path(processed_dir).resolve()
        if folder.parent.name == "processed":
            return folder.parent.parent / KEY_FILE
    return DEFAULT_DATA_DIR / KEY_FILE


def load_key(processed_dir: str | Path | None = None) -> bytes:
    """The pseudonym key: ``CRMLAB_PSEUDONYM_KEY`` when set, else the key file, created on first use (mode 0600)."""
    from_environment = os.environ.get(KEY_ENVIRONMENT, "")
    if from_environment:
        return from_environment.encode()
    path = key_path(processed_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two reports starting at once create one key, and the loser reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode()


def pseudonym(customer_id, key: bytes) -> str:
    """``C-`` and 16 hex digits of HMAC-SHA256(key, id as text).

    Examples
    --------
    >>> pseudonym(12000, b"k")
    'C-6e503d55cf66e94d'
    >>> pseudonym("00012000", b"k") != pseudonym(12000, b"k")
    True
    """
    return "C-" + hmac.new(key, str(customer_id).encode(), hashlib.sha256).hexdigest()[:16]


def pseudonyms(ids, key: bytes) -> pd.Series:
    """:func:`pseudonym` of each id, computed once per distinct id."""
    ids = pd.Series(ids)
    distinct = pd.unique(ids)
    lookup = {value: pseudonym(value, key) for value in distinct}
    return ids.map(lookup).rename("pseudonym")


def small(counts, min_group: int) -> np.ndarray:
    """Primary suppression: groups with at least one but fewer than ``min_group`` customers."""
    values = np.asarray(counts, dtype=float)
    return (values > 0) & (values < min_group)


def suppressed_rows(counts, min_group: int) -> np.ndarray:
    """Rows to suppress in a table of groups whose total is published.

    A single suppressed row could be recomputed as the total less the
    others, so the next smallest row goes too.

    Examples
    --------
    >>> suppressed_rows([9, 10, 40], 10).tolist()
    [True, True, False]
    >>> suppressed_rows([12, 10, 40], 10).tolist()
    [False, False, False]
    """
    values = np.asarray(counts, dtype=float)
    mask = small(values, min_group)
    if mask.sum() == 1 and len(values) > 1:
        others = np.where(mask | (values == 0), np.inf, values)
        mask[int(np.argmin(others))] = True
    return mask


def suppressed_cells(counts: pd.DataFrame, min_group: int) -> pd.DataFrame:
    """Cells to suppress in a crosstab of customer counts whose row and column totals are published.

    Primary: cells under ``min_group`` (zero cells reveal no one and stay).
    Secondary: while a row or a column has exactly one suppressed cell, its
    smallest other non-zero cell is suppressed too; when all its other cells
    are zero, the whole row or column is (its zeros would place the group).

    Examples
    --------
    >>> grid = pd.DataFrame([[9, 30, 40], [25, 30, 40]])
    >>> suppressed_cells(grid, 10).values.tolist()
    [[True, True, False], [True, True, False]]
    """
    values = counts.to_numpy(dtype=float)
    mask = small(values, min_group)
    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            lines = mask if axis == 1 else mask.T
            data = values if axis == 1 else values.T
            for i in range(lines.shape[0]):
                # A line needs a second suppressed cell when its only one hides someone (a zero hides no one).
                if lines[i].sum() != 1 or data[i][lines[i]][0] == 0:
                    continue
                candidates = np.where(lines[i] | (data[i] == 0), np.inf, data[i])
                before = lines[i].copy()
                if np.isfinite(candidates).any():
                    lines[i, int(np.argmin(candidates))] = True
                else:
                    # Every other cell is zero: the zeros themselves tell where the group is.
                    lines[i, :] = True
                # A line of one cell has no partner to hide; the loop ends once nothing changes.
                changed = changed or bool((lines[i] != before).any())
    return pd.DataFrame(mask, index=counts.index, columns=counts.columns)


class Sharing:
    """What a leadership page may show: pseudonyms for individuals, nothing of a group under ``min_group_customers``.

    Parameters
    ----------
    min_group_customers : int
        Groups smaller than this are suppressed; 0 for an internal run.
    processed_dir : path, optional
        The prepared dataset; its data folder holds the key file.

    Examples
    --------
    >>> sharing = Sharing(min_group_customers=10)
    >>> sharing.table(pd.DataFrame({"customers": [9, 7, 10], "revenue": [1.0, 2.0, 3.0]}), "customers")
           customers revenue
    0  fewer than 10       –
    1  fewer than 10       –
    2             10     3.0
    """

    def __init__(self, *, min_group_customers: int = DEFAULT_MIN_GROUP, processed_dir: str | Path | None = None):
        self.min_group_customers = min_group_customers
        self.processed_dir = processed_dir
        self._key: bytes | None = None

    @property
    def internal(self) -> bool:
        return self.min_group_customers <= 0

    @property
    def label(self) -> str:
        return f"fewer than {self.min_group_customers}"

    def _key_bytes(self) -> bytes:
        if self._key is None:
            self._key = load_key(self.processed_dir)
        return self._key

    # Individuals

    def with_pseudonyms(self, table: pd.DataFrame, column: str = "customer_id") -> pd.DataFrame:
        """An export with a ``pseudonym`` column beside the customer id (for those who hold the exports)."""
        out = table.copy()
        position = list(out.columns).index(column) + 1
        out.insert(position, "pseudonym", pseudonyms(out[column], self._key_bytes()).to_numpy())
        return out

    def pseudonymized(self, table: pd.DataFrame) -> pd.DataFrame:
        """A table indexed by customer id, shown with pseudonyms instead (for a page)."""
        out = table.copy()
        out.index = pd.Index(pseudonyms(out.index, self._key_bytes()).to_numpy(), name="customer")
        return out

    # Groups

    def rows_mask(self, counts) -> np.ndarray:
        if self.internal:
            return np.zeros(len(counts), dtype=bool)
        return suppressed_rows(counts, self.min_group_customers)

    def table(self, table: pd.DataFrame, count_column: str, shown: pd.DataFrame | None = None) -> pd.DataFrame:
        """``shown`` (default ``table``) with the rows of small groups suppressed.

        ``table`` holds the raw counts in ``count_column``; ``shown`` is what
        the page displays (e.g. the formatted table, same rows and order):
        its count becomes "fewer than 10", its other figures a dash.
        """
        shown = table if shown is None else shown
        mask = self.rows_mask(table[count_column])
        if not mask.any():
            return shown
        out = shown.astype(object).copy()
        rows = np.flatnonzero(mask)
        # Columns line up by position: ``shown`` may carry formatted headers.
        for i, column in enumerate(table.columns):
            if column == count_column:
                out.iloc[rows, i] = self.label
            elif pd.api.types.is_numeric_dtype(table[column]):
                out.iloc[rows, i] = SUPPRESSED  # labels and suggested actions reveal no one and stay
        return out

    def counts(self, counts: pd.Series) -> pd.Series:
        """Counts for a chart, with suppressed groups as missing (no bar, no dot)."""
        return counts.where(~self.rows_mask(counts))

    def masked(self, table: pd.DataFrame, count_column: str) -> pd.DataFrame:
        """A table for a chart: the figures of suppressed rows missing (no bar, no dot)."""
        mask = self.rows_mask(table[count_column])
        if not mask.any():
            return table
        out = table.copy()
        numeric = [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])]
        out[numeric] = out[numeric].astype(float)
        out.loc[mask, numeric] = np.nan
        return out

    def matrix(self, counts: pd.DataFrame) -> pd.DataFrame:
        """A crosstab of customer counts for a page: suppressed cells missing (shown as "fewer than 10")."""
        if self.internal:
            return counts
        return counts.astype(float).mask(suppressed_cells(counts, self.min_group_customers))

    def shares(self, shares: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
        """Shares of each column's customers (e.g. a cluster's, per attribute value), small cells missing.

        A column whose own total is under ``min_group_customers`` is a small
        group as a whole: all of it goes, and an ``(n=...)`` in its label
        becomes "(fewer than 10)".
        """
        if self.internal:
            return shares
        mask = suppressed_cells(counts, self.min_group_customers).reindex_like(shares).fillna(False)
        small_columns = counts.sum(axis=0) < self.min_group_customers
        mask.loc[:, small_columns.to_numpy()] = True
        out = shares.mask(mask)
        out.columns = [re.sub(r"\(n=\d+\)", f"({self.label})", str(c)) if small else c
                       for c, small in zip(out.columns, small_columns)]
        return out

    def rows(self, table: pd.DataFrame, count_column: str) -> pd.DataFrame:
        """Only the rows describing at least ``min_group_customers`` (lists of patterns: rules, sequences)."""
        if self.internal:
            return table
        return table[table[count_column] >= self.min_group_customers]

    def note(self, what: str, *listed: tuple[pd.DataFrame, pd.DataFrame]) -> str:
        """One sentence on what :meth:`rows` left out, from (all rows, rows shown) pairs; empty when nothing was."""
        hidden = sum(len(everything) - len(shown) for everything, shown in listed)
        if hidden <= 0:
            return ""
        return (f"{hidden:,} {what} involving fewer than {self.min_group_customers} customers or baskets are not "
                "shown, so that no small group can be singled out.")
