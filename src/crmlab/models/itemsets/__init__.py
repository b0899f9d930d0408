"""Frequent itemsets and association rules, fed to mlxtend the way that decides speed and memory.

The mining is mlxtend's; this package decides how mlxtend is fed, because
that decides speed and memory more than the algorithm does:

1. :func:`~crmlab.models.itemsets.encoding.encode` builds the basket x item
   matrix straight from integer codes (no ``pd.crosstab``), drops items below
   the minimum support before any matrix exists, and keeps only baskets with
   two or more frequent items for mining (single-item supports come from
   exact counts). The matrix is sparse: at 150M lines it holds 11M baskets,
   and a dense copy (with the transposed one the miner reads) would take
   3.3 GB.
2. :func:`~crmlab.models.itemsets.mining.mine` runs mlxtend's H-Mine one item
   at a time on that item's projected baskets, restricted to the items after
   it (items ordered from rarest to most common), instead of handing the whole
   matrix to ``hmine()``. Same itemsets, a fraction of the work; only one
   projection at a time is dense. The items are shared among forked processes
   (:mod:`crmlab.models.parallel`).
3. :func:`~crmlab.models.itemsets.rules.association_rules` derives rules from
   exact integer counts, so a rule that sits exactly on a threshold
   (16/20 = 0.8) is kept.
"""
