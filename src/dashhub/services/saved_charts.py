"""Saved charts of « Vos données »: a user keeps a chart of a dataset under a name (its chart
builder's query string) and opens it again later.

A user may save charts of any dataset they can read (theirs, or one shared with their role); the
saved charts are theirs alone: nobody else lists, opens or removes them, and another user's chart
is told not to exist. Saving a name again replaces that chart. They go with their dataset (and
their user): ON DELETE CASCADE on PostgreSQL, and DatasetStore.delete removes them on SQLite too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dashhub.db import datasets, saved_charts
from dashhub.i18n import N_
from dashhub.services.user_datasets import Dataset, DatasetNotFound, DatasetRefused, DatasetStore, Viewer

MAX_NAME = 128
MAX_QUERY = 4000
MAX_PER_DATASET = 100  # saved charts per user and dataset
LIST_LIMIT = 200


class SavedChartNotFound(LookupError):
    """No such saved chart of this user (missing, or someone else's)."""


class SavedChartRefused(DatasetRefused):
    """The name or the query cannot be taken, with why (said to the user)."""


@dataclass(frozen=True)
class SavedChart:
    id: int
    owner_id: int
    dataset_id: int
    name: str
    query: str
    created_at: dt.datetime  # when it was last saved


def clean_name(name: str) -> str:
    """The name with its whitespace collapsed (1 to MAX_NAME characters), or a refusal."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise SavedChartRefused(N_("a saved chart needs a name"))
    if len(cleaned) > MAX_NAME:
        raise SavedChartRefused(N_("a saved chart's name has at most {most} characters"), most=MAX_NAME)
    return cleaned


def check_query(query: str) -> str:
    if not isinstance(query, str):
        raise SavedChartRefused(N_("a chart is saved as its address's query string"))
    if len(query) > MAX_QUERY:
        raise SavedChartRefused(
            N_("the chart's address is too long to save (at most {most} characters)"), most=MAX_QUERY
        )
    if not query.isprintable():
        raise SavedChartRefused(N_("the chart's address holds control characters"))
    return query


class SavedChartStore:
    """Users' saved charts, in the saved_charts table; access to datasets decided by datasets."""

    def __init__(self, engine: Engine, datasets: DatasetStore) -> None:
        self.engine = engine
        self.datasets = datasets

    def save(self, viewer: Viewer, dataset: Dataset, name: str, query: str) -> SavedChart:
        """Keep the chart (query) of dataset under name for viewer; the same name again replaces
        it. Refused beyond MAX_PER_DATASET charts of one dataset; DatasetNotFound if the viewer
        cannot read the dataset."""
        cleaned, query = clean_name(name), check_query(query)
        dataset_id = self.datasets.get(viewer, dataset.id).id  # (decided here, not by the caller's copy)
        try:
            return self._save(viewer, dataset_id, cleaned, query)
        except IntegrityError:
            # (the same name saved at the same moment by another request: that one is replaced)
            return self._save(viewer, dataset_id, cleaned, query)

    def _save(self, viewer: Viewer, dataset_id: int, name: str, query: str) -> SavedChart:
        now = dt.datetime.now(dt.UTC)
        mine = (
            (saved_charts.c.owner_id == viewer.user_id),
            (saved_charts.c.dataset_id == dataset_id),
        )
        with self.engine.begin() as conn:
            # The dataset's row, locked (PostgreSQL) so that saves of one dataset are counted one at
            # a time; gone if it was deleted since it was read (SQLite keeps no foreign key).
            row = conn.execute(
                select(datasets.c.owner_id, datasets.c.shared_role)
                .where(datasets.c.id == dataset_id)
                .with_for_update()
            ).first()
            if row is None or not (row.owner_id == viewer.user_id or row.shared_role == viewer.role):
                raise DatasetNotFound(f"no dataset {dataset_id}")
            replaced = conn.execute(
                update(saved_charts)
                .where(*mine, saved_charts.c.name == name)
                .values(query=query, created_at=now)
            ).rowcount
            if not replaced:
                count = conn.execute(select(func.count()).select_from(saved_charts).where(*mine)).scalar_one()
                if count >= MAX_PER_DATASET:
                    raise SavedChartRefused(
                        N_("at most {most} saved charts per dataset: remove one to save another"),
                        most=MAX_PER_DATASET,
                    )
                conn.execute(
                    insert(saved_charts).values(
                        owner_id=viewer.user_id, dataset_id=dataset_id, name=name, query=query, created_at=now
                    )
                )
            saved = conn.execute(select(saved_charts).where(*mine, saved_charts.c.name == name)).one()
        return _chart(saved)

    def list(self, viewer: Viewer, dataset_id: int) -> list[SavedChart]:
        """The viewer's own saved charts of a dataset they can read, newest first."""
        self.datasets.get(viewer, dataset_id)
        query = (
            select(saved_charts)
            .where(saved_charts.c.owner_id == viewer.user_id, saved_charts.c.dataset_id == dataset_id)
            .order_by(saved_charts.c.created_at.desc(), saved_charts.c.id.desc())
            .limit(LIST_LIMIT)
        )
        with self.engine.connect() as conn:
            return [_chart(row) for row in conn.execute(query)]

    def get(self, viewer: Viewer, chart_id: int) -> SavedChart:
        """One of the viewer's saved charts, of a dataset they can still read."""
        if not 1 <= chart_id <= 2**31 - 1:
            raise SavedChartNotFound(f"no saved chart {chart_id}")
        with self.engine.connect() as conn:
            row = conn.execute(
                select(saved_charts).where(
                    saved_charts.c.id == chart_id, saved_charts.c.owner_id == viewer.user_id
                )
            ).first()
        if row is None:
            raise SavedChartNotFound(f"no saved chart {chart_id}")
        try:
            self.datasets.get(viewer, int(row.dataset_id))
        except DatasetNotFound:
            raise SavedChartNotFound(f"no saved chart {chart_id}") from None
        return _chart(row)

    def delete(self, viewer: Viewer, chart_id: int) -> None:
        """Remove one of the viewer's saved charts (another user's is told not to exist)."""
        if not 1 <= chart_id <= 2**31 - 1:
            raise SavedChartNotFound(f"no saved chart {chart_id}")
        with self.engine.begin() as conn:
            removed = conn.execute(
                delete(saved_charts).where(
                    saved_charts.c.id == chart_id, saved_charts.c.owner_id == viewer.user_id
                )
            ).rowcount
        if not removed:
            raise SavedChartNotFound(f"no saved chart {chart_id}")


def _chart(row) -> SavedChart:
    return SavedChart(
        id=int(row.id),
        owner_id=int(row.owner_id),
        dataset_id=int(row.dataset_id),
        name=row.name,
        query=row.query,
        created_at=row.created_at,
    )
