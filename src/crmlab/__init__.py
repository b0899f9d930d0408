"""crmlab: a Jupyter notebook research kit for CRM analytics.

One module per concern. Leaves: ``config`` (the config schema), ``catalog``
(the reports, what they need, their order), ``constraints`` (declared
parameter constraints), ``ranking`` (one rule for ranking and cutting by
share), ``locking`` (one run at a time per dataset), ``availability`` (when
the data cannot support a report), ``privacy`` (pseudonyms and small-group
suppression for leadership pages), ``share`` (the bundle to send). The data
layer: ``readers`` (a user's export as it really comes), ``data``
(sources, validation, the canonical table, the one writer of files) and
``engine`` (the per-line queries, written once with Ibis, run by DuckDB or
Spark, returning per-customer, per-item and per-day tables). One
analysis per module or package: ``profile``, ``clv``, ``deciles``,
``segments``, ``baskets``; with ``plotting`` (charts) and ``report`` (what
notebooks use to speak). ``parameters`` (the config checked against the
analyses), ``pages`` (HTML), ``runner`` and ``cli`` (running the notebooks
with papermill).
"""

__version__ = "0.1.0"
