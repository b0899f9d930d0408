"""The data checks, written once: what each looks at, what it says, and whether it refuses the file.

Both ways of preparing a file read this table: the pandas path
(:func:`crmlab.data.validation.validate`) and the DuckDB path
(:func:`crmlab.data.streaming.prepare_streaming`). So a check says the same
words, and counts the same lines, whichever path prepares the file; a test
runs every case both ways.

A check that **refuses** stops the preparation: every refusing problem is
listed at once, and nothing is written. A check that **sets aside** drops the
lines from the canonical table, counts them under its name in the manifest's
``dropped`` (the profile report shows them), and says so in a note; where the
dataset's policy keeps such lines (``duplicates: keep``, ``returns: keep``),
the check's ``kept`` note says that instead.
"""

from __future__ import annotations

from dataclasses import dataclass

REFUSE = "refuse"
SET_ASIDE = "set aside"

# Columns read as numbers, however the file writes them (decimal commas, exponents).
AMOUNT_COLUMNS = ("quantity", "revenue", "unit_price", "discount", "cost")
# A negative value in one of these marks a return or a cancellation.
RETURN_COLUMNS = ("quantity", "revenue")

# The canonical table's columns, in order (those the source lacks are left out), and its row order.
TABLE_COLUMNS = ("customer_id", "order_id", "order_date", "product_id", "category", "department", "quantity",
                 "revenue", "discount", "cost")
TABLE_ORDER = ("order_date", "customer_id", "order_id")

# Fields of the order, not of the line: an export may write them on an order's first line only (Shopify
# does), and the order's other lines take them from there.
ORDER_FIELDS = ("customer_id", "order_date")

NO_ORDER_ID_NOTE = "The source has no order id: one customer's lines on one day form one order."


@dataclass(frozen=True)
class Check:
    """One data check.

    Attributes
    ----------
    name : str
        Its key; for a check that sets aside, the key of its count in the manifest's ``dropped``.
    columns : tuple of str
        The canonical columns it looks at (empty: whole lines).
    message : str
        What the offending rows do, completing "column 'x': N of M rows ...", with ``str.format`` fields.
    action : str
        ``REFUSE`` or ``SET_ASIDE``.
    meaning : str
        For a check that sets aside: what the lines are, as the profile report lists them.
    kept : str
        For a check whose lines a policy may keep: the note when they are kept.
    """

    name: str
    columns: tuple[str, ...]
    message: str
    action: str
    meaning: str = ""
    kept: str = ""

    @property
    def label(self) -> str:
        """How a message names the columns of a whole-line check."""
        return "/".join(self.columns) if self.columns else "all columns"

    def says(self, **values) -> str:
        return self.message.format(**values)


CHECKS: dict[str, Check] = {check.name: check for check in (
    Check("empty", ("customer_id",), "the input is empty: it has no data rows", REFUSE),
    Check("unparseable_date", ("order_date",), "have a missing or unparseable date{how}", REFUSE),
    Check("non_numeric_amount", AMOUNT_COLUMNS, "have a missing or non-numeric amount", REFUSE),
    Check("negative_discount", ("discount",),
          "have a negative discount (a discount is the amount taken off, >= 0)", REFUSE),
    Check("after_observation_end", ("order_date",), "are dated after the observation end {end}", REFUSE),
    Check("after_today", ("order_date",),
          "are dated after today ({today}), the day of the run; if the extract really ends later, set "
          "dataset.observation_end", REFUSE),
    Check("missing_customer_id", ("customer_id",), "have no customer id (guest lines) and were dropped", SET_ASIDE,
          meaning="guest lines without a customer id"),
    Check("duplicate", (), "are exact duplicates of an earlier line and were dropped", SET_ASIDE,
          meaning="exact duplicate lines",
          kept="{count:,} exact duplicate lines were kept (duplicates: keep): without order or product ids they "
               "are genuine repeat purchases of the same amount."),
    Check("return", RETURN_COLUMNS,
          "are returns or cancellations (negative) and were kept out of purchase counts (saved to {returns})",
          SET_ASIDE, meaning="returns and cancellations (negative quantity or revenue)",
          kept="{count:,} return lines were kept as negative lines (returns: keep)."),
    Check("order_disagrees", ORDER_FIELDS,
          "belong to orders that leave it blank on some lines and give two different values on others, so the "
          "blank lines cannot take the order's (one order is one customer on one day)",
          REFUSE),
    Check("nothing_left", ("customer_id",),
          "none of the {total:,} lines remain after dropping guest lines, duplicates and returns", REFUSE),
)}

# What each set-aside reason means, for the manifest and the profile report.
DROP_REASONS = {name: check.meaning for name, check in CHECKS.items() if check.action == SET_ASIDE}


def filled_note(filled: dict[str, int], labels: dict[str, str]) -> str:
    """What the profile says of fields taken from another line of the same order."""
    parts = [f"{n:,} lines took their {labels.get(column, column)} from another line of their order"
             for column, n in filled.items() if n]
    return "; ".join(parts) + " (the export writes it on an order's first line only)."
