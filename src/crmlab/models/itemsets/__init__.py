"""Frequent itemsets and association rules, with the baskets fed the way that decides speed and memory.

How the baskets reach the miner decides speed and memory more than the
algorithm does:

1. :func:`~crmlab.models.itemsets.encoding.encode` builds the basket x item
   matrix straight from integer codes (no ``pd.crosstab``), drops items below
   the minimum support before any matrix exists, and keeps only baskets with
   two or more frequent items for mining (single-item supports come from
   exact counts). The matrix is sparse: at 150M lines it holds 11M baskets,
   and a dense copy (with the transposed one the miner reads) would take
   3.3 GB.
2. :func:`~crmlab.models.itemsets.mining.mine` runs a bit-set Eclat: each
   frequent item's baskets as packed bits (205 MB for 149 items in 11M
   baskets), the itemsets walked depth first, each candidate counted by AND
   and popcount, many candidates in one NumPy call. The first items of the walk are shared
   among forked processes on large inputs (:mod:`crmlab.models.parallel`).
   mlxtend's miners remain a parameter away, with the same itemsets.
3. :func:`~crmlab.models.itemsets.rules.association_rules` derives rules from
   exact integer counts, so a rule that sits exactly on a threshold
   (16/20 = 0.8) is kept.
"""
