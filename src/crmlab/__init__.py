"""crmlab: a Jupyter notebook research kit for CRM analytics.

One module per concern: ``config`` (the config schema), ``data`` (sources,
validation, the canonical table), ``profile`` (the customer records profile),
``deciles`` (customer value deciles, ABC, concentration, migration), ``plotting`` (charts), ``report`` (metrics, captions, HTML export), ``runner``
and ``cli`` (running the notebooks with papermill).
"""

__version__ = "0.1.0"
