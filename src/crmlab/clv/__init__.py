"""Customer lifetime value: BG/NBD (or Pareto/NBD, MBG/NBD) with Gamma-Gamma spend.

One module per concern, in the order of the analysis (``summaries``,
``models``, ``valuation``, ``validation``, ``analysis``, ``wording``); the
names below are all re-exported here, so ``from crmlab import clv`` is the
whole surface:

1. :func:`rfm_summary` and :func:`calibration_holdout_summary` turn
   transactions into per-customer sufficient statistics, with the definitions
   of ``lifetimes.utils.summary_data_from_transaction_data`` but vectorised.
2. :func:`compress` collapses customers with the same statistics into one
   weighted row; :func:`fit_purchase_model` and :func:`fit_spend_model` fit on
   those rows, climbing :data:`FIT_LADDER` until a step succeeds, so a
   ``ConvergenceError`` or a NaN never reaches the report.
3. :func:`customer_predictions` and :func:`lifetime_value` score customers;
   :func:`value_tiers`, :func:`relationship_levels` and :func:`at_risk` turn
   the scores into lists marketing can act on.
4. :func:`holdout_by_frequency`, :func:`cumulative_repeat_transactions`,
   :func:`period_transactions` and :func:`holdout_errors` check the model
   against the holdout period.

:class:`CLVAnalysis` runs all of it with the notebook's parameters.
"""

from .analysis import CLVAnalysis, default_calibration_end
from .models import (FIT_LADDER, MODELS, FitFailed, FitResult, customer_predictions, expected_spend,
                     fit_purchase_model, fit_spend_model, spend_correlation)
# Private, but tests/test_clv.py checks it against lifetimes' likelihood by this name.
from .models import _BGNBDLikelihood, _GammaGammaLikelihood  # noqa: F401
from .summaries import (DAYS_PER_MONTH, TIME_UNITS, calibration_holdout_summary, calibration_statistics, compress,
                        rfm_summary)
from .uncertainty import ValueDraws, value_draws
from .validation import (cumulative_repeat_transactions, frequency_recency_matrix, holdout_by_frequency,
                         holdout_errors, holdout_spend_by_group, holdout_spend_errors, period_transactions)
from .valuation import (DEFAULT_CONTACT_COSTS, RELATIONSHIP_LEVELS, at_risk, lifetime_value, lifetime_value_details,
                        relationship_levels, value_tiers)
from .wording import (cumulative_caption, fit_sentence, headline, holdout_caption, holdout_sentence,
                      holdout_spend_sentence, interval_sentence, model_sentence, p_alive_caption, period_caption,
                      refit_sentence, spend_check_sentence)

__all__ = [
    "CLVAnalysis", "default_calibration_end", "FIT_LADDER", "MODELS", "FitFailed", "FitResult", "customer_predictions",
    "expected_spend", "fit_purchase_model", "fit_spend_model", "spend_correlation", "DAYS_PER_MONTH", "TIME_UNITS",
    "calibration_holdout_summary", "calibration_statistics", "compress", "rfm_summary",
    "cumulative_repeat_transactions", "frequency_recency_matrix", "holdout_by_frequency", "holdout_errors",
    "period_transactions", "holdout_spend_by_group", "holdout_spend_errors", "ValueDraws", "value_draws",
    "DEFAULT_CONTACT_COSTS", "RELATIONSHIP_LEVELS", "at_risk", "lifetime_value", "lifetime_value_details",
    "relationship_levels", "value_tiers", "cumulative_caption", "fit_sentence", "headline", "holdout_caption",
    "holdout_sentence", "holdout_spend_sentence", "interval_sentence", "model_sentence", "p_alive_caption",
    "period_caption", "refit_sentence", "spend_check_sentence",
]
