"""The one catalog of reports: what each report is called, shows, writes and needs.

A leaf module: it imports nothing of crmlab, so the config, the runner and
the HTML writer can all read it without an import circle. Each report names
its analysis class as ``"module:Class"``; the runner imports it only when it
checks a config's parameters against the class's declared constraints.

``needs`` are soft: ``segments`` reads the CLV export when ``clv`` runs in
the same run, so ``clv`` must finish first; with ``--only segments`` the
report runs alone and says that CLV is missing. The run order follows from
the needs (:func:`run_order`); reports without a path between them may run
at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Report:
    """One report of the kit.

    Parameters
    ----------
    name : str
        The notebook's file stem and the key of its figures in ``metrics.json``.
    title : str
        The page title and the heading of its index card.
    analysis : str
        ``"module:Class"`` of the analysis whose constructor takes the
        notebook's parameters.
    card : tuple of (metrics key, label, kind)
        The index card's figures (a label may name another figure in braces, filled by
        :meth:`card_figures`); kind is ``number``, ``money``, ``share``,
        ``percent_points`` or ``ratio``.
    exports : tuple of str
        The files the report writes into ``<run>/exports/``.
    needs : tuple of str
        Reports whose exports it reads when they run in the same run.
    inputs : tuple of (tuple of str, str, str)
        Canonical columns the report cannot do without: each entry is a
        group of columns of which the data must have at least one, what is
        missing when it has none, and what would make the report possible.
        A report whose inputs are missing is not run.
    seconds : float
        About how long the report takes on complete_journey (2 cores, side
        by side with another): only for starting the longest work first in a
        config's first run (later runs use the previous run's times).
    """

    name: str
    title: str
    analysis: str
    card: tuple[tuple[str, str, str], ...] = ()
    exports: tuple[str, ...] = ()
    needs: tuple[str, ...] = field(default_factory=tuple)
    inputs: tuple[tuple[tuple[str, ...], str, str], ...] = ()
    seconds: float = 5.0

    def card_figures(self, figures: dict) -> list[tuple[str, str, str]]:
        """The card's (key, label, kind), each label's ``{figure}`` filled from ``figures`` (the report's metrics).

        Examples
        --------
        >>> [label for _, label, _ in REPORTS["clv"].card_figures({"horizon_months": 6})][1]
        'revenue expected in the next 6 months'
        """
        class Kept(dict):  # a figure the run did not record leaves its placeholder visible, not an error
            def __missing__(self, key):
                return "{" + key + "}"

        return [(key, label.format_map(Kept(figures)), kind) for key, label, kind in self.card]

    def missing_inputs(self, columns) -> tuple[str, str] | None:
        """Why the report cannot run on a table with ``columns`` and what would fix it, or None when it can.

        Examples
        --------
        >>> REPORTS["baskets"].missing_inputs(["customer_id", "order_id", "order_date", "revenue"])[0]
        'this dataset has no product or category column, so there are no items to find in baskets'
        >>> REPORTS["baskets"].missing_inputs(["customer_id", "product_id"]) is None
        True
        """
        for group, reason, remedy in self.inputs:
            if not any(column in columns for column in group):
                return reason, remedy
        return None


# The files reports write into <run>/exports/, by stem: written once here, for the notebooks that write them,
# the reports that read another's, and the catalog entries below.
CUSTOMERS = "customers"
CUSTOMER_CLV = "customer_clv"
CLV_AT_RISK = "clv_at_risk"
CUSTOMER_VALUES = "customer_values"
CUSTOMER_SEGMENTS = "customer_segments"
BASKET_RULES = "basket_rules"
BASKET_SEQUENCES = "basket_sequences"
NEXT_BEST_OFFERS = "next_best_offers"
CUSTOMER_CHURN = "customer_churn"
CHURN_HOLDOUT = "churn_holdout"


def _files(stem: str, *suffixes: str) -> tuple[str, ...]:
    return tuple(stem + suffix for suffix in suffixes)


REPORTS: dict[str, Report] = {report.name: report for report in (
    Report("profile", "Customer records profile", "crmlab.analyses.profile:ProfileAnalysis",
           card=(("customers", "customers", "number"), ("orders", "orders", "number"),
                 ("revenue", "revenue", "money")),
           exports=_files(CUSTOMERS, ".parquet"), seconds=4),
    Report("clv", "Customer lifetime value", "crmlab.analyses.clv:CLVAnalysis",
           card=(("clv_total", "predicted future value", "money"),
                 ("outlook_revenue_total", "revenue expected in the next {horizon_months} months", "money"),
                 ("at_risk_customers", "valuable customers at risk", "number"),
                 ("holdout_error_pct", "holdout error", "percent_points")),
           exports=_files(CUSTOMER_CLV, ".parquet", ".csv") + _files(CLV_AT_RISK, ".csv", ".xlsx"), seconds=13),
    Report("deciles", "Customer value deciles", "crmlab.analyses.deciles:CustomerValueAnalysis",
           card=(("top10_revenue_share", "revenue from the top 10%", "share"),
                 ("top20_revenue_share", "revenue from the top 20%", "share"),
                 ("gini", "Gini coefficient", "ratio")),
           exports=_files(CUSTOMER_VALUES, ".parquet", ".csv"), seconds=2),
    Report("segments", "Customer segments", "crmlab.analyses.segments:SegmentationAnalysis",
           card=(("customers", "customers", "number"), ("k", "clusters", "number"),
                 ("silhouette", "silhouette", "ratio")),
           exports=_files(CUSTOMER_SEGMENTS, ".parquet", ".csv"),
           needs=("clv",), seconds=4),
    Report("baskets", "Basket rules", "crmlab.analyses.baskets:BasketAnalysis",
           card=(("baskets", "baskets", "number"), ("rules", "rules", "number"),
                 ("top_lift", "highest lift", "ratio"),
                 ("offers_hit_rate", "customers who bought an offered item (check)", "share")),
           exports=(_files(BASKET_RULES, ".parquet", ".csv") + _files(BASKET_SEQUENCES, ".parquet", ".csv")
                    + _files(NEXT_BEST_OFFERS, ".csv", ".xlsx", ".parquet")),
           inputs=((("category", "product_id", "department"),
                    "this dataset has no product or category column, so there are no items to find in baskets",
                    "a product id or category column in the file, mapped under dataset.columns"),),
           seconds=15),
    Report("retention", "Customer retention and churn", "crmlab.analyses.retention:RetentionAnalysis",
           card=(("expected_leavers", "customers likely to leave in the next {churn_horizon_days} days", "number"),
                 ("revenue_at_risk", "last year's revenue of those likely to leave", "money"),
                 ("churn_auc", "churn model AUC (test cutoff)", "ratio")),
           exports=_files(CUSTOMER_CHURN, ".csv", ".xlsx") + _files(CHURN_HOLDOUT, ".csv"), seconds=6))}

# Parameters the runner sets in every notebook; a config may not set them.
RUNNER_PARAMETERS = ("dataset", "processed_dir", "exports_dir", "metrics_path", "currency", "min_group_customers",
                     "engine_settings")


def report(name: str) -> Report:
    """The catalog entry of ``name``, or a plain one for a notebook the catalog does not know."""
    return REPORTS.get(name) or Report(name, name.replace("_", " ").capitalize(), "")


def needs_within(names: list[str] | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """For each selected report, the selected reports it must wait for."""
    chosen = set(names)
    return {name: tuple(n for n in report(name).needs if n in chosen) for name in names}


def critical_paths(names, seconds: dict[str, float]) -> dict[str, float]:
    """For each report, its expected seconds plus the longest chain of selected reports waiting for it.

    The runner starts, among the reports free to go, the one with the
    longest path first: a report others wait for goes before one of equal
    length that nothing waits for, and a long report does not start last.
    ``seconds`` gives the expected times (a report missing from it takes its
    catalog entry's ``seconds``).

    Examples
    --------
    >>> paths = critical_paths(["clv", "segments", "baskets"], {"clv": 13, "segments": 4, "baskets": 15})
    >>> paths["clv"], paths["baskets"], paths["segments"]
    (17, 15, 4)
    """
    waiting_for = {name: [n for n in names if name in needs_within(names)[n]] for name in names}
    paths: dict[str, float] = {}

    def path(name: str) -> float:
        if name not in paths:
            own = seconds[name] if name in seconds else report(name).seconds
            paths[name] = own + max((path(n) for n in waiting_for[name]), default=0)
        return paths[name]

    return {name: path(name) for name in names}


def run_order(names) -> list[str]:
    """``names`` in an order that puts every report after what it needs.

    Among reports that are free to go, the catalog's order decides, then the
    name; so the order is the same on every machine.

    Examples
    --------
    >>> run_order(["baskets", "segments", "profile", "clv", "deciles"])
    ['profile', 'clv', 'deciles', 'segments', 'baskets']
    >>> run_order(["baskets", "deciles"])
    ['deciles', 'baskets']
    """
    position = {name: i for i, name in enumerate(REPORTS)}
    waiting = needs_within(list(names))
    done: list[str] = []
    while waiting:
        ready = sorted((n for n, deps in waiting.items() if all(d in done for d in deps)),
                       key=lambda n: (position.get(n, len(position)), n))
        if not ready:
            raise ValueError(f"reports need each other in a circle: {sorted(waiting)}")
        done.append(ready[0])
        del waiting[ready[0]]
    return done
