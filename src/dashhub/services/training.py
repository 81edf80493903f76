"""Model training and evaluation for the Explorateur ML: scikit-learn's bundled datasets, the five
models, one split, cross-validation, the report, the curves, importance and decision boundaries.

Pure functions of a configuration (same configuration and seed, same numbers on any host: every
estimator gets the seed and runs on one thread), plus MlService, which answers them through the
shared cache. Long runs report progress and stop at a deadline between steps.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import __version__ as SKLEARN_VERSION
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import auc, classification_report, confusion_matrix, roc_curve
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from dashhub.domain.ml import (
    Boundary,
    ClassRow,
    DatasetInfo,
    Distribution,
    ExplorerConfig,
    ExplorerResult,
    Importance,
    RocCurve,
)
from dashhub.services.cache import QueryCache

# Above this estimated time a configuration trains as a background job, not in the request.
INLINE_SECONDS = 0.5
TREES_PER_STEP = 25  # forests and boosting grow by this many trees between progress reports
MAX_ROC_POINTS = 300
MAX_PLOTTED_POINTS = 1000
GRID = 80  # decision boundary resolution per axis
PERMUTATION_REPEATS = 5
PERMUTATION_ROWS = 500
HISTOGRAM_BINS = 20
RESULTS_VERSION = 2  # bump when what a result holds changes: old cache entries are then ignored

Progress = Callable[[int, int], None]

# The same bound when scikit-learn was loaded before dashhub could set OMP_NUM_THREADS (see
# dashhub/__init__.py): no OpenMP pool that a forked job would inherit half-alive.
threadpool_limits(limits=1)


class TrainingStopped(Exception):
    """The run went past its deadline (a bound on what one user may take)."""


@dataclass(frozen=True)
class Dataset:
    name: str
    X: np.ndarray
    y: np.ndarray  # class index per row
    features: list[str]
    classes: list[str]
    complete_rows: int | None = None  # a user's dataset sampled down: its complete rows before


LOADERS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}


@functools.cache
def bundled_dataset(name: str) -> Dataset:
    """One of scikit-learn's bundled datasets (shipped with it: nothing is downloaded)."""
    bunch = LOADERS[name]()
    X = np.asarray(bunch.data, dtype=np.float64)
    X.setflags(write=False)
    y = np.asarray(bunch.target, dtype=np.int64)
    y.setflags(write=False)
    return Dataset(name, X, y, [str(f) for f in bunch.feature_names], [str(c) for c in bunch.target_names])


# --- estimators ---


def make_model(config: ExplorerConfig, n_train: int | None = None) -> ClassifierMixin:
    """The configured classifier (unfitted), seeded and single-threaded."""
    p = config.param_dict
    if config.model == "svm":
        return SVC(
            C=p["C"],
            kernel=p["kernel"],
            gamma=p.get("gamma", "scale"),
            degree=p.get("degree", 3),
            random_state=config.seed,
        )
    if config.model == "random_forest":
        return RandomForestClassifier(
            n_estimators=p["n_estimators"],
            max_depth=None if p["max_depth"] == "none" else p["max_depth"],
            min_samples_leaf=p["min_samples_leaf"],
            random_state=config.seed,
            n_jobs=1,
        )
    if config.model == "logistic_regression":
        return LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=config.seed)
    if config.model == "knn":
        k = p["n_neighbors"] if n_train is None else min(p["n_neighbors"], n_train)
        return KNeighborsClassifier(n_neighbors=k, weights=p["weights"], p=int(p["p"]), n_jobs=1)
    if config.model == "gradient_boosting":
        return GradientBoostingClassifier(
            n_estimators=p["n_estimators"],
            learning_rate=p["learning_rate"],
            max_depth=p["max_depth"],
            random_state=config.seed,
        )
    raise ValueError(f"unknown model {config.model!r}")


def fit(config: ExplorerConfig, X: np.ndarray, y: np.ndarray, tick: Callable[[], None]) -> Pipeline:
    """The configured pipeline (standardisation when asked, then the model) fitted on X, y.

    Forests and boosting grow TREES_PER_STEP trees at a time (warm start gives exactly the trees
    of one fit), calling tick() after each step: progress, and the chance to stop at a deadline.
    """
    steps = []
    data = X
    if config.scale:
        scaler = StandardScaler().fit(X)
        data = scaler.transform(X)
        steps.append(("scale", scaler))
    model = make_model(config, len(X))
    total = getattr(model, "n_estimators", None)
    if config.model in ("random_forest", "gradient_boosting") and total:
        model.set_params(warm_start=True)
        for grown in range(min(TREES_PER_STEP, total), total + TREES_PER_STEP, TREES_PER_STEP):
            model.set_params(n_estimators=min(grown, total))
            model.fit(data, y)
            tick()
            if grown >= total:
                break
        model.set_params(warm_start=False)
    else:
        model.fit(data, y)
        tick()
    steps.append(("model", model))
    return Pipeline(steps)


def fit_steps(config: ExplorerConfig) -> int:
    """How many times fit() calls tick()."""
    if config.model in ("random_forest", "gradient_boosting"):
        return math.ceil(config.param_dict["n_estimators"] / TREES_PER_STEP)
    return 1


def split(config: ExplorerConfig, data: Dataset):
    """Train and test rows: test_size percent, stratified if asked, seeded."""
    return train_test_split(
        data.X,
        data.y,
        test_size=config.test_size / 100,
        random_state=config.seed,
        stratify=data.y if config.stratify else None,
    )


# --- evaluation ---


def evaluate(
    config: ExplorerConfig,
    data: Dataset,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> tuple[ExplorerResult, Pipeline]:
    """Cross-validation on the training rows, the final fit, and every number the page shows."""
    per_fit = fit_steps(config)
    total = per_fit * ((config.cv or 0) + 1)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)
        if deadline is not None and time.monotonic() > deadline:
            raise TrainingStopped

    X_train, X_test, y_train, y_test = split(config, data)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ConvergenceWarning)
        cv_scores = _cross_validate(config, X_train, y_train, tick) if config.cv else []
        started = time.perf_counter()
        estimator = fit(config, X_train, y_train, tick)
        fit_seconds = time.perf_counter() - started
        predicted = estimator.predict(X_test)
    if any(issubclass(w.category, ConvergenceWarning) for w in seen):
        caught.append("convergence")

    n_classes = len(data.classes)
    result = ExplorerResult(
        config=config,
        info=DatasetInfo(
            name=data.name,
            samples=len(data.y),
            features=list(data.features),
            classes=list(data.classes),
            class_counts=np.bincount(data.y, minlength=n_classes).tolist(),
            train_counts=np.bincount(y_train, minlength=n_classes).tolist(),
            test_counts=np.bincount(y_test, minlength=n_classes).tolist(),
            complete_rows=data.complete_rows,
        ),
        accuracy=float(np.mean(predicted == y_test)),
        report=report_rows(y_test, predicted, data.classes),
        confusion=confusion_matrix(y_test, predicted, labels=range(n_classes)).tolist(),
        roc=roc_curves(estimator, X_test, y_test, data.classes),
        cv_scores=cv_scores,
        importance=native_importance(config, estimator, data.features),
        fit_seconds=fit_seconds,
        warnings=caught,
    )
    return result, estimator


def _cross_validate(config: ExplorerConfig, X: np.ndarray, y: np.ndarray, tick) -> list[float]:
    """Accuracy on each of k folds of the training rows (stratified when asked), seeded."""
    folds = (
        StratifiedKFold(config.cv, shuffle=True, random_state=config.seed)
        if config.stratify and np.bincount(y).min() >= config.cv
        else KFold(config.cv, shuffle=True, random_state=config.seed)
    )
    scores = []
    for train, test in folds.split(X, y):
        model = fit(config, X[train], y[train], tick)
        scores.append(float(np.mean(model.predict(X[test]) == y[test])))
    return scores


def report_rows(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> list[ClassRow]:
    """scikit-learn's classification report, as rows (per class, accuracy, macro, weighted)."""
    report = classification_report(
        y_true, y_pred, labels=range(len(classes)), target_names=classes, output_dict=True, zero_division=0
    )
    rows = [
        ClassRow(
            name,
            report[name]["precision"],
            report[name]["recall"],
            report[name]["f1-score"],
            int(report[name]["support"]),
        )
        for name in classes
    ]
    support = len(y_true)
    rows.append(ClassRow("accuracy", None, None, float(report["accuracy"]), support))
    for average in ("macro avg", "weighted avg"):
        row = report[average]
        rows.append(ClassRow(average, row["precision"], row["recall"], row["f1-score"], support))
    return rows


def class_scores(estimator, X: np.ndarray, n_classes: int) -> np.ndarray:
    """A score per row and class: probabilities when the model gives them, else its decision
    function (SVM), which ranks rows just as well for ROC curves."""
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    scores = estimator.decision_function(X)
    if scores.ndim == 1:  # binary: the score of class 1; class 0's is its opposite
        scores = np.column_stack([-scores, scores])
    return scores[:, :n_classes]


def roc_curves(estimator, X: np.ndarray, y: np.ndarray, classes: list[str]) -> list[RocCurve]:
    """One-vs-rest ROC curve and AUC per class (a class absent from the test rows has none)."""
    scores = class_scores(estimator, X, len(classes))
    curves = []
    for index, name in enumerate(classes):
        positive = y == index
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, scores[:, index])
        area = float(auc(fpr, tpr))
        if len(fpr) > MAX_ROC_POINTS:
            grid = np.linspace(0, 1, MAX_ROC_POINTS)
            tpr, fpr = np.interp(grid, fpr, tpr), grid
        curves.append(RocCurve(name, np.round(fpr, 4).tolist(), np.round(tpr, 4).tolist(), area))
    return curves


def native_importance(config: ExplorerConfig, estimator: Pipeline, features: list[str]) -> Importance | None:
    """The model's own importance: impurity for trees, |coefficients| for linear models on
    standardised features. None when it has none (permutation importance, computed on demand)."""
    model = estimator.named_steps["model"]
    if hasattr(model, "feature_importances_"):
        return _ranked("impurity", features, model.feature_importances_)
    if config.scale and getattr(model, "coef_", None) is not None:
        return _ranked("coefficients", features, np.abs(np.asarray(model.coef_)).mean(axis=0))
    return None


def permutation(config: ExplorerConfig, data: Dataset, estimator: Pipeline) -> Importance:
    """Accuracy lost when each feature's test values are shuffled (mean and spread of repeats)."""
    _X_train, X_test, _y_train, y_test = split(config, data)
    if len(y_test) > PERMUTATION_ROWS:
        keep = np.random.default_rng(config.seed).choice(len(y_test), PERMUTATION_ROWS, replace=False)
        X_test, y_test = X_test[keep], y_test[keep]
    found = permutation_importance(
        estimator, X_test, y_test, n_repeats=PERMUTATION_REPEATS, random_state=config.seed, n_jobs=1
    )
    return _ranked("permutation", data.features, found.importances_mean, found.importances_std)


def _ranked(kind: str, features: list[str], values, spread=None) -> Importance:
    order = np.argsort(-np.asarray(values), kind="stable")
    return Importance(
        kind,
        [features[i] for i in order],
        [float(values[i]) for i in order],
        None if spread is None else [float(spread[i]) for i in order],
    )


def boundary(config: ExplorerConfig, data: Dataset, axes: tuple[str, str] | None) -> Boundary:
    """The configured model trained on two axes — two features, or (axes None) the first two
    principal components of the standardised features — and its predicted class over a grid."""
    X_train, X_test, y_train, y_test = split(config, data)
    if axes is None:
        projection = Pipeline([("scale", StandardScaler()), ("pca", PCA(2, random_state=config.seed))])
        projection.fit(X_train)
        P_train, P_test = projection.transform(X_train), projection.transform(X_test)
        ratio = projection.named_steps["pca"].explained_variance_ratio_
        labels = (f"PC1 ({ratio[0]:.0%})", f"PC2 ({ratio[1]:.0%})")
    else:
        columns = [data.features.index(axes[0]), data.features.index(axes[1])]
        P_train, P_test = X_train[:, columns], X_test[:, columns]
        labels = axes
    model = fit(config, P_train, y_train, lambda: None)
    both = np.vstack([P_train, P_test])
    low, high = both.min(axis=0), both.max(axis=0)
    pad = (high - low) * 0.05 + 1e-9
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], GRID)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], GRID)
    grid_x, grid_y = np.meshgrid(xs, ys)
    z = model.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()])).reshape(GRID, GRID)
    return Boundary(
        x_label=labels[0],
        y_label=labels[1],
        x=np.round(xs, 4).tolist(),
        y=np.round(ys, 4).tolist(),
        z=z.astype(int).tolist(),
        points={
            "train": _points(P_train, y_train, config.seed),
            "test": _points(P_test, y_test, config.seed),
        },
        accuracy=float(np.mean(model.predict(P_test) == y_test)),
    )


def calibration(config: ExplorerConfig, data: Dataset, estimator: Pipeline):
    """For a model that gives no probabilities itself (SVM): a sigmoid calibration of the fitted
    pipeline on the test rows (its labels stay the model's own). None when it has probabilities."""
    if hasattr(estimator, "predict_proba"):
        return None
    _X_train, X_test, _y_train, y_test = split(config, data)
    return CalibratedClassifierCV(FrozenEstimator(estimator), method="sigmoid").fit(X_test, y_test)


def _points(P: np.ndarray, y: np.ndarray, seed: int) -> tuple[list[float], list[float], list[int]]:
    if len(y) > MAX_PLOTTED_POINTS:
        keep = np.sort(np.random.default_rng(seed).choice(len(y), MAX_PLOTTED_POINTS, replace=False))
        P, y = P[keep], y[keep]
    return np.round(P[:, 0], 4).tolist(), np.round(P[:, 1], 4).tolist(), y.astype(int).tolist()


def distribution(data: Dataset, feature: str) -> Distribution:
    """The feature's histogram for each class, on bins shared by every class."""
    values = data.X[:, data.features.index(feature)]
    edges = np.histogram_bin_edges(values, bins=HISTOGRAM_BINS)
    counts = {
        name: np.histogram(values[data.y == index], bins=edges)[0].tolist()
        for index, name in enumerate(data.classes)
    }
    return Distribution(feature, np.round(edges, 6).tolist(), counts)


# --- cost ---


def estimated_seconds(config: ExplorerConfig, samples: int, features: int, classes: int) -> float:
    """A deliberately generous estimate of evaluate()'s time on this machine (fits × one fit),
    measured per model on the bundled datasets (bench/bench_ml.py prints both)."""
    n = samples * (1 - config.test_size / 100)
    d = max(features, 1)
    p = config.param_dict
    if config.model == "svm":
        one = 1 + 1e-5 * n * n * d / 30
    elif config.model == "random_forest":
        one = p["n_estimators"] * (0.5 + 1e-4 * n * math.log2(max(n, 2)) * math.sqrt(d))
    elif config.model == "gradient_boosting":
        trees = p["n_estimators"] * (1 if classes <= 2 else classes)
        one = trees * (0.5 + 1e-4 * n * d)
    elif config.model == "logistic_regression":
        iterations = 50 if config.scale else p["max_iter"]
        one = 2 + iterations * n * d * max(classes, 2) * 4e-6
    else:  # knn: fitting is storing; predicting costs test rows × train rows
        one = 1 + n * n * d * 2e-7
    fits = 1 + (config.cv or 0)
    return (fits * one + 20) / 1000


def trains_inline(config: ExplorerConfig, data: Dataset) -> bool:
    return estimated_seconds(config, len(data.y), len(data.features), len(data.classes)) <= INLINE_SECONDS


# --- the service ---


class MlService:
    """The explorer's questions, answered through the shared cache (any worker, any host)."""

    def __init__(self, cache: QueryCache, user_data=None) -> None:
        self._cache = cache
        # users' own datasets (services.dataset_models.DatasetModels): load(name), revision(name)
        self._user_data = user_data

    def dataset(self, name: str) -> Dataset:
        """A bundled dataset, or a user's modelled one (« user-12 »: access is checked where the
        name comes in, by the explorer)."""
        if name in LOADERS or self._user_data is None:
            return bundled_dataset(name)
        return self._user_data.load(name)

    def _key(self, what: str, args: tuple, dataset: str) -> str:
        """A cache key; a user's dataset adds its revision (its file and how it is modelled), so
        that a type change or a new target never answers from an older result."""
        revision = "" if dataset in LOADERS or self._user_data is None else self._user_data.revision(dataset)
        return QueryCache.key("ml", RESULTS_VERSION, what, (*args, revision, SKLEARN_VERSION))

    def result_key(self, config: ExplorerConfig) -> str:
        return self._key("result", (config.fingerprint(),), config.dataset)

    def cached(self, config: ExplorerConfig) -> ExplorerResult | None:
        return self._cache.peek(self.result_key(config))

    def store(self, config: ExplorerConfig, result: ExplorerResult) -> None:
        self._cache.put(self.result_key(config), result)

    def explore(self, config: ExplorerConfig) -> ExplorerResult:
        """The result for config, from the cache or computed now (use only for inline configs)."""
        return self._cache.get_or_compute(
            self.result_key(config), lambda: evaluate(config, self.dataset(config.dataset))[0]
        )

    def run(self, config: ExplorerConfig, progress: Progress, deadline: float) -> ExplorerResult:
        """Compute and store the result for config, reporting progress (a background job)."""
        result, _ = evaluate(config, self.dataset(config.dataset), progress, deadline)
        self.store(config, result)
        return result

    def permutation_importance(self, config: ExplorerConfig) -> Importance:
        def compute() -> Importance:
            data = self.dataset(config.dataset)
            X_train, _X_test, y_train, _y_test = split(config, data)
            return permutation(config, data, fit(config, X_train, y_train, lambda: None))

        return self._cache.get_or_compute(
            self._key("permutation", (config.fingerprint(),), config.dataset), compute
        )

    def boundary(self, config: ExplorerConfig, axes: tuple[str, str] | None) -> Boundary:
        return self._cache.get_or_compute(
            self._key("boundary", (config.fingerprint(), axes), config.dataset),
            lambda: boundary(config, self.dataset(config.dataset), axes),
        )

    def distribution(self, dataset: str, feature: str) -> Distribution:
        return self._cache.get_or_compute(
            self._key("distribution", (dataset, feature), dataset),
            lambda: distribution(self.dataset(dataset), feature),
        )

    def fitted(self, config: ExplorerConfig, progress: Progress | None = None, deadline: float | None = None):
        """The configured pipeline fitted on the training rows (what a deployment saves), with
        its result."""
        return evaluate(config, self.dataset(config.dataset), progress, deadline)
