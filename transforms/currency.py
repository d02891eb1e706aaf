"""Money in one currency: the rate table revenue is converted with, once, in staging.

Touchpoints carry revenue in the customer's currency (the demo's customers pay in EUR and USD).
staging.stg_touchpoints converts every amount into `reporting_currency` with the rates of
`currency_rates_file`, keeps what arrived as `original_revenue` / `original_currency` and the rate
used as `fx_rate`; every layer above reads the converted `revenue`, so every revenue, AOV and CLV
figure of the marts is in the reporting currency, and each revenue-bearing mart says so in its
`currency` column (quality/suites/currency.py checks both).

The file (see currency_rates.yaml, the illustrative default):

    base: EUR            # the currency the rates are quoted in
    date: 2025-01-02     # when they were taken
    rates:               # units of base per unit of the currency
      EUR: 1.0
      USD: 0.96

The reporting currency may be any currency the file lists, the base or not: amounts go through
the base (1 USD = 0.96 / 1.20 GBP when GBP is 1.20). One rate per currency, for every date.
This module reads no settings (journeys/settings.py validates with it).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_RATES_FILE = Path(__file__).resolve().parent / "currency_rates.yaml"
CODE = re.compile(r"[A-Z]{3}")
"""An ISO 4217 code as the rate table and the settings write it."""


class RatesError(ValueError):
    """A rate table that cannot be used; one line saying why."""


@dataclass(frozen=True)
class RateTable:
    base: str
    date: dt.date
    rates: dict[str, float]
    """Units of `base` per unit of each currency; the base itself is 1."""

    def to(self, reporting_currency: str) -> dict[str, float]:
        """Units of reporting_currency per unit of each currency (the reporting currency is exactly 1)."""
        if reporting_currency not in self.rates:
            raise RatesError(f"has no rate for the reporting currency {reporting_currency}; "
                             f"it lists {', '.join(sorted(self.rates))}")
        divisor = self.rates[reporting_currency]
        return {code: 1.0 if code == reporting_currency else rate / divisor for code, rate in sorted(self.rates.items())}


def _code(value, what: str) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise RatesError(f"{what} must be a 3-letter upper-case ISO 4217 code like EUR, got {value!r}")
    return value


def parse_rates(raw) -> RateTable:
    """The rate table of a parsed YAML document; RatesError naming the first problem."""
    if not isinstance(raw, dict):
        raise RatesError(f"expected a mapping with base, date and rates, got {type(raw).__name__}")
    unknown = sorted(str(k) for k in set(raw) - {"base", "date", "rates"})
    if unknown:
        raise RatesError(f"unknown key(s) {', '.join(unknown)}; known: base, date, rates")
    missing = [k for k in ("base", "date", "rates") if k not in raw]
    if missing:
        raise RatesError(f"missing {', '.join(missing)}")
    base = _code(raw["base"], "base")
    date = raw["date"]
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date.strip())
        except ValueError:
            pass
    if isinstance(date, dt.datetime):
        date = date.date()
    if not isinstance(date, dt.date):
        raise RatesError(f"date must be a date like 2025-01-02, got {raw['date']!r}")
    if not isinstance(raw["rates"], dict) or not raw["rates"]:
        raise RatesError(f"rates must be a mapping of currency code to rate, got {raw['rates']!r}")
    rates: dict[str, float] = {}
    for code, rate in raw["rates"].items():
        _code(code, "a currency")
        if (not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not math.isfinite(rate)
                or not rate > 0):
            raise RatesError(f"rate of {code} must be a finite number > 0, got {rate!r}")
        rates[code] = float(rate)
    if rates.setdefault(base, 1.0) != 1.0:
        raise RatesError(f"the base {base} must have rate 1, got {rates[base]!r}")
    return RateTable(base, date, rates)


@functools.cache
def _read(path: Path, mtime_ns: int, size: int) -> RateTable:
    """Cached per file version: tests and Dagster steps make many Settings."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RatesError(f"not valid YAML: {' '.join(str(error).split())}") from None
    return parse_rates(raw)


def read_rates(path: Path | str) -> RateTable:
    path = Path(path)
    if not path.is_file():
        raise RatesError(f"rates file {path} does not exist")
    stat = path.stat()
    try:
        return _read(path.resolve(), stat.st_mtime_ns, stat.st_size)
    except RatesError as error:
        raise RatesError(f"{path}: {error}") from None


def rate_params(reporting_currency: str, rates_file: Path | str) -> dict:
    """The SQL parameters of the conversion: `$currency_rates`, a MAP(VARCHAR, DOUBLE) of units of
    the reporting currency per unit of each currency, and `$currency_rates_file` for messages."""
    rates = read_rates(rates_file).to(reporting_currency)
    return {"currency_rates": {"key": list(rates), "value": list(rates.values())},
            "currency_rates_file": str(rates_file)}
