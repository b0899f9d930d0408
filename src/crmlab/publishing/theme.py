"""The look of every chart in the reports, applied by the notebook's first call, never by an import."""

from __future__ import annotations


def apply_theme() -> None:
    """seaborn's white grid at notebook scale, for every chart drawn after it.

    Called at the top of each report notebook, so that importing crmlab in an
    analyst's own notebook leaves their matplotlib settings alone.
    """
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
