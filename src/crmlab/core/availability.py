"""When the data cannot support an analysis: a result to report, not a failure.

An analysis raises :class:`NotAvailable` from ``fit`` when the data is too
thin for it (one customer, every purchase on one day, no repeat purchases,
too few baskets with two items, a model that cannot be fitted). The notebook
shows a short page saying what was missing and what data would make the
report possible (:func:`crmlab.publishing.metrics.not_available_page`), records
``{"status": "not_available", "reason": ...}`` in ``metrics.json``, and the
run goes on. Anything else an analysis raises is still a failure.

A leaf module: analyses, the notebooks' helpers and the runner all read it.
"""

from __future__ import annotations


class NotAvailable(Exception):
    """The data cannot support this analysis.

    Parameters
    ----------
    reason : str
        What is missing, in the data's own terms ("all 1 customer's purchases ...").
    remedy : str
        What data would make the analysis possible.

    Examples
    --------
    >>> error = NotAvailable("only 3 customers", "at least 30 customers")
    >>> error.page()
    '**Not available for this dataset:** only 3 customers.\\n\\n**What would make it possible:** at least 30 customers.'
    """

    def __init__(self, reason: str, remedy: str):
        self.reason, self.remedy = reason.rstrip("."), remedy.rstrip(".")
        super().__init__(f"{self.reason}. Needed: {self.remedy}.")

    def page(self) -> str:
        """The Markdown the report shows instead of its figures."""
        return (f"**Not available for this dataset:** {self.reason}.\n\n"
                f"**What would make it possible:** {self.remedy}.")

    def metrics(self) -> dict[str, str]:
        """What ``metrics.json`` records under the report's key."""
        return {"status": "not_available", "reason": self.reason, "remedy": self.remedy}

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: in a notebook the page above says it all.
        return [f"NotAvailable: {self}", "The remaining cells of this report are not run."]
