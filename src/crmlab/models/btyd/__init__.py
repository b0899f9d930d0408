"""Buy-till-you-die models: per-customer summaries (``summaries``), BG/NBD, Pareto/NBD and Gamma-Gamma fits
(``fitting``), lifetime value (``scoring``) and the bootstrap over customers (``bootstrap``)."""
