"""The CLV report: BG/NBD (or a sibling) and Gamma-Gamma, validated on a holdout, valued and acted on."""

from crmlab.analyses.clv.analysis import CLVAnalysis

__all__ = ["CLVAnalysis"]
