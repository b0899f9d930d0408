"""The segments report: RFM segments and k-means clusters of the same customers.

Two views of the same customers, for two uses:

- RFM segments (:mod:`crmlab.models.rfm`, shared with the baskets report's
  offers) are rule-based and stable from run to run: marketing can name a
  campaign after "At Risk" and know what it means. The rules live in one
  YAML table, ``rfm_segments.yaml``, checked on load to cover every score
  combination exactly once. Scores are quintiles of the kit's one
  ranking (:mod:`crmlab.core.ranking`).
- k-means clusters (``clusters``) are data-driven: they find the groups this
  customer base actually has, on RFM plus optional behaviour features, with k
  chosen from quality, stability and usefulness together.

:class:`SegmentationAnalysis` runs both with the notebook's parameters.
"""

from crmlab.analyses.segments.analysis import SegmentationAnalysis

__all__ = ["SegmentationAnalysis"]
