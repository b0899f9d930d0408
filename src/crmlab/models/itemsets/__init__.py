"""Frequent itemsets and association rules: baskets x items encoded from integer codes (``encoding``), mined
with exact counts (``mining``), and rules with every threshold on integer counts (``rules``)."""
