"""The profile report: who the customers are and what the data holds."""

from crmlab.analyses.profile.analysis import ProfileAnalysis

__all__ = ["ProfileAnalysis"]
