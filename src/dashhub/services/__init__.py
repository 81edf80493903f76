"""The services: the only code that touches data. Built once per process by create_app()."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine

from dashhub.config import Settings
from dashhub.db import make_engine
from dashhub.services.cache import QueryCache
from dashhub.services.sales import SalesService


@dataclass
class Services:
    settings: Settings
    engine: Engine
    cache: QueryCache
    sales: SalesService

    @property
    def prefix(self) -> str:
        """URL prefix of the app's own Flask routes ('' at the root)."""
        return self.settings.server.url_prefix.rstrip("/")

    @classmethod
    def build(cls, server: Flask, settings: Settings) -> Services:
        engine = make_engine(
            settings.database_url,
            echo=settings.database.echo,
            pool_size=settings.database.pool_size,
        )
        cache = QueryCache(server, settings)
        return cls(settings, engine, cache, SalesService(engine, cache))
