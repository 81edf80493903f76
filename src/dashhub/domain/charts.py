"""A chart of a user's dataset, as the chart builder of « Vos données » describes it (ChartSpec, which
round-trips through the page's address) and as the data service answers it (ChartData)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CHART_KINDS = ("scatter", "line", "bar", "histogram", "box", "heatmap")
AGGREGATIONS = ("count", "sum", "mean", "median", "min", "max")
MAX_FILTERS = 2
FILTER_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "contains")


def N_(message: str) -> str:
    return message


class ChartRefused(ValueError):
    """The chart cannot be drawn as asked: a msgid (translated where shown) and its fields."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message.format(**fields))
        self.message = message
        self.fields = fields


@dataclass(frozen=True)
class ChartSpec:
    """What to draw; every field is checked against the dataset by chart_data()."""

    kind: str = "bar"
    x: str | None = None
    y: str | None = None
    color: str | None = None
    size: str | None = None
    facet: str | None = None
    agg: str = "count"
    filters: tuple[tuple[str, str, str], ...] = ()

    def query(self) -> dict[str, Any]:
        """Query-string parameters (those that differ from an empty chart)."""
        params: dict[str, Any] = {"chart": self.kind}
        for name in ("x", "y", "color", "size", "facet"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.agg != "count":
            params["agg"] = self.agg
        if self.filters:  # (three parallel lists: a column's name may hold any character)
            params["fc"] = [column for column, _op, _value in self.filters]
            params["fo"] = [operator for _column, operator, _value in self.filters]
            params["fv"] = [value for _column, _op, value in self.filters]
        return params

    @classmethod
    def from_query(cls, query: Mapping[str, Sequence[str]]) -> ChartSpec:
        """From parse_qs() output; values of the wrong shape are dropped here (names are checked
        against the dataset later)."""

        def one(name: str) -> str | None:
            values = query.get(name) or []
            value = values[0] if values else None
            return value if isinstance(value, str) and 0 < len(value) <= 512 else None

        filters = []
        columns, operators, values = (list(query.get(key) or [])[:MAX_FILTERS] for key in ("fc", "fo", "fv"))
        for column, operator, value in zip(columns, operators, values, strict=False):
            texts = all(isinstance(part, str) and len(part) <= 512 for part in (column, operator, value))
            if texts and column and operator in FILTER_OPERATORS:
                filters.append((column, operator, value))
        kind, agg = one("chart"), one("agg")
        return cls(
            kind=kind if kind in CHART_KINDS else "bar",
            x=one("x"),
            y=one("y"),
            color=one("color"),
            size=one("size"),
            facet=one("facet"),
            agg=agg if agg in AGGREGATIONS else "count",
            filters=tuple(filters),
        )


@dataclass
class ChartData:
    """The table a chart draws (its CSV export too), and what was left out or summarised.

    shape says how to read rows: "points" (facet, colour, x, y, size), "density" (facet, x, y,
    count: cell centres), "groups" (facet, colour, x, value), "cells" (facet, x, y, value),
    "boxes" (facet, colour, x, and the box's statistics).
    """

    spec: ChartSpec
    shape: str
    columns: list[str]
    rows: list[tuple]
    matched: int  # rows of the dataset the filters keep
    notes: list[tuple[str, dict]] = field(default_factory=list)  # (msgid, fields)
    x_type: str | None = None
    y_type: str | None = None
    color_type: str | None = None
    x_width: float | None = None  # a binned number axis: the bins' width (bars are that wide)
