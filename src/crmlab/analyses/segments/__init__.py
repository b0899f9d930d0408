"""The segments report: RFM segments and k-means clusters of the same customers."""

from crmlab.analyses.segments.analysis import SegmentationAnalysis

__all__ = ["SegmentationAnalysis"]
