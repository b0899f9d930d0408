"""Figures in words: counts, shares, amounts and table headers as people read them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def number(value: float) -> str:
    """``1234.4`` -> ``'1,234'``."""
    return f"{value:,.0f}"


def pct(share: float, digits: int = 0) -> str:
    """A share in [0, 1] as a percentage: ``0.514`` -> ``'51%'``."""
    return f"{share * 100:.{digits}f}%"


def money(value: float, currency: str = "$") -> str:
    """Amounts as people read them: ``$950``, ``$12,345``, ``$4.6M``."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1e6:
        return f"{sign}{currency}{value / 1e6:,.1f}M"
    if value >= 1e4:
        return f"{sign}{currency}{value:,.0f}"
    return f"{sign}{currency}{value:,.2f}" if value % 1 else f"{sign}{currency}{value:,.0f}"


def money_column(values, currency: str = "$") -> list[str]:
    """A column of amounts in one format, chosen by its largest value, so magnitudes compare at a glance.

    Examples
    --------
    >>> money_column([1_612_345.0, 892_995.0])
    ['$1.61M', '$0.89M']
    >>> money_column([12_345.6, 950.2])
    ['$12,346', '$950']
    >>> money_column([19.5, 3.25])
    ['$19.50', '$3.25']
    """
    numbers = [v for v in values if isinstance(v, (int, float, np.number)) and math.isfinite(v)]
    largest = max((abs(v) for v in numbers), default=0.0)

    def one(v):
        if not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
            return "n/a"
        sign = "-" if v < 0 else ""
        if largest >= 1e6:
            return f"{sign}{currency}{abs(v) / 1e6:,.2f}M"
        if largest >= 1e3:
            return f"{sign}{currency}{abs(v):,.0f}"
        return f"{sign}{currency}{abs(v):,.2f}"

    return [one(v) for v in values]


def format_value(value: Any, kind: str, currency: str = "$") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return {"number": lambda v: number(v), "money": lambda v: money(v, currency),
            "share": lambda v: pct(v), "percent_points": lambda v: f"{v:.1f}%",
            "ratio": lambda v: f"{v:.2f}"}.get(kind, str)(value)


# Words that stay in capitals (or take a fixed form) in table headers.
_HEADER_WORDS = {"clv": "CLV", "rfm": "RFM", "abc": "ABC", "aov": "AOV", "mae": "MAE", "rmse": "RMSE",
                 "alive": "P(alive)", "id": "ID", "v": "V", "x": "X", "y": "Y"}


def header(name: Any) -> Any:
    """A column name as a table header: ``mean_p_alive`` -> ``Mean P(alive)``, ``clv_share`` -> ``CLV share``.

    Examples
    --------
    >>> [header(n) for n in ["mean_p_alive", "clv_share", "cramers_v", "customers_x_then_y", 3]]
    ['Mean P(alive)', 'CLV share', 'Cramers V', 'Customers X then Y', 3]
    """
    if not isinstance(name, str):
        return name
    words = name.replace("p_alive", "alive").split("_")
    words = [_HEADER_WORDS.get(w, w) for w in words]
    first = words[0]
    words[0] = first if first != first.lower() else first[:1].upper() + first[1:]
    return " ".join(words)
