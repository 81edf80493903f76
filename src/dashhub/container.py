"""Every service of one process, wired together once by create_app() and handed to callbacks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import Engine

from dashhub.auth.audit import AuditLog
from dashhub.auth.users import UserStore
from dashhub.auth.web import Access
from dashhub.config import Settings
from dashhub.db import make_engine
from dashhub.jobs import CeleryJobs, LocalJobs, TicketSigner, make_manager
from dashhub.services.cache import QueryCache
from dashhub.services.dataset_models import DatasetModels
from dashhub.services.employees import EmployeesService
from dashhub.services.export_files import ExportFiles, ExportLimits
from dashhub.services.models import ModelRegistry
from dashhub.services.monitoring import MonitoringService
from dashhub.services.predictions import PredictionService
from dashhub.services.sales import SalesService
from dashhub.services.saved_charts import SavedChartStore
from dashhub.services.tokens import TokenStore
from dashhub.services.training import MlService
from dashhub.services.user_datasets import DatasetStore


@dataclass
class Services:
    settings: Settings
    engine: Engine
    cache: QueryCache
    users: UserStore
    audit: AuditLog
    access: Access
    sales: SalesService
    employees: EmployeesService
    ml: MlService
    models: ModelRegistry
    tokens: TokenStore
    predictions: PredictionService
    monitoring: MonitoringService
    signer: TicketSigner
    exports: ExportFiles
    jobs: LocalJobs | CeleryJobs
    datasets: DatasetStore
    saved_charts: SavedChartStore
    dataset_models: DatasetModels
    pid: int = field(default_factory=os.getpid)

    @property
    def prefix(self) -> str:
        """URL prefix of the app's own Flask routes ('' at the root)."""
        return self.settings.server.url_prefix.rstrip("/")

    def after_fork(self) -> None:
        """In a child process (a job, a Celery worker), open database connections of its own."""
        if os.getpid() != self.pid:
            self.engine.dispose(close=False)
            self.pid = os.getpid()

    @classmethod
    def build(cls, server: Flask, settings: Settings) -> Services:
        engine = make_engine(
            settings.database_url,
            echo=settings.database.echo,
            pool_size=settings.database.pool_size,
        )
        cache = QueryCache(server, settings)
        registry = ModelRegistry(engine)
        limits = settings.datasets
        datasets = DatasetStore(engine, settings.data_dir, limits.max_per_user, limits.max_mb_per_user << 20)
        dataset_models = DatasetModels(datasets)
        return cls(
            settings=settings,
            engine=engine,
            cache=cache,
            users=UserStore(engine, settings.auth, settings.server.session_hours),
            audit=AuditLog(engine),
            access=Access(settings),
            sales=SalesService(engine, cache),
            employees=EmployeesService(engine, cache, settings.hr.min_cell_count),
            ml=MlService(cache, dataset_models),
            models=registry,
            tokens=TokenStore(engine),
            predictions=PredictionService(
                engine, registry, settings.api.default_model, settings.api.max_instances
            ),
            monitoring=MonitoringService(engine, registry, settings.monitoring, cache),
            signer=TicketSigner(server.secret_key),
            exports=export_files(settings),
            # Owned by this server: the manager runs only this app's background functions.
            jobs=make_manager(server, settings),
            datasets=datasets,
            saved_charts=SavedChartStore(engine, datasets),
            dataset_models=dataset_models,
        )


def export_files(settings: Settings) -> ExportFiles:
    """The exports folder with its limits (the app, the jobs and the scheduler's clean-up)."""
    jobs = settings.jobs
    limits = ExportLimits(jobs.max_exports_per_user, jobs.max_exports, jobs.max_export_disk_mb * 1024**2)
    return ExportFiles(settings.jobs_dir / "exports", jobs.keep_hours, jobs.timeout_seconds, limits)
