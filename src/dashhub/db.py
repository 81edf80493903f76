"""Database schema and engine (SQLAlchemy Core; SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

metadata = MetaData()

sales = Table(
    "sales",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("date", Date, nullable=False),
    Column("region", String(64), nullable=False),
    Column("product", String(64), nullable=False),
    Column("amount", Float, nullable=False),
    Column("load_id", Integer, nullable=True),  # the `dashhub load` that brought the row (0007)
    # (rows are appended load after load: on PostgreSQL a BRIN index finds a load's rows, 0008)
    Index("ix_sales_load_id", "load_id", postgresql_using="brin"),
)

# Every `dashhub load`: its file's fingerprint (the same file twice is refused unless insisted on),
# what it loaded, and whether it was undone (`dashhub loads undo`) or replaced since.
loads = Table(
    "loads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset", String(16), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("undone_at", DateTime(timezone=True), nullable=True),
    Index("ix_loads_sha256", "dataset", "sha256"),
)

# Maintained rollup of `sales` at day × region × product: every Ventes figure and KPI reads this,
# so their cost depends on the number of days, regions and products, not on the number of rows.
sales_daily = Table(
    "sales_daily",
    metadata,
    Column("day", Date, primary_key=True),
    Column("region", String(64), primary_key=True),
    Column("product", String(64), primary_key=True),
    Column("week", Date, nullable=False),  # the Monday of the day's week
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("amount", Float, nullable=False),
    Column("n_rows", Integer, nullable=False),
)


class week_start(FunctionElement):
    """The Monday of a date's week (ISO weeks), as SQL for SQLite and PostgreSQL."""

    type = Date()
    inherit_cache = True


@compiles(week_start, "sqlite")
def _week_start_sqlite(element, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


@compiles(week_start, "postgresql")
def _week_start_postgresql(element, compiler, **kw) -> str:
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


employees = Table(
    "employees",
    metadata,
    Column("employee_id", Integer, primary_key=True, autoincrement=False),
    Column("department", String(64), nullable=False),
    Column("age", Integer, nullable=False),
    Column("experience_years", Float, nullable=False),
    Column("salary", Float, nullable=False),
    Column("performance", Float, nullable=False),
    Column("satisfaction", Float, nullable=False),
    Column("load_id", Integer, nullable=True),  # (0007)
    Index("ix_employees_load_id", "load_id", postgresql_using="brin"),
    # the table page and the points of a small population: the filters' columns (0012)
    Index("ix_employees_cohort", "department", "age", "experience_years"),
    # a box or lasso on the scatter: the rows within its bounding box, read from the index alone
    # (it holds every column the RH numbers need; employee_id is SQLite's rowid) (0012)
    Index(
        "ix_employees_scatter",
        "performance",
        "salary",
        "department",
        "age",
        "experience_years",
        "satisfaction",
    ),
)

# Maintained aggregates of `employees` per department × age × completed year of experience (0012):
# every RH KPI and chart reads these, so a filter change costs what the number of cells costs,
# not the number of employees (services/employee_cells.py).
employee_cells = Table(
    "employee_cells",
    metadata,
    Column("department", String(64), primary_key=True),
    Column("age", Integer, primary_key=True),
    Column("experience_year", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("salary_sum", Float, nullable=False),
    Column("salary_min", Float, nullable=False),
    Column("salary_max", Float, nullable=False),
    Column("performance_sum", Float, nullable=False),
    Column("performance_sq_sum", Float, nullable=False),
    Column("performance_min", Float, nullable=False),
    Column("performance_max", Float, nullable=False),
    Column("satisfaction_sum", Float, nullable=False),
    Column("performance_salary_sum", Float, nullable=False),
)

# Each cell's sparse counts (0012), apart so that reading the cells' sums stays small: `salary_bins`
# (salary bin, n) records and `density` (performance bin, salary bin, n) records (their layout:
# services/employee_cells.py). Loads merge them; the bounds of a box or lasso and the cumulative
# bins below are counted from them.
employee_cell_counts = Table(
    "employee_cell_counts",
    metadata,
    Column("department", String(64), primary_key=True),
    Column("age", Integer, primary_key=True),
    Column("experience_year", Integer, primary_key=True),
    Column("salary_bins", LargeBinary, nullable=False),
    Column("density", LargeBinary, nullable=False),
)

# Cumulative performance × salary bin counts per department over ages and completed years (0012):
# the RH histogram and density view of a filter are four rows per department, however the
# employees spread (services/employee_bins.py). Rebuilt from employee_cells by every load.
employee_bins = Table(
    "employee_bins",
    metadata,
    Column("department", String(64), primary_key=True),
    Column("age", Integer, primary_key=True),
    Column("experience_year", Integer, primary_key=True),
    Column("salary_low", Float, nullable=False),  # the histogram's first edge and bin width
    Column("salary_width", Float, nullable=False),
    Column("counts", LargeBinary, nullable=False),
)


class floor_int(FunctionElement):
    """The whole part of a number (rounded down), as an integer, in SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True


@compiles(floor_int, "sqlite")
def _floor_int_sqlite(element, compiler, **kw) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"(CAST({value} AS INTEGER) - (({value}) < CAST({value} AS INTEGER)))"


@compiles(floor_int, "postgresql")
def _floor_int_postgresql(element, compiler, **kw) -> str:
    return f"CAST(floor({compiler.process(element.clauses, **kw)}) AS INTEGER)"


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# « Vos données »: a user's own file, typed and stored as Parquet under paths.data_dir (the file
# named here, relative to it), queried by DuckDB; its owner, and the role it is shared with
# read-only, if any (0009); how it is modelled in the Explorateur ML, if it is (0011).
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("filename", String(255), nullable=False),  # the uploaded file's name
    Column("stored", String(255), nullable=False),  # the Parquet file, relative to paths.data_dir
    Column("rows", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),  # of the Parquet file
    Column("columns", Text, nullable=False),  # JSON: [{"name": …, "type": …}, …]
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("shared_role", String(16), nullable=True),
    # JSON {"target": …, "features": […]}: how its owner models it in the Explorateur ML (0011)
    Column("model_spec", Text, nullable=True),
    Index("ix_datasets_owner_id", "owner_id"),
)

# Charts of a dataset that a user saved under a name (0010): the chart builder's query string.
saved_charts = Table(
    "saved_charts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("query", Text, nullable=False),  # the chart's URL query string (at most 4,000 characters)
    Column("created_at", DateTime(timezone=True), nullable=False),  # (when last saved)
    UniqueConstraint("owner_id", "dataset_id", "name", name="uq_saved_charts_owner_dataset_name"),
    Index("ix_saved_charts_dataset_id", "dataset_id"),
)

# What each user chose for themselves (a table of its own: databases created before it need no
# change, `dashhub init` adds it).
user_settings = Table(
    "user_settings",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("locale", String(8), nullable=True),
    Column("theme", String(8), nullable=True),  # auto, light or dark (0006)
)

# Failed logins per (user name, client address), whether or not the user exists: a lock holds one
# address out of one account, so that nobody can lock a user out from elsewhere. The row with
# address "*" counts an account's failures from every address (the ceiling against guessing
# spread over many addresses).
login_failures = Table(
    "login_failures",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locks", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
    Index("ix_login_failures_last_failure_at", "last_failure_at"),
)

# Server-side sessions: the cookie names one by a random id (stored here as its SHA-256); ending
# the row ends the session, whatever the cookie says.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("address", String(64), nullable=True),
    Column("user_agent", String(256), nullable=True),
    Index("ix_user_sessions_user_id", "user_id"),
    Index("ix_user_sessions_expires_at", "expires_at"),
)

# Structured audit trail: logins, failures, access to restricted data, exports, user changes.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("event", String(32), nullable=False),
    Column("username", String(64), nullable=True),
    Column("address", String(64), nullable=True),
    Column("detail", Text, nullable=False, default="{}"),
    Index("ix_audit_events_at", "at"),
)

# The model registry: every deployed version of a named model, at most one active per name (the one
# the prediction API serves). The fitted pipeline itself is in model_artifacts, under its hash.
models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("dataset", String(64), nullable=False),
    Column("algorithm", String(32), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("config", Text, nullable=False),  # the explorer address it was trained with
    Column("metrics", Text, nullable=False),  # JSON
    Column("features", Text, nullable=False),  # JSON [{"name", "type"}]
    Column("classes", Text, nullable=False),  # JSON
    Column("reference", Text, nullable=False),  # JSON: a sample of training rows, for drift
    Column("artifact_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    UniqueConstraint("name", "version", name="uq_models_name_version"),
    Index(
        "uq_models_one_active",
        "name",
        unique=True,
        sqlite_where=text("active"),
        postgresql_where=text("active"),
    ),
)

model_artifacts = Table(
    "model_artifacts",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("format", String(16), nullable=False),  # "skops"
    Column("content", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Every prediction the API made (one row per instance) and every request it refused (one row per
# request, status "rejected"): the monitoring's raw data. Rows older than the retention are rolled
# up into prediction_rollups and deleted.
predictions = Table(
    "predictions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(64), nullable=False),
    Column("model_version", Integer, nullable=True),  # None: refused before a version was chosen
    Column("features", Text, nullable=True),  # JSON {feature: value}
    Column("label", String(128), nullable=True),
    Column("probabilities", Text, nullable=True),  # JSON {class: p}
    Column("latency_ms", Float, nullable=False),
    Column("status", String(16), nullable=False),  # ok | rejected | error
    Column("error", Text, nullable=True),
    Column("token_id", Integer, nullable=True),
    Index("ix_predictions_at", "at"),
    Index("ix_predictions_model_at", "model_name", "at"),
)

# The true label of a prediction, sent later through the API (the monitoring's accuracy).
feedback = Table(
    "feedback",
    metadata,
    Column("prediction_id", String(32), ForeignKey("predictions.id", ondelete="CASCADE"), primary_key=True),
    Column("label", String(128), nullable=False),
    Column("correct", Boolean, nullable=False),  # the label equals the one predicted
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_feedback_at", "at"),
)

# The prediction log counted per minute, hour and day, kept up to date as predictions and feedback
# arrive (services.rollups) and kept after the raw rows are pruned: what the monitoring reads.
prediction_rollups = Table(
    "prediction_rollups",
    metadata,
    Column("granularity", String(8), primary_key=True),  # minute | hour | day
    Column("period", DateTime(timezone=True), primary_key=True),
    Column("model_name", String(64), primary_key=True),
    Column("model_version", Integer, primary_key=True),  # 0: refused before a version was chosen
    Column("status", String(16), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("latency_sum", Float, nullable=False),
    Column("latency_max", Float, nullable=False),
    Column("labelled", Integer, nullable=False),
    Column("correct", Integer, nullable=False),
    # JSON {bucket: count} of the latencies on a log scale (domain.monitoring.latency_bucket)
    Column("latency_hist", Text, nullable=False, server_default="{}"),
)

# Per period and feature, the count, sum and sum of squares of the values the model received
# (answered predictions only): the drift charts' means and standard deviations.
feature_rollups = Table(
    "feature_rollups",
    metadata,
    Column("granularity", String(8), primary_key=True),
    Column("period", DateTime(timezone=True), primary_key=True),
    Column("model_name", String(64), primary_key=True),
    Column("model_version", Integer, primary_key=True),
    Column("feature", String(128), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("sum", Float, nullable=False),
    Column("sumsq", Float, nullable=False),
)

# How far the rollups and the alert rules have got (one row per mark).
monitoring_marks = Table(
    "monitoring_marks",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

# CPU and memory of each server's processes and of its host, sampled by the host scheduler.
resource_samples = Table(
    "resource_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("host", String(128), nullable=False),
    Column("process_cpu", Float, nullable=False),  # % of the host's CPU capacity
    Column("process_memory", Float, nullable=False),  # bytes resident, the server's processes
    Column("host_cpu", Float, nullable=False),  # %
    Column("host_memory", Float, nullable=False),  # bytes in use
    Column("host_memory_total", Float, nullable=False),
    Index("ix_resource_samples_at", "at"),
)

# The monitoring's alerts: each rule's state, and every alert fired (cleared_at set when it ended).
alert_states = Table(
    "alert_states",
    metadata,
    Column("model_name", String(64), primary_key=True),
    Column("indicator", String(32), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("since", DateTime(timezone=True), nullable=True),
    Column("recovering_since", DateTime(timezone=True), nullable=True),
    Column("value", Float, nullable=True),
    Column("evaluated_until", DateTime(timezone=True), nullable=False),
)
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(64), nullable=False),
    Column("indicator", String(32), nullable=False),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    Column("value", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=True),
    Column("cleared_value", Float, nullable=True),
    # when the webhook (monitoring.webhook_url) acknowledged the firing and the clearing
    Column("fired_sent_at", DateTime(timezone=True), nullable=True),
    Column("cleared_sent_at", DateTime(timezone=True), nullable=True),
    Index("ix_alerts_model_fired", "model_name", "fired_at"),
)

# API tokens: only their SHA-256 is kept (a token is shown once, when it is made).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# One row per data set; bumped in the transaction that changes the data, read into cache keys.
data_versions = Table(
    "data_versions",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
)


# A statement stops after this long: shorter than gunicorn's timeout, itself shorter than nginx's
# (deploy/gunicorn.conf.py, deploy/nginx/dashhub.conf.template), so that the slowest layer to give
# up is the one closest to the user, and it can say why.
STATEMENT_TIMEOUT_SECONDS = 30


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    """An engine for url; SQLite gets WAL and a busy timeout so that workers can share the file."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        pool_pre_ping=True,
        connect_args=postgres_connect_args(),
    )


def postgres_connect_args() -> dict[str, object]:
    """What every PostgreSQL connection is opened with: the statement timeout, a connect timeout."""
    # UTC sessions: timestamps are stored and cut into minutes, hours and days in UTC everywhere
    options = f"-c statement_timeout={STATEMENT_TIMEOUT_SECONDS * 1000} -c timezone=UTC"
    return {"options": options, "connect_timeout": 5}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


ALL_VERSIONS = select(data_versions.c.name, data_versions.c.version)


def read_version(engine: Engine, name: str) -> int:
    """The current version of data set name (0 before the schema exists).

    Inside a request, every data set's version is read in one query and kept for the request:
    a callback asks for several (its data, the session's user) and must see one consistent set.
    """
    if has_request_context() and "data_versions" in g:
        return g.data_versions.get(name, 0)
    with engine.connect() as conn:
        versions = {row.name: int(row.version) for row in conn.execute(ALL_VERSIONS)}
    if has_request_context():
        g.data_versions = versions
    return versions.get(name, 0)


def insert_or_ignore(conn: Connection, table: Table):
    """INSERT that skips rows whose key already exists (SQLite and PostgreSQL): idempotent writes."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()


def bump_version(conn: Connection, name: str) -> None:
    """Mark a data set as changed (inside the transaction that changed it)."""
    conn.execute(
        update(data_versions).where(data_versions.c.name == name).values(version=data_versions.c.version + 1)
    )
