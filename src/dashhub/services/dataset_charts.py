"""The chart builder of « Vos données »: what a chart of a stored dataset shows, computed by DuckDB
on the Parquet file (groups, bins, aggregates, quantiles), so that a bounded table reaches Python
and the browser whatever the number of rows.

A chart is a ChartSpec (kind, x, y, colour, size, facet, aggregation, filters) that round-trips
through the page's query string. chart_data() checks it against the dataset (columns and types)
and answers a ChartData: the rows the figure draws, which are also the chart's CSV export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dashhub.domain.charts import N_, ChartData, ChartRefused, ChartSpec
from dashhub.services.user_datasets import Column, Dataset, DatasetStore, Viewer, duckdb_connection, quoted

SQL_AGGREGATES = {
    "count": "count(*)",
    "sum": "sum({})",
    "mean": "avg({})",
    "median": "median({})",
    "min": "min({})",
    "max": "max({})",
}
NUMERIC = ("integer", "number")
ORDERED = ("integer", "number", "datetime")
MAX_POINTS = 5000  # raw points a scatter sends; above, a sample (with colour or size) or a density
MAX_GROUPS = 50  # x values of a bar, box or heatmap axis (the most frequent ones)
MAX_SERIES = 10  # colour groups (the most frequent ones)
MAX_FACETS = 6  # small multiples (the most frequent values)
BINS = 40  # bins of a number axis that has more distinct values than MAX_GROUPS
DENSITY_BINS = 80  # cells per side of a density scatter
SAMPLE_SEED = 7  # (the same sample every time: a shared URL shows the same points)
TIME_UNITS = (  # (unit, its length in seconds): the finest that gives at most MAX_TIME_BUCKETS
    ("second", 1),
    ("minute", 60),
    ("hour", 3600),
    ("day", 86400),
    ("week", 7 * 86400),
    ("month", 31 * 86400),
    ("quarter", 92 * 86400),
    ("year", 366 * 86400),
)
MAX_TIME_BUCKETS = 500


@dataclass
class _Query:
    """SQL pieces shared by the chart's queries."""

    source: str
    where: str
    params: list
    notes: list[tuple[str, dict]] = field(default_factory=list)

    def restricted(self, clause: str, params: Sequence = ()) -> _Query:
        where = f"{self.where} AND {clause}" if self.where else f"WHERE {clause}"
        return replace(self, where=where, params=[*self.params, *params])


def chart_data(store: DatasetStore, viewer: Viewer, dataset_id: int, spec: ChartSpec) -> ChartData:
    """The chart's table, computed on the stored file (raises ChartRefused, DatasetNotFound)."""
    dataset = store.get(viewer, dataset_id)
    columns = _checked_columns(dataset, spec)
    with duckdb_connection(store.spill) as con:
        query = _base_query(con, store, dataset, spec)
        matched = con.execute(f"SELECT count(*) FROM {query.source} {query.where}", query.params).fetchone()[
            0
        ]
        builder = _BUILDERS[spec.kind]
        data = builder(con, query, spec, columns, int(matched))
    data.notes = query.notes + data.notes
    return data


# --- checking the spec ---


def _checked_columns(dataset: Dataset, spec: ChartSpec) -> dict[str, Column]:
    """The spec's columns by role, each checked against the kinds of chart that take it."""
    found: dict[str, Column] = {}
    for role in ("x", "y", "color", "size", "facet"):
        name = getattr(spec, role)
        if name:
            found[role] = _column(dataset, name)
    need_y = spec.kind in ("scatter", "box") or (
        spec.kind in ("line", "bar", "heatmap") and spec.agg != "count"
    )
    if "x" not in found and spec.kind != "box":
        raise ChartRefused(N_("Choose the column for the x axis."))
    if need_y and "y" not in found:
        raise ChartRefused(N_("Choose the column for the y axis."))
    if spec.kind == "heatmap" and "y" not in found:
        raise ChartRefused(N_("Choose the column for the y axis."))
    y = found.get("y")
    if spec.kind in ("line", "bar") and spec.agg != "count" and y.type not in NUMERIC:
        raise ChartRefused(
            N_("{column} is not a number: choose « count » or a number column."), column=y.name
        )
    if spec.kind == "box" and y.type not in NUMERIC:
        raise ChartRefused(N_("A box plot needs a number column on the y axis."))
    if spec.kind == "heatmap" and spec.agg != "count":
        value = found.get("color")
        if value is None or value.type not in NUMERIC:
            raise ChartRefused(
                N_("Choose a number column as the colour: its {agg} fills the cells."), agg=spec.agg
            )
    if "size" in found and found["size"].type not in NUMERIC:
        raise ChartRefused(N_("The size must be a number column."))
    return found


def _column(dataset: Dataset, name: str) -> Column:
    for column in dataset.columns:
        if column.name == name:
            return column
    raise ChartRefused(N_("There is no column « {column} » in this dataset."), column=name)


def _base_query(con, store: DatasetStore, dataset: Dataset, spec: ChartSpec) -> _Query:
    source = f"read_parquet('{str(store.root / dataset.stored).replace(chr(39), chr(39) * 2)}')"
    clauses, params = [], []
    for name, operator, text in spec.filters:
        column = _column(dataset, name)
        q = quoted(column.name)
        if operator == "contains":
            clauses.append(f"CAST({q} AS VARCHAR) ILIKE ? ESCAPE '\\'")
            params.append("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            continue
        clauses.append(f"{q} {'<>' if operator == '!=' else operator} ?")
        params.append(typed_value(column, text))
    query = _Query(source, ("WHERE " + " AND ".join(clauses)) if clauses else "", params)
    if spec.facet:
        query = _top_values(con, query, _column(dataset, spec.facet), MAX_FACETS, N_("facet"))
    if spec.color and spec.kind != "scatter" and spec.kind != "heatmap":
        query = _top_values(con, query, _column(dataset, spec.color), MAX_SERIES, N_("colour"))
    return query


def typed_value(column: Column, text: str) -> Any:
    """A filter's value read as the column's type (a clear refusal when it cannot be)."""
    try:
        if column.type == "integer":
            return int(text.strip())
        if column.type == "number":
            return float(text.strip().replace(",", "."))
        if column.type == "datetime":
            return dt.datetime.fromisoformat(text.strip())
        if column.type == "boolean":
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "oui", "vrai", "1"):
                return True
            if lowered in ("false", "no", "non", "faux", "0"):
                return False
            raise ValueError(text)
    except ValueError:
        raise ChartRefused(
            N_("« {value} » is not a value of {column} (a filter)."), value=text, column=column.name
        ) from None
    return text


def _top_values(con, query: _Query, column: Column, most: int, role: str) -> _Query:
    """Keep the rows of the `most` most frequent values of column (and say so when some are
    left out)."""
    q = quoted(column.name)
    found = con.execute(
        f"SELECT {q}, count(*) AS n FROM {query.source} {query.where} GROUP BY {q} "
        f"ORDER BY n DESC, {q} NULLS LAST LIMIT {most + 1}",
        query.params,
    ).fetchall()
    if len(found) <= most:
        return query
    kept = [value for value, _n in found[:most]]
    marks = ", ".join("?" for _ in kept)
    restricted = query.restricted(f"{q} IN ({marks})", kept)
    restricted.notes = [
        *query.notes,
        (
            N_("the {count} most frequent values of {column} ({role})"),
            {"count": most, "column": column.name, "role": role},
        ),
    ]
    return restricted


# --- one function per kind of chart ---


def _group_keys(
    spec: ChartSpec, columns: dict[str, Column], with_color: bool = True
) -> list[tuple[str, str]]:
    """(SQL expression, output name) of the facet and colour keys."""
    keys = []
    if "facet" in columns:
        keys.append((f"CAST({quoted(columns['facet'].name)} AS VARCHAR)", columns["facet"].name))
    if with_color and "color" in columns:
        keys.append((f"CAST({quoted(columns['color'].name)} AS VARCHAR)", columns["color"].name))
    return keys


def _axis_key(con, query: _Query, column: Column, kind: str) -> tuple[str, _Query, float | None]:
    """How an axis groups rows: categories (the MAX_GROUPS most frequent), whole numbers as they
    are when few, numbers in BINS equal bins (each bin's centre), dates by a calendar unit."""
    q = quoted(column.name)
    if column.type in NUMERIC:
        low, high, distinct = con.execute(
            f"SELECT min({q}), max({q}), count(DISTINCT {q}) FROM {query.source} {query.where}", query.params
        ).fetchone()
        if low is None:
            return q, query, None
        if (distinct <= MAX_GROUPS and kind != "histogram") or low == high:
            return q, query, None
        width = (float(high) - float(low)) / BINS
        bin_index = f"LEAST(floor((CAST({q} AS DOUBLE) - {float(low)!r}) / {width!r}), {BINS - 1})"
        return f"({float(low)!r} + ({bin_index} + 0.5) * {width!r})", query, width
    if column.type == "datetime":
        low, high = con.execute(
            f"SELECT epoch(min({q})), epoch(max({q})) FROM {query.source} {query.where}", query.params
        ).fetchone()
        span = (high - low) if low is not None else 0
        unit = next((u for u, seconds in TIME_UNITS if span / seconds <= MAX_TIME_BUCKETS), "year")
        if unit != "second":
            query = replace(query, notes=[*query.notes, (N_("dates grouped by {unit}"), {"unit": unit})])
        return f"date_trunc('{unit}', {q})", query, None
    query = _top_values(con, query, column, MAX_GROUPS, N_("axis"))
    return f"CAST({q} AS VARCHAR)", query, None


def _grouped(con, query: _Query, spec: ChartSpec, columns: dict[str, Column], matched: int) -> ChartData:
    """bar, line, histogram: the aggregate of y (or the count of rows) per x and per colour."""
    x = columns["x"]
    query = query.restricted(f"{quoted(x.name)} IS NOT NULL")  # (as pandas groups: no empty key)
    x_key, query, width = _axis_key(con, query, x, spec.kind)
    agg = "count" if spec.kind == "histogram" else spec.agg
    value = SQL_AGGREGATES[agg].format(quoted(columns["y"].name) if "y" in columns else "")
    keys = [*_group_keys(spec, columns), (x_key, x.name)]
    names = [name for _expr, name in keys]
    rows = con.execute(
        f"SELECT {', '.join(expr for expr, _n in keys)}, {value} FROM {query.source} {query.where} "
        f"GROUP BY ALL ORDER BY ALL NULLS LAST",
        query.params,
    ).fetchall()
    label = _value_label(agg, columns.get("y"))
    return ChartData(
        spec,
        "groups",
        [*names, label],
        rows,
        matched,
        query.notes,
        x.type,
        None,
        _type(columns, "color"),
        width,
    )


def _value_label(agg: str, column: Column | None) -> str:
    return "count" if agg == "count" or column is None else f"{agg}({column.name})"


def _type(columns: dict[str, Column], role: str) -> str | None:
    return columns[role].type if role in columns else None


def _scatter(con, query: _Query, spec: ChartSpec, columns: dict[str, Column], matched: int) -> ChartData:
    """Every point up to MAX_POINTS; above, a density of all rows (x and y ordered, no colour or
    size to show) or a fixed random sample of MAX_POINTS rows."""
    x, y = columns["x"], columns["y"]
    roles = (
        [r for r in ("facet", "color") if r in columns] + ["x", "y"] + (["size"] if "size" in columns else [])
    )
    picked = ", ".join(quoted(columns[r].name) for r in roles)
    names = [columns[r].name for r in roles]
    notes: list[tuple[str, dict]] = []
    if (
        matched > MAX_POINTS
        and x.type in ORDERED
        and y.type in ORDERED
        and not ({"color", "size"} & set(columns))
    ):
        return _density(con, query, spec, columns, matched)
    if matched > MAX_POINTS:
        rows = con.execute(
            f"SELECT {picked} FROM (SELECT {picked} FROM {query.source} {query.where}) "
            f"USING SAMPLE reservoir({MAX_POINTS} ROWS) REPEATABLE ({SAMPLE_SEED})",
            query.params,
        ).fetchall()
        notes.append(
            (N_("a random sample of {shown} of {total} rows"), {"shown": len(rows), "total": matched})
        )
    else:
        rows = con.execute(f"SELECT {picked} FROM {query.source} {query.where}", query.params).fetchall()
    data = ChartData(spec, "points", names, rows, matched, notes, x.type, y.type, _type(columns, "color"))
    return data


def _density(con, query: _Query, spec: ChartSpec, columns: dict[str, Column], matched: int) -> ChartData:
    """Rows counted in DENSITY_BINS × DENSITY_BINS cells (cell centres), per facet."""
    keys = _group_keys(spec, columns, with_color=False)
    axes = []
    for role in ("x", "y"):
        column = columns[role]
        value = (
            f"epoch({quoted(column.name)})"
            if column.type == "datetime"
            else f"CAST({quoted(column.name)} AS DOUBLE)"
        )
        low, high = con.execute(
            f"SELECT min({value}), max({value}) FROM {query.source} {query.where}", query.params
        ).fetchone()
        width = ((high - low) / DENSITY_BINS) or 1.0
        index = f"LEAST(floor(({value} - {low!r}) / {width!r}), {DENSITY_BINS - 1})"
        centre = f"({low!r} + ({index} + 0.5) * {width!r})"
        axes.append(f"to_timestamp({centre})" if column.type == "datetime" else centre)
    selected = [expr for expr, _n in keys] + axes
    present = query.restricted(
        f"{quoted(columns['x'].name)} IS NOT NULL AND {quoted(columns['y'].name)} IS NOT NULL"
    )
    rows = con.execute(
        f"SELECT {', '.join(selected)}, count(*) FROM {present.source} {present.where} "
        "GROUP BY ALL ORDER BY ALL",
        present.params,
    ).fetchall()
    names = [n for _e, n in keys] + [columns["x"].name, columns["y"].name, "count"]
    note = (N_("density of {total} rows ({bins} × {bins} cells)"), {"total": matched, "bins": DENSITY_BINS})
    return ChartData(spec, "density", names, rows, matched, [note], columns["x"].type, columns["y"].type)


def _heatmap(con, query: _Query, spec: ChartSpec, columns: dict[str, Column], matched: int) -> ChartData:
    """The count of rows (or the aggregate of the colour column) per x × y cell."""
    query = query.restricted(
        f"{quoted(columns['x'].name)} IS NOT NULL AND {quoted(columns['y'].name)} IS NOT NULL"
    )
    x_key, query, _w = _axis_key(con, query, columns["x"], "heatmap")
    y_key, query, _w = _axis_key(con, query, columns["y"], "heatmap")
    value_column = columns.get("color") if spec.agg != "count" else None
    value = SQL_AGGREGATES[spec.agg].format(quoted(value_column.name) if value_column else "")
    keys = [
        *_group_keys(spec, columns, with_color=False),
        (x_key, columns["x"].name),
        (y_key, columns["y"].name),
    ]
    rows = con.execute(
        f"SELECT {', '.join(e for e, _n in keys)}, {value} FROM {query.source} {query.where} "
        f"GROUP BY ALL ORDER BY ALL NULLS LAST",
        query.params,
    ).fetchall()
    names = [n for _e, n in keys] + [_value_label(spec.agg, value_column)]
    return ChartData(spec, "cells", names, rows, matched, query.notes, columns["x"].type, columns["y"].type)


def _box(con, query: _Query, spec: ChartSpec, columns: dict[str, Column], matched: int) -> ChartData:
    """Per group: quartiles (continuous), mean, and the whiskers' ends: the furthest values
    within 1.5 interquartile ranges of the box (Tukey's, as Plotly draws them)."""
    keys = _group_keys(spec, columns)
    if "x" in columns:
        query = query.restricted(f"{quoted(columns['x'].name)} IS NOT NULL")
        x_key, query, _w = _axis_key(con, query, columns["x"], "box")
        keys.append((x_key, columns["x"].name))
    y = quoted(columns["y"].name)
    k = [f"k{i}" for i in range(len(keys))]
    v_keys = "".join(f"{expr} AS {name}, " for (expr, _n), name in zip(keys, k, strict=True))
    s_keys = "".join(f"s.{name}, " for name in k)
    join = " AND ".join(f"v.{name} IS NOT DISTINCT FROM s.{name}" for name in k) or "TRUE"
    group_s = f"GROUP BY {', '.join(k)}" if k else ""
    group_v = f"GROUP BY {s_keys.rstrip(', ')}" if k else ""
    fence_low, fence_high = "s.q1 - 1.5 * (s.q3 - s.q1)", "s.q3 + 1.5 * (s.q3 - s.q1)"
    rows = con.execute(
        f"WITH v AS (SELECT {v_keys}{y} AS y FROM {query.source} {query.where}), "
        f"s AS (SELECT {''.join(n + ', ' for n in k)}quantile_cont(y, 0.25) AS q1, median(y) AS med, "
        f"quantile_cont(y, 0.75) AS q3, avg(y) AS mean, count(y) AS n FROM v WHERE y IS NOT NULL {group_s}) "
        f"SELECT {s_keys}any_value(s.q1), any_value(s.med), any_value(s.q3), any_value(s.mean), "
        f"min(v.y) FILTER (WHERE v.y >= {fence_low}), max(v.y) FILTER (WHERE v.y <= {fence_high}), "
        f"min(v.y), max(v.y), any_value(s.n) "
        f"FROM v JOIN s ON {join} WHERE v.y IS NOT NULL {group_v} ORDER BY ALL NULLS LAST",
        query.params,
    ).fetchall()
    stats = ["q1", "median", "q3", "mean", "lower fence", "upper fence", "min", "max", "count"]
    names = [n for _e, n in keys] + stats
    x_type = columns["x"].type if "x" in columns else None
    return ChartData(
        spec, "boxes", names, rows, matched, query.notes, x_type, "number", _type(columns, "color")
    )


_BUILDERS = {
    "scatter": _scatter,
    "line": _grouped,
    "bar": _grouped,
    "histogram": _grouped,
    "box": _box,
    "heatmap": _heatmap,
}
