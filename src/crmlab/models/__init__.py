"""Algorithms more than one report needs: BTYD fitting and scoring (``btyd``), itemset encoding, mining and
rules (``itemsets``). Imports ``crmlab.core`` and ``crmlab.engine`` only, so an analysis that needs them never
imports another analysis."""
