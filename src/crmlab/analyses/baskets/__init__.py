"""The baskets report: what sells together (rules) and what sells next (sequences)."""

from crmlab.analyses.baskets.analysis import BasketAnalysis

__all__ = ["BasketAnalysis"]
