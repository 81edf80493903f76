"""Ventes value types: the filter, what can be filtered on, the shaped data, and the URL codec."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dashhub.domain.query import encode_search


@dataclass(frozen=True)
class SalesFilter:
    """Which sales to look at: an empty tuple selects nothing; dates are inclusive."""

    regions: tuple[str, ...]
    products: tuple[str, ...]
    start: dt.date
    end: dt.date

    @property
    def span_days(self) -> int:
        return (self.end - self.start).days + 1

    def last_twelve_months(self, last_day: dt.date) -> SalesFilter | None:
        """The 365 days of the period that end on its last day with data (last_day), when the
        period holds 365 more before them; else None."""
        end = min(self.end, last_day)
        try:
            start = end - dt.timedelta(days=364)
            if start - dt.timedelta(days=365) < self.start:
                return None
        except OverflowError:  # (the first days of the calendar)
            return None
        return SalesFilter(self.regions, self.products, start, end)

    def previous_period(self) -> SalesFilter | None:
        """The period of the same length that ends the day before start (None when it would
        begin before the first day of the calendar)."""
        try:
            end = self.start - dt.timedelta(days=1)
            return SalesFilter(self.regions, self.products, end - (self.end - self.start), end)
        except OverflowError:
            return None


@dataclass(frozen=True)
class SalesOptions:
    """What can be filtered on: the values present in the data."""

    regions: tuple[str, ...]
    products: tuple[str, ...]
    first_day: dt.date | None
    last_day: dt.date | None

    @property
    def empty(self) -> bool:
        return self.first_day is None

    def everything(self) -> SalesFilter:
        today = dt.date.today()
        return SalesFilter(self.regions, self.products, self.first_day or today, self.last_day or today)


@dataclass(frozen=True)
class Series:
    """One line, bar or point series: x and y, plus a label per point where useful."""

    x: list
    y: list[float]
    labels: list[str] | None = None


@dataclass(frozen=True)
class SalesKpis:
    total: float
    previous_total: float
    best_region: str | None
    best_region_total: float
    best_month: str | None  # "YYYY-MM"
    best_month_total: float
    # When the period before holds no sales (the whole history is shown) but the period spans two
    # years or more, growth compares its last 12 months (compared_total) with the 12 before.
    compared_total: float | None = None

    @property
    def growth(self) -> float | None:
        """Relative change against the previous period (or, with compared_total, of the last 12
        months against the 12 before); None when there is nothing to compare with."""
        if self.previous_total <= 0:
            return None
        total = self.total if self.compared_total is None else self.compared_total
        return total / self.previous_total - 1.0

    @property
    def year_on_year(self) -> bool:
        return self.compared_total is not None


@dataclass(frozen=True)
class SalesData:
    """The shaped data behind the Ventes page: plain lists, cheap to cache and to draw."""

    weekly: dict[str, Series]  # region → weeks (Monday, ISO) and weekly sums
    peaks: list[tuple[str, str, float]]  # (week, region, amount) of each December's peak
    points: dict[int, dict[str, Series]]  # year → region → months, sums, product labels
    monthly: dict[str, Series]  # region → months (YYYY-MM-01) and sums
    totals: Series  # month → sum over the regions shown
    kpis: SalesKpis
    all_regions: tuple[str, ...] = ()  # every region (a region's colour never depends on the filter)

    @property
    def empty(self) -> bool:
        return self.kpis.best_region is None


# --- filter state: URL ⇄ SalesFilter ---


def filter_from_query(query: dict[str, list[str]], options: SalesOptions) -> SalesFilter:
    """The filter a URL asks for; unknown values are dropped, dates clamped to the data."""
    everything = options.everything()
    regions = _known(query.get("region"), options.regions)
    products = _known(query.get("product"), options.products)
    start = _clamped_date(query.get("start"), everything.start, everything)
    end = _clamped_date(query.get("end"), everything.end, everything)
    if start > end:
        start, end = end, start
    return SalesFilter(regions, products, start, end)


def query_for(flt: SalesFilter, options: SalesOptions) -> str:
    """The shortest query string for flt: what equals the default (everything) is left out."""
    everything = options.everything()
    return encode_search(
        {
            "region": None if set(flt.regions) == set(options.regions) else list(flt.regions) or ["-"],
            "product": None if set(flt.products) == set(options.products) else list(flt.products) or ["-"],
            "start": None if flt.start == everything.start else flt.start.isoformat(),
            "end": None if flt.end == everything.end else flt.end.isoformat(),
        }
    )


def _known(values: list[str] | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if values is None:
        return allowed
    return tuple(v for v in dict.fromkeys(values) if v in allowed)


def _clamped_date(values: list[str] | None, default: dt.date, bounds: SalesFilter) -> dt.date:
    if not values:
        return default
    try:
        day = dt.date.fromisoformat(values[-1][:10])
    except ValueError:
        return default
    return min(max(day, bounds.start), bounds.end)
