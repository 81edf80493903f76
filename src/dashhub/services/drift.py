"""Feature drift of a served model: the live inputs tested against the reference sample saved at deploy
time (KS with Benjamini–Hochberg across features, Wasserstein, PSI, chi-square for categories)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

PSI_EPSILON = 1e-4


@dataclass(frozen=True)
class DriftSettings:
    alpha: float = 0.05  # false-discovery rate of the per-feature tests (Benjamini–Hochberg)
    min_samples: int = 50  # fewer current rows than this: not tested (enough_data False)
    dataset_share: float = 0.3  # dataset-level drift when at least this share of tested features drifted
    psi_bins: int = 10

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must lie in (0, 1), got {self.alpha}")
        if self.min_samples < 1:
            raise ValueError(f"min_samples must be at least 1, got {self.min_samples}")
        if not 0.0 < self.dataset_share <= 1.0:
            raise ValueError(f"dataset_share must lie in (0, 1], got {self.dataset_share}")
        if self.psi_bins < 1:
            raise ValueError(f"psi_bins must be at least 1, got {self.psi_bins}")


DEFAULT_SETTINGS = DriftSettings()


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    n_reference: int
    n_current: int
    reference_mean: float
    reference_std: float  # sample std, ddof=1
    current_mean: float
    current_std: float
    ks_statistic: float
    ks_pvalue: float
    p_adjusted: float  # Benjamini–Hochberg over the features tested together
    wasserstein: float  # scipy.stats.wasserstein_distance(reference, current)
    wasserstein_scaled: float  # wasserstein / reference_std (0 when reference_std is 0)
    psi: float
    drifted: bool  # p_adjusted < alpha

    @property
    def tested(self) -> bool:
        return not math.isnan(self.ks_statistic)


@dataclass(frozen=True)
class CategoricalDrift:
    chi2: float
    pvalue: float
    dof: int
    reference_share: dict[str, float]
    current_share: dict[str, float]
    drifted: bool  # pvalue < alpha


@dataclass(frozen=True)
class DriftReport:
    features: list[FeatureDrift]  # most drifted first: by p_adjusted ascending, then ks_statistic descending
    enough_data: bool  # n_current >= min_samples
    drifted_share: float  # drifted / tested (0.0 when nothing tested)
    dataset_drift: bool  # enough_data and drifted_share >= dataset_share


def benjamini_hochberg(pvalues: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (step-up, monotone, capped at 1), in the order given."""
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError("pvalues must be one-dimensional")
    if p.size == 0:
        return p.copy()
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p-values must lie in [0, 1]")
    order = np.argsort(p)
    ranks = np.arange(1, p.size + 1)
    stepped = p[order] * p.size / ranks
    # step-up: each adjusted value is the smallest of its own and every larger p-value's
    monotone = np.minimum.accumulate(stepped[::-1])[::-1]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(monotone, 1.0)
    return adjusted


def population_stability_index(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of current against reference, on bins cut at the reference's quantiles.

    Non-finite values are ignored. Bin shares are floored at PSI_EPSILON so an empty bin costs a large but
    finite amount. When the reference's quantiles leave a single bin (a constant or almost constant
    reference, e.g. an imbalanced 0/1 flag), the bins separate its point masses instead: below the
    smallest quantile, at it, between, at the largest, above it (for a constant: below, equal, above).
    """
    ref = _finite(reference)
    cur = _finite(current)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("population_stability_index needs at least one finite value on each side")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)))
    if len(edges) > 2 or bins == 1:
        inner = edges[1:-1]
        ref_share = _interval_shares(ref, inner)
        cur_share = _interval_shares(cur, inner)
    else:
        ref_share = _point_mass_shares(ref, edges[0], edges[-1])
        cur_share = _point_mass_shares(cur, edges[0], edges[-1])
    ref_share = np.maximum(ref_share, PSI_EPSILON)
    cur_share = np.maximum(cur_share, PSI_EPSILON)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def numeric_drift(
    reference: Mapping[str, np.ndarray],
    current: Mapping[str, np.ndarray],
    settings: DriftSettings = DEFAULT_SETTINGS,
) -> DriftReport:
    """Test every feature present in both samples: KS (BH-adjusted across features), Wasserstein, PSI.

    Non-finite values are dropped first. A feature is tested when it keeps at least min_samples current
    values and two reference values; the others are reported with their means and stds only (test
    fields NaN, p-values 1.0, not drifted). enough_data is True when at least one feature was tested.
    """
    names = [name for name in reference if name in current]
    samples = {name: (_finite(reference[name]), _finite(current[name])) for name in names}
    tested = [
        name for name, (ref, cur) in samples.items() if cur.size >= settings.min_samples and ref.size >= 2
    ]
    ks = {name: stats.ks_2samp(*samples[name]) for name in tested}
    adjusted = dict(zip(tested, benjamini_hochberg([float(ks[name].pvalue) for name in tested]), strict=True))

    features = []
    for name, (ref, cur) in samples.items():
        ref_mean, ref_std = _mean_std(ref)
        cur_mean, cur_std = _mean_std(cur)
        if name in ks:
            wasserstein = float(stats.wasserstein_distance(ref, cur))
            p_adjusted = float(adjusted[name])
            test_fields = {
                "ks_statistic": float(ks[name].statistic),
                "ks_pvalue": float(ks[name].pvalue),
                "p_adjusted": p_adjusted,
                "wasserstein": wasserstein,
                "wasserstein_scaled": wasserstein / ref_std if ref_std > 0 else 0.0,
                "psi": population_stability_index(ref, cur, settings.psi_bins),
                "drifted": p_adjusted < settings.alpha,
            }
        else:
            test_fields = {
                "ks_statistic": math.nan,
                "ks_pvalue": 1.0,
                "p_adjusted": 1.0,
                "wasserstein": math.nan,
                "wasserstein_scaled": math.nan,
                "psi": math.nan,
                "drifted": False,
            }
        features.append(
            FeatureDrift(
                feature=name,
                n_reference=int(ref.size),
                n_current=int(cur.size),
                reference_mean=ref_mean,
                reference_std=ref_std,
                current_mean=cur_mean,
                current_std=cur_std,
                **test_fields,
            )
        )

    # untested features (NaN statistic) sort as statistic 0, after every tested one with the same p
    features.sort(key=lambda f: (f.p_adjusted, -f.ks_statistic if f.tested else 0.0))
    n_drifted = sum(f.drifted for f in features)
    enough_data = bool(tested)
    drifted_share = n_drifted / len(tested) if tested else 0.0
    return DriftReport(
        features=features,
        enough_data=enough_data,
        drifted_share=drifted_share,
        dataset_drift=enough_data and drifted_share >= settings.dataset_share,
    )


def categorical_drift(
    reference_counts: Mapping[str, int],
    current_counts: Mapping[str, int],
    alpha: float = 0.05,
) -> CategoricalDrift:
    """Chi-square test of homogeneity of the label counts (scipy's default continuity correction on 2x2)."""
    if any(count < 0 for count in (*reference_counts.values(), *current_counts.values())):
        raise ValueError("counts must not be negative")
    categories = [
        category
        for category in dict.fromkeys([*reference_counts, *current_counts])
        if reference_counts.get(category, 0) + current_counts.get(category, 0) > 0
    ]
    table = np.array(
        [
            [reference_counts.get(category, 0) for category in categories],
            [current_counts.get(category, 0) for category in categories],
        ],
        dtype=float,
    ).reshape(2, len(categories))
    reference_share = _shares(categories, table[0])
    current_share = _shares(categories, table[1])
    if len(categories) < 2 or table[0].sum() == 0 or table[1].sum() == 0:
        return CategoricalDrift(0.0, 1.0, 0, reference_share, current_share, drifted=False)
    result = stats.chi2_contingency(table)
    pvalue = float(result.pvalue)
    return CategoricalDrift(
        chi2=float(result.statistic),
        pvalue=pvalue,
        dof=int(result.dof),
        reference_share=reference_share,
        current_share=current_share,
        drifted=pvalue < alpha,
    )


def _finite(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    return array[np.isfinite(array)]


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    # explicit NaN instead of numpy's empty-slice warnings
    mean = float(values.mean()) if values.size else math.nan
    std = float(values.std(ddof=1)) if values.size > 1 else math.nan
    return mean, std


def _interval_shares(values: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    """Shares in (-inf, e1), [e1, e2), ..., [ek, inf): np.histogram's convention, open at both ends."""
    bin_index = np.searchsorted(inner_edges, values, side="right")
    return np.bincount(bin_index, minlength=len(inner_edges) + 1) / values.size


def _point_mass_shares(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if low == high:
        masks = [values < low, values == low, values > low]
    else:
        masks = [values < low, values == low, (values > low) & (values < high), values == high, values > high]
    return np.array([mask.mean() for mask in masks])


def _shares(categories: list[str], counts: np.ndarray) -> dict[str, float]:
    total = counts.sum()
    return {
        category: float(count / total) if total else 0.0
        for category, count in zip(categories, counts, strict=True)
    }
