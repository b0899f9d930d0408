"""Declared parameter constraints, in the manner of scikit-learn's ``_parameter_constraints``.

Each analysis class declares, once, what each constructor parameter accepts::

    _parameter_constraints = {
        "model": [Options({"bgnbd", "pareto_nbd", "mbgnbd"})],
        "horizon_months": [Interval(int, 1, None)],
        "calibration_end": [DateLike(), None],
    }

A value is valid when it satisfies any constraint of its list (``None`` in the
list allows None). :func:`check_parameters` returns every problem, so a
config with three mistakes is told about all three at once. The same
declarations check values at ``fit`` time (:func:`validate`), so a script
that builds an analysis by hand gets the same messages as ``crmlab run``.

A leaf module: it imports nothing of crmlab.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


class Constraint:
    """One acceptable kind of value; ``describe`` says it in words for messages."""

    def accepts(self, value: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (``Options({"log1p", "yeo-johnson"})``)."""

    values: frozenset | set | tuple

    def accepts(self, value):
        try:
            return value in self.values and not isinstance(value, bool)
        except TypeError:  # unhashable, e.g. a list
            return False

    def describe(self):
        return "one of " + ", ".join(repr(v) for v in sorted(self.values, key=str))


@dataclass(frozen=True)
class Interval(Constraint):
    """A number of ``kind`` (``int`` or ``float``) between ``left`` and ``right``.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``; ``None``
    bounds are open-ended. An ``int`` is accepted where a ``float`` is asked
    for (YAML reads ``rate: 1`` as an integer).
    """

    kind: type
    left: float | None = None
    right: float | None = None
    closed: str = "both"

    def accepts(self, value):
        if not (_is_int(value) if self.kind is int else _is_real(value)):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def describe(self):
        name = "an integer" if self.kind is int else "a number"
        lo = "(" if self.closed in ("right", "neither") else "["
        hi = ")" if self.closed in ("left", "neither") else "]"
        left = "-inf" if self.left is None else f"{self.left:g}"
        right = "inf" if self.right is None else f"{self.right:g}"
        if self.left is None and self.right is None:
            return name
        return f"{name} in {lo}{left}, {right}{hi}"


@dataclass(frozen=True)
class OfType(Constraint):
    """Any value of a plain Python type (``OfType(str)``, ``OfType(bool)``)."""

    kind: type

    def accepts(self, value):
        # True is an int to Python, but `k: true` in a config is a mistake, not the number 1.
        if self.kind in (int, float) and isinstance(value, bool):
            return False
        return isinstance(value, self.kind)

    def describe(self):
        return {str: "text", bool: "true or false", dict: "a mapping", list: "a list"}.get(
            self.kind, self.kind.__name__)


@dataclass(frozen=True)
class DateLike(Constraint):
    """A date: ``2017-07-02`` in YAML, or text ``pandas.Timestamp`` can read."""

    def accepts(self, value):
        if isinstance(value, (date, datetime)):
            return True
        if not isinstance(value, str):
            return False
        try:
            datetime.fromisoformat(value.strip())
        except ValueError:
            return False
        return True

    def describe(self):
        return "a date like 2017-07-02"


@dataclass(frozen=True)
class Matches(Constraint):
    """Text that matches ``pattern`` whole; ``description`` says what that is (``"a table name such as db.sales"``)."""

    pattern: str
    description: str

    def accepts(self, value):
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None

    def describe(self):
        return self.description


@dataclass(frozen=True)
class Satisfies(Constraint):
    """A value ``test`` accepts without raising; for checks a library makes (an encoding, a time zone)."""

    test: Any
    description: str

    def accepts(self, value):
        try:
            return bool(self.test(value))
        except Exception:  # the library's own refusal, whatever its type, means "not allowed"
            return False

    def describe(self):
        return self.description


@dataclass(frozen=True)
class ListOf(Constraint):
    """A list whose every element satisfies ``item``; optionally of a fixed length, increasing, non-empty."""

    item: Constraint
    length: int | None = None
    increasing: bool = False
    min_length: int = 0

    def accepts(self, value):
        if not isinstance(value, (list, tuple)):
            return False
        if self.length is not None and len(value) != self.length:
            return False
        if len(value) < self.min_length or not all(self.item.accepts(v) for v in value):
            return False
        return not self.increasing or all(a < b for a, b in zip(value, value[1:]))

    def describe(self):
        kind = "a non-empty list" if self.min_length and self.length is None else "a list"
        size = f"{self.length} " if self.length is not None else ""
        order = "increasing " if self.increasing else ""
        return f"{kind} of {size}{order}values, each {self.item.describe()}"


@dataclass(frozen=True)
class MappingOf(Constraint):
    """A mapping whose keys satisfy ``key`` and values satisfy ``value``."""

    key: Constraint
    value: Constraint

    def accepts(self, value):
        return isinstance(value, dict) and all(self.key.accepts(k) and self.value.accepts(v)
                                               for k, v in value.items())

    def describe(self):
        return f"a mapping from {self.key.describe()} to {self.value.describe()}"


def _normalise(constraint: Any) -> Constraint | None:
    if constraint is None or isinstance(constraint, Constraint):
        return constraint
    if isinstance(constraint, type):
        return OfType(constraint)
    raise TypeError(f"not a constraint: {constraint!r}")


def describe(constraints: list) -> str:
    """All the constraints of one parameter in words, e.g. ``one of 'a', 'b' or None``."""
    words = [("None" if c is None else _normalise(c).describe()) for c in constraints]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def satisfies(value: Any, constraints: list) -> bool:
    return any((value is None) if c is None else _normalise(c).accepts(value) for c in constraints)


def check_parameters(where: str, constraints: dict[str, list], params: dict[str, Any], *,
                     noun: str = "parameter") -> list[str]:
    """Every problem with ``params`` against ``constraints``, as messages prefixed with ``where``.

    ``noun`` names what the keys are in the message about an unknown one (a
    config section has keys, an analysis parameters).

    Examples
    --------
    >>> rules = {"k": [Interval(int, 2, None), None], "transform": [Options({"log1p", "none"})]}
    >>> check_parameters("segments", rules, {"k": "five", "transform": "log1p"})
    ["segments.k: 'five' is not allowed; expected an integer in [2, inf] or None"]
    >>> check_parameters("segments", rules, {"colour": 1})
    ["segments: unknown parameter 'colour'; known: k, transform"]
    """
    problems = []
    for key, value in params.items():
        if key not in constraints:
            problems.append(f"{where}: unknown {noun} {key!r}; known: {', '.join(constraints)}")
        elif not satisfies(value, constraints[key]):
            problems.append(f"{where}.{key}: {value!r} is not allowed; expected {describe(constraints[key])}")
    return problems


class InvalidParameterError(ValueError):
    """A constructor parameter outside its declared constraints."""


def validate(obj: Any) -> None:
    """Check an estimator's constructor parameters against its ``_parameter_constraints``.

    Raises
    ------
    InvalidParameterError
        Naming every parameter that is out of bounds.
    """
    constraints = type(obj)._parameter_constraints
    params = {name: getattr(obj, name) for name in constraints}
    problems = check_parameters(type(obj).__name__, constraints, params)
    if problems:
        raise InvalidParameterError("; ".join(problems))
