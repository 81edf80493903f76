"""Sales data service: every question the Ventes dashboard asks, answered from the daily rollup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
from flask import g, has_app_context
from sqlalchemy import Engine, func, select

from dashhub.db import data_versions, sales, sales_daily
from dashhub.services.cache import QueryCache


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

    def previous_period(self) -> SalesFilter:
        """The period of the same length that ends the day before start."""
        end = self.start - dt.timedelta(days=1)
        return SalesFilter(self.regions, self.products, end - (self.end - self.start), end)


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

    @property
    def growth(self) -> float | None:
        """Relative change against the previous period; None when that period had no sales."""
        if self.previous_total <= 0:
            return None
        return self.total / self.previous_total - 1.0


@dataclass(frozen=True)
class SalesData:
    """The shaped data behind the Ventes page: plain lists, cheap to cache and to draw."""

    weekly: dict[str, Series]  # region → weeks (Monday, ISO) and weekly sums
    peaks: list[tuple[str, str, float]]  # (week, region, amount) of each December's peak
    points: dict[int, dict[str, Series]]  # year → region → months, sums, product labels
    monthly: dict[str, Series]  # region → months (YYYY-MM-01) and sums
    totals: Series  # month → sum over the regions shown
    kpis: SalesKpis

    @property
    def empty(self) -> bool:
        return self.kpis.best_region is None


class SalesService:
    """Reads sales through the cache; results are small, already aggregated frames."""

    def __init__(self, engine: Engine, cache: QueryCache) -> None:
        self._engine = engine
        self._cache = cache

    def version(self) -> int:
        """The data version, read once per request (several queries of one callback share it)."""
        if has_app_context() and "sales_version" in g:
            return g.sales_version
        with self._engine.connect() as conn:
            found = conn.scalar(select(data_versions.c.version).where(data_versions.c.name == "sales"))
        version = int(found or 0)
        if has_app_context():
            g.sales_version = version
        return version

    def _cached(self, query: str, args: tuple, compute):
        version = self.version()
        return self._cache.get_or_compute(QueryCache.key("sales", version, query, args), compute)

    def options(self) -> SalesOptions:
        return self._cached("options", (), self._options)

    def _options(self) -> SalesOptions:
        d = sales_daily.c
        with self._engine.connect() as conn:
            regions = tuple(conn.scalars(select(d.region).distinct().order_by(d.region)))
            products = tuple(conn.scalars(select(d.product).distinct().order_by(d.product)))
            first, last = conn.execute(select(func.min(d.day), func.max(d.day))).one()
        return SalesOptions(regions, products, _as_date(first), _as_date(last))

    def dashboard(self, flt: SalesFilter) -> SalesData:
        """Everything the Ventes page shows for flt, shaped and cached as one small object."""
        return self._cached("dashboard", _args(flt), lambda: self._dashboard(flt))

    def _dashboard(self, flt: SalesFilter) -> SalesData:
        return shape_sales(
            self.daily_by_region(flt), self.monthly_detail(flt), self.total(flt.previous_period())
        )

    def daily_by_region(self, flt: SalesFilter) -> pd.DataFrame:
        """Columns day, region, amount: one row per day and region in the filter."""
        d = sales_daily.c
        query = (
            select(d.day, d.region, func.sum(d.amount).label("amount"))
            .where(*_conditions(d.day, d.region, d.product, flt))
            .group_by(d.day, d.region)
            .order_by(d.day, d.region)
        )
        frame = self._frame(query, ["day", "region", "amount"])
        frame["day"] = pd.to_datetime(frame["day"])
        return frame

    def monthly_detail(self, flt: SalesFilter) -> pd.DataFrame:
        """Columns year, month, region, product, amount: one row per combination present."""
        d = sales_daily.c
        query = (
            select(d.year, d.month, d.region, d.product, func.sum(d.amount).label("amount"))
            .where(*_conditions(d.day, d.region, d.product, flt))
            .group_by(d.year, d.month, d.region, d.product)
            .order_by(d.year, d.month, d.region, d.product)
        )
        return self._frame(query, ["year", "month", "region", "product", "amount"])

    def total(self, flt: SalesFilter) -> float:
        d = sales_daily.c
        query = select(func.sum(d.amount)).where(*_conditions(d.day, d.region, d.product, flt))
        with self._engine.connect() as conn:
            return float(conn.scalar(query) or 0.0)

    def iter_rows(self, flt: SalesFilter, batch: int = 10_000) -> Iterator[tuple]:
        """The raw rows in the filter (date, region, product, amount), streamed for export."""
        s = sales.c
        query = (
            select(s.date, s.region, s.product, s.amount)
            .where(*_conditions(s.date, s.region, s.product, flt))
            .order_by(s.date, s.region, s.product)
        )
        with self._engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
            yield from result

    def _frame(self, query, columns: list[str]) -> pd.DataFrame:
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame.from_records(rows, columns=columns)
        if "amount" in frame:
            frame["amount"] = frame["amount"].astype(float)
        return frame


def _conditions(day_col, region_col, product_col, flt: SalesFilter) -> list:
    return [
        day_col >= flt.start,
        day_col <= flt.end,
        region_col.in_(flt.regions),
        product_col.in_(flt.products),
    ]


def _args(flt: SalesFilter) -> tuple:
    return (
        tuple(sorted(flt.regions)),
        tuple(sorted(flt.products)),
        flt.start.isoformat(),
        flt.end.isoformat(),
    )


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# --- shaping: pure functions from query results to what the page draws ---


def shape_sales(daily: pd.DataFrame, monthly: pd.DataFrame, previous_total: float) -> SalesData:
    weekly = weekly_by_region(daily)
    return SalesData(
        weekly={
            str(region): Series(
                rows["week"].dt.strftime("%Y-%m-%d").tolist(),
                _amounts(rows),
                rows["days"].astype(int).astype(str).tolist(),
            )
            for region, rows in weekly.groupby("region", sort=True)
        },
        peaks=[
            (week.strftime("%Y-%m-%d"), region, amount) for week, region, amount in christmas_peaks(weekly)
        ],
        points=_points_by_year(monthly),
        monthly=_monthly_by_region(monthly),
        totals=_monthly_totals(monthly),
        kpis=sales_kpis(monthly, previous_total),
    )


def weekly_by_region(daily: pd.DataFrame) -> pd.DataFrame:
    """Sum daily sales into weeks starting on Monday: columns week, region, amount, days.

    days counts the days of the week that have sales at all, so that a week cut by the filter's
    first or last day can be told apart from a bad week.
    """
    if daily.empty:
        return pd.DataFrame({"week": pd.to_datetime([]), "region": [], "amount": [], "days": []})
    week = daily["day"] - pd.to_timedelta(daily["day"].dt.day_of_week, unit="D")
    with_week = daily.assign(week=week)
    weekly = with_week.groupby(["week", "region"], as_index=False)["amount"].sum()
    days = with_week.groupby("week")["day"].nunique().rename("days")
    weekly = weekly.join(days, on="week")
    return weekly.sort_values(["week", "region"], ignore_index=True)


def christmas_peaks(weekly: pd.DataFrame) -> list[tuple[pd.Timestamp, str, float]]:
    """For each December in the data: (week, region, amount) of its highest weekly point."""
    december = weekly[weekly["week"].dt.month == 12]
    peaks = []
    for _year, rows in december.groupby(december["week"].dt.year):
        best = rows.loc[rows["amount"].idxmax()]
        peaks.append((best["week"], str(best["region"]), float(best["amount"])))
    return peaks


def sales_kpis(monthly: pd.DataFrame, previous: float) -> SalesKpis:
    if monthly.empty:
        return SalesKpis(0.0, previous, None, 0.0, None, 0.0)
    by_region = monthly.groupby("region")["amount"].sum()
    by_month = monthly.groupby(["year", "month"])["amount"].sum()
    year, month = by_month.idxmax()
    return SalesKpis(
        total=float(monthly["amount"].sum()),
        previous_total=previous,
        best_region=str(by_region.idxmax()),
        best_region_total=float(by_region.max()),
        best_month=f"{int(year):04d}-{int(month):02d}",
        best_month_total=float(by_month.max()),
    )


def _points_by_year(monthly: pd.DataFrame) -> dict[int, dict[str, Series]]:
    points: dict[int, dict[str, Series]] = {}
    for (year, region), rows in monthly.groupby(["year", "region"], sort=True):
        points.setdefault(int(year), {})[str(region)] = Series(
            rows["month"].astype(int).tolist(), _amounts(rows), rows["product"].astype(str).tolist()
        )
    return points


def _monthly_by_region(monthly: pd.DataFrame) -> dict[str, Series]:
    by_region = monthly.groupby(["region", "year", "month"], as_index=False)["amount"].sum()
    return {
        str(region): Series(_periods(rows), _amounts(rows))
        for region, rows in by_region.groupby("region", sort=True)
    }


def _monthly_totals(monthly: pd.DataFrame) -> Series:
    totals = monthly.groupby(["year", "month"], as_index=False)["amount"].sum()
    return Series(_periods(totals), _amounts(totals))


def _periods(rows: pd.DataFrame) -> list[str]:
    return [f"{int(y):04d}-{int(m):02d}-01" for y, m in zip(rows["year"], rows["month"], strict=True)]


def _amounts(rows: pd.DataFrame) -> list[float]:
    return rows["amount"].round(2).astype(float).tolist()
