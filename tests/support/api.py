"""Models deployed and tokens made directly through the services, for the API's tests."""

from __future__ import annotations

from dashhub.domain.ml import ExplorerConfig, config_from_query
from dashhub.domain.query import parse_search
from dashhub.services.traffic import deploy as deploy_configuration
from dashhub.services.training import bundled_dataset

CANCER = "?dataset=breast_cancer&model=svm&C=1&kernel=rbf&gamma=scale&test_size=20&scale=true&seed=42&cv=0"
IRIS = "?dataset=iris&model=random_forest&n_estimators=20&test_size=30&seed=3&cv=0"


def config(query: str) -> ExplorerConfig:
    return config_from_query(parse_search(query))[0]


def deploy(services, name: str, query: str, activate: bool = True, user: str = "analyst"):
    """Train query's configuration and register it as the next version of name."""
    return deploy_configuration(services.models, name, query, user, activate)


def instances(dataset: str, rows: slice = slice(0, 3)) -> list[dict[str, float]]:
    data = bundled_dataset(dataset)
    return [dict(zip(data.features, row, strict=True)) for row in data.X[rows].tolist()]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
