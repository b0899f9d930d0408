"""crmlab: a Jupyter notebook research kit for CRM analytics.

The package is seven layers, each a folder, each importing only those below it
(docs/architecture.md; tests/unit/test_layers.py holds the rules):

- ``core``: the config, the catalog of reports, constraints, ranking, words, the one writer of files;
- ``engine``: the per-line queries, written once with Ibis, run by DuckDB or Spark;
- ``data``: a user's export read, checked and prepared into the canonical table;
- ``models``: BTYD fits and scoring, itemset mining and rules, which several reports use;
- ``analyses``: one package per report (profile, clv, deciles, segments, baskets);
- ``publishing``: what leaves a notebook: display, metrics, pages, privacy, the bundle to send;
- ``running``: parameters checked, the runner, locking, the command line.
"""

__version__ = "0.1.0"


def open(config, *, wait: bool = True):  # noqa: A001 - crmlab.open reads as "open this config's data"
    """The prepared data of a config, for a notebook: ``crmlab.open("configs/my_shop.yaml")``.

    Returns a :class:`crmlab.running.handle.ConfigData`: ``.transactions()``
    (pandas), ``.lines()`` (an Ibis table on the config's engine),
    ``.customers()`` (one row per customer) and ``.parameters(report)``, so
    that ``CLVAnalysis(**shop.parameters("clv")).fit(shop.lines())`` gives the
    report's figures. The data is prepared first when it is missing or stale.
    """
    from crmlab.running.handle import open_config

    return open_config(config, wait=wait)
