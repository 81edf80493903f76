"""The chart builder's tables (issue 16): every aggregate DuckDB computes on the stored file is
compared with pandas on the same CSV file; bounded outputs (top values, samples, densities) say
what they left out."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import numpy as np
import pandas as pd
import pytest

from dashhub.db import make_engine
from dashhub.domain.charts import ChartRefused, ChartSpec
from dashhub.services.dataset_charts import BINS, MAX_GROUPS, MAX_POINTS, chart_data
from dashhub.services.user_datasets import DatasetNotFound, DatasetStore
from tests.conftest import add_users
from tests.support.datasets import viewer

ROWS = 12_000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """One stored file for the module (SQLite: the charts run on the Parquet file; the database
    only says who may read it, which test_user_datasets checks on both databases)."""
    folder = tmp_path_factory.mktemp("charts")
    rng = np.random.default_rng(16)
    frame = pd.DataFrame(
        {
            "region": rng.choice(["Nord", "Sud", "Est", "Ouest", "Centre"], ROWS),
            "product": [f"P{n:02d}" for n in rng.zipf(1.3, ROWS) % 70],
            "amount": rng.gamma(2.0, 50.0, ROWS).round(2),
            "qty": rng.integers(1, 9, ROWS),
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, ROWS), unit="D"),
            "promo": rng.choice(["true", "false"], ROWS),
        }
    )
    frame.loc[::97, "amount"] = np.nan  # (missing values are left out of aggregates, as pandas does)
    path = folder / "sales.csv"
    frame.to_csv(path, index=False)
    url = f"sqlite:///{folder / 'test.db'}"
    add_users(url)
    engine = make_engine(url)
    store = DatasetStore(engine, folder / "data")
    owner = viewer(store, "analyst")
    found = store.add(owner, path, "sales.csv").dataset
    types = {c.name: c.type for c in found.columns}
    assert types == {
        "region": "category",
        "product": "category",
        "amount": "number",
        "qty": "integer",
        "day": "datetime",
        "promo": "boolean",
    }
    yield store, owner, found, pd.read_csv(path, parse_dates=["day"])
    engine.dispose()


def draw(dataset, **spec):
    store, owner, found, _frame = dataset
    return chart_data(store, owner, found.id, ChartSpec(**spec))


def test_bars_count_and_aggregate_per_group_as_pandas_does(dataset):
    frame = dataset[3]
    counted = draw(dataset, kind="bar", x="region")
    assert dict((x, n) for x, n in counted.rows) == frame["region"].value_counts().to_dict()
    assert counted.matched == ROWS and counted.columns == ["region", "count"]
    means = draw(dataset, kind="bar", x="region", y="amount", agg="mean", color="promo")
    expected = frame.groupby([frame["promo"].astype(str).str.lower(), "region"])["amount"].mean()
    got = {(c, x): v for c, x, v in means.rows}
    assert got.keys() == {(c, x) for c, x in expected.index}
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)
    for agg, method in (("sum", "sum"), ("median", "median"), ("min", "min"), ("max", "max")):
        rows = draw(dataset, kind="bar", x="qty", y="amount", agg=agg).rows
        assert {x: v for x, v in rows} == pytest.approx(
            getattr(frame.groupby("qty")["amount"], method)().to_dict()
        )


def test_an_axis_keeps_its_most_frequent_values_and_says_so(dataset):
    frame = dataset[3]
    assert frame["product"].nunique() > MAX_GROUPS
    data = draw(dataset, kind="bar", x="product", y="amount", agg="sum")
    counts = frame["product"].value_counts()
    kept = set(counts.sort_index().sort_values(ascending=False, kind="stable").index[:MAX_GROUPS])
    assert {x for x, _v in data.rows} == kept
    sums = frame.groupby("product")["amount"].sum()
    assert {x: v for x, v in data.rows} == pytest.approx({p: sums[p] for p in kept})
    assert any("most frequent values" in msgid for msgid, _f in data.notes)


def test_filters_are_applied_and_typed(dataset):
    frame = dataset[3]
    data = draw(
        dataset, kind="bar", x="region", filters=(("amount", ">", "100,5"), ("product", "contains", "p0"))
    )
    kept = frame[(frame["amount"] > 100.5) & frame["product"].str.contains("P0")]
    assert data.matched == len(kept)
    assert dict(data.rows) == kept["region"].value_counts().to_dict()
    with pytest.raises(ChartRefused, match="is not a value of qty"):
        draw(dataset, kind="bar", x="region", filters=(("qty", "=", "beaucoup"),))


def test_a_line_over_dates_groups_them_by_a_calendar_unit(dataset):
    frame = dataset[3]
    data = draw(dataset, kind="line", x="day", y="amount", agg="sum")
    weeks = frame["day"] - pd.to_timedelta(
        frame["day"].dt.day_of_week, unit="D"
    )  # (ISO weeks start on Monday)
    expected = frame.groupby(weeks)["amount"].sum()
    assert ("dates grouped by {unit}", {"unit": "week"}) in data.notes
    assert {pd.Timestamp(x): v for x, v in data.rows} == pytest.approx(expected.to_dict())


def test_a_histogram_counts_equal_bins_as_numpy_does(dataset):
    frame = dataset[3]
    data = draw(dataset, kind="histogram", x="amount")
    values = frame["amount"].dropna()
    counts, edges = np.histogram(values, bins=BINS, range=(values.min(), values.max()))
    filled = [(centre, n) for centre, n in zip((edges[:-1] + edges[1:]) / 2, counts, strict=True) if n]
    assert [n for _x, n in data.rows] == [n for _x, n in filled]  # (empty bins are not sent)
    assert [x for x, _n in data.rows] == pytest.approx([x for x, _n in filled])
    assert data.x_width == pytest.approx(edges[1] - edges[0])
    by_region = draw(dataset, kind="histogram", x="amount", color="region")
    assert sum(n for *_k, n in by_region.rows) == len(values)


def test_boxes_have_pandas_quartiles_and_tukey_whiskers(dataset):
    frame = dataset[3]
    data = draw(dataset, kind="box", x="region", y="amount")
    assert data.columns[:4] == ["region", "q1", "median", "q3"]
    for region, q1, median, q3, mean, low, high, least, most, n in data.rows:
        values = frame.loc[frame["region"] == region, "amount"].dropna()
        assert (q1, median, q3) == pytest.approx(tuple(values.quantile([0.25, 0.5, 0.75])))
        iqr = q3 - q1
        assert (
            low == values[values >= q1 - 1.5 * iqr].min() and high == values[values <= q3 + 1.5 * iqr].max()
        )
        assert (mean, least, most, n) == pytest.approx(
            (values.mean(), values.min(), values.max(), len(values))
        )
    overall = draw(dataset, kind="box", y="amount").rows
    assert len(overall) == 1 and overall[0][1] == pytest.approx(frame["amount"].median())


def test_a_heatmap_counts_or_aggregates_per_cell(dataset):
    frame = dataset[3]
    counted = draw(dataset, kind="heatmap", x="region", y="qty")
    expected = frame.groupby(["region", "qty"]).size()
    assert {(x, y): n for x, y, n in counted.rows} == expected.to_dict()
    means = draw(dataset, kind="heatmap", x="region", y="promo", color="amount", agg="mean")
    expected = frame.groupby(["region", frame["promo"].astype(str).str.lower()])["amount"].mean()
    assert {(x, y): v for x, y, v in means.rows} == pytest.approx(expected.to_dict())


def test_a_scatter_sends_bounded_points_and_says_how(dataset):
    frame = dataset[3]
    small = draw(dataset, kind="scatter", x="amount", y="qty", filters=(("region", "=", "Nord"),))
    nord = frame[frame["region"] == "Nord"]
    assert len(small.rows) == len(nord) <= MAX_POINTS and not small.notes
    dense = draw(dataset, kind="scatter", x="day", y="amount")
    assert dense.shape == "density" and len(dense.rows) <= 80 * 80
    assert sum(n for *_xy, n in dense.rows) == frame["amount"].notna().sum()
    sampled = draw(dataset, kind="scatter", x="amount", y="qty", color="region", size="qty")
    assert sampled.shape == "points" and len(sampled.rows) == MAX_POINTS
    assert sampled.notes == [
        ("a random sample of {shown} of {total} rows", {"shown": MAX_POINTS, "total": ROWS})
    ]
    real = set(frame[["region", "amount", "qty"]].itertuples(index=False, name=None))
    assert all((c, x, y) in real for c, x, y, _s in sampled.rows if x is not None)
    again = draw(dataset, kind="scatter", x="amount", y="qty", color="region", size="qty")
    assert again.rows == sampled.rows  # (the same sample: a shared address shows the same points)


def test_facets_keep_the_most_frequent_values(dataset):
    frame = dataset[3]
    data = draw(dataset, kind="bar", x="region", facet="product")
    top = frame["product"].value_counts().sort_index().sort_values(ascending=False, kind="stable").index[:6]
    assert {f for f, _x, _n in data.rows} == set(top)
    expected = frame[frame["product"].isin(top)].groupby(["product", "region"]).size().to_dict()
    assert {(f, x): n for f, x, n in data.rows} == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "bar"}, "x axis"),
        ({"kind": "scatter", "x": "amount"}, "y axis"),
        ({"kind": "bar", "x": "region", "y": "product", "agg": "mean"}, "not a number"),
        ({"kind": "box", "x": "region", "y": "product"}, "box plot"),
        ({"kind": "bar", "x": "nope"}, "no column « nope »"),
        ({"kind": "scatter", "x": "amount", "y": "qty", "size": "region"}, "size"),
        ({"kind": "heatmap", "x": "region", "y": "qty", "agg": "sum"}, "colour"),
    ],
)
def test_charts_that_cannot_be_drawn_say_why(dataset, spec, message):
    with pytest.raises(ChartRefused, match=message):
        draw(dataset, **spec)


def test_another_user_cannot_chart_a_dataset(dataset):
    store, _owner, found, _frame = dataset
    with pytest.raises(DatasetNotFound):
        chart_data(store, viewer(store, "viewer"), found.id, ChartSpec(kind="bar", x="region"))


def test_a_chart_round_trips_through_the_address():
    spec = ChartSpec(
        kind="scatter",
        x="a b",
        y="é|x",
        color="c&d",
        size="s",
        facet="f",
        agg="mean",
        filters=(("a|b", ">=", "3"), ("c&d", "contains", "x|y")),
    )
    assert ChartSpec.from_query(parse_qs(urlencode(spec.query(), doseq=True))) == spec
    forged = ChartSpec.from_query({"chart": ["pie"], "agg": ["drop table"], "fc": ["a", "b"], "fo": ["like"]})
    assert forged == ChartSpec()
