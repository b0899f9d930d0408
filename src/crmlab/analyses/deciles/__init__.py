"""The deciles report: customer value deciles, ABC classes, concentration and migration."""

from crmlab.analyses.deciles.analysis import CustomerValueAnalysis

__all__ = ["CustomerValueAnalysis"]
