"""Statistics of multi-seed studies: intervals, time-to-threshold with censoring, paired comparisons, ceilings.

Every function takes NumPy-like arrays, one value per run (seed); the `Study` methods in `bn_course.study` call
them with the columns of `Study.runs`. The formulas and their sources:

- `mean_confidence_interval`: Student t interval of a mean, mean -/+ t_{(1+c)/2, n-1} s / sqrt(n).
- `restricted_mean_epochs`: epochs-to-threshold are time-to-event data. A run that never reaches the threshold
  within E epochs is right-censored at E (we only know T > E), never dropped: dropping it keeps only the
  survivors, so a configuration that often fails looks fast. The summary is the restricted mean survival time
  (RMST) E[min(T, E)] (Royston & Parmar, BMC Med. Res. Methodol. 13:152, 2013), the area under the
  Kaplan-Meier survival curve up to E; every run is censored at the same E, so it is the plain mean of
  min(T, E) over the runs and its interval is the t interval of those values.
- `kaplan_meier`: the Kaplan-Meier estimate (Kaplan & Meier, JASA 53:457, 1958) of the fraction of runs that
  have reached the threshold by epoch e, via `scipy.stats.ecdf` on `scipy.stats.CensoredData`, with
  Greenwood's pointwise interval.
- `paired_difference`: runs of two configurations that share a seed share the data order and (for the same
  architecture) the initial weights, so they are compared pair by pair: the mean of the differences b - a and the
  paired Student t interval, `scipy.stats.ttest_rel(b, a).confidence_interval()`. Two separate intervals that
  overlap do not mean "no difference": overlap is never used as a test.
- `decide`: the decision rule read from that interval and a margin stated beforehand; whether the interval
  excludes 0 (a difference) and whether it lies within the margin (no practical difference) are two separate
  questions, so a clearly non-zero but small difference is reported as both. "Within the margin" is the
  interval-inclusion form of equivalence testing (Schuirmann, J. Pharmacokinet. Biopharm. 15:657, 1987; Walker &
  Nowacki, J. Gen. Intern. Med. 26:192, 2011); with a 95 % interval it is two one-sided tests at 2.5 % each,
  stricter than the 90 % interval of the usual 5 % test.
- `multiplicity_note`: each interval is a per-comparison 95 % interval, with no family-wise adjustment.
- `bayes_accuracy_circles`: the best accuracy any classifier can reach on `make_circles`, from its generating
  process; `test_set_standard_error`: the binomial sampling error of an accuracy measured on a fixed test set.
"""
import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy import integrate, optimize, special, stats

from bn_course.arguments import check_noise, is_integer, is_real

UNDECIDED, DIFFERENCE, NO_PRACTICAL_DIFFERENCE = "undecided", "a difference", "no practical difference"
SMALLER_THAN_MARGIN = "smaller than the margin"


# ---------------------------------------------------------------------------------------------------------------
# Intervals of a mean
# ---------------------------------------------------------------------------------------------------------------

def mean_confidence_interval(values, confidence=0.95):
    """Mean of `values` and the Student t confidence interval of that mean.

    Inputs:
    - values: array-like of numbers, one per run (NaNs are dropped). For epochs-to-threshold, whose NaNs are
      runs that never reached it, use `restricted_mean_epochs` instead: dropping them is survivor bias.
    - confidence: coverage of the interval.

    Returns (mean, low, high): low/high = mean -/+ t_{(1+confidence)/2, n-1} * s / sqrt(n), with s the
    sample standard deviation (ddof=1) and t the quantile of Student's t with n - 1 degrees of freedom
    (scipy.stats.t). With a single value the interval is undefined: (value, nan, nan); with none,
    (nan, nan, nan). Raises ValueError for a confidence outside (0, 1) (e.g. 95 instead of 0.95).
    """
    _check_confidence(confidence)
    array = np.asarray(values, dtype=float).ravel()
    array = array[~np.isnan(array)]
    if array.size == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(array.mean())
    if array.size == 1:
        return (mean, np.nan, np.nan)
    half_width = float(t_half_width(array[:, None], confidence)[0])
    return (mean, mean - half_width, mean + half_width)


def t_half_width(samples, confidence=0.95):
    """Half-width of the Student t interval of the mean, per column of `samples`.

    - samples: array of shape (n, k): n runs (rows, n >= 2) of k quantities (e.g. k epochs).
    Returns an array (k,): t_{(1+confidence)/2, n-1} * s / sqrt(n), s the column standard deviation (ddof=1).
    """
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[0] < 2:
        raise ValueError(f"samples must have shape (n, k) with n >= 2 runs; got shape {samples.shape}.")
    n = samples.shape[0]
    standard_error = samples.std(axis=0, ddof=1) / np.sqrt(n)
    return stats.t.ppf((1 + confidence) / 2, df=n - 1) * standard_error



# ---------------------------------------------------------------------------------------------------------------
# Epochs to a threshold: time-to-event data, censored at the last epoch
# ---------------------------------------------------------------------------------------------------------------

def censored_epochs(epochs, last_epoch):
    """Epochs-to-threshold as right-censored observations.

    - epochs: 1-D array-like, one value per run: the 1-based epoch at which the run reached the threshold, NaN
      (or None) if it never did within `last_epoch` epochs.
    - last_epoch: positive integer, the number of epochs every run trained (the censoring time).

    Returns (times, reached): times = min(T, last_epoch) as floats (a never-reached run counts `last_epoch`,
    a lower bound of its true time), reached = boolean array, True where the threshold was reached.
    Raises ValueError for a non-1-D input, a non-integer last_epoch, or an epoch outside 1..last_epoch.
    """
    last_epoch = _check_last_epoch(last_epoch)
    values = _one_dimensional(epochs, "epochs", dtype=float)
    reached = ~np.isnan(values)
    outside = reached & ((values < 1) | (values > last_epoch) | (values != np.round(values)))
    if outside.any():
        raise ValueError(f"epochs must be whole epochs between 1 and last_epoch={last_epoch} (NaN for runs that "
                         f"never reached the threshold); got {values[outside][:5].tolist()}.")
    return np.where(reached, values, float(last_epoch)), reached


def restricted_mean_epochs(epochs, last_epoch, confidence=0.95):
    """Restricted mean epochs-to-threshold, E[min(T, last_epoch)], with its Student t interval.

    - epochs: 1-D array-like, one value per run, NaN for runs that never reached the threshold (censored).
    - last_epoch: the number of epochs every run trained, E.
    - confidence: coverage of the interval.

    Returns (mean, low, high) in epochs, computed as `mean_confidence_interval(min(T, E))`. This is the
    restricted mean survival time up to E (Royston & Parmar 2013): the area under the Kaplan-Meier curve of
    "not yet reached", sum_{e=0}^{E-1} S(e), which equals the mean of min(T, E) because every run is censored
    at the same E. Never-reached runs count E epochs; a run reaching the threshold at epoch E counts the same.
    The old summary averaged reached runs only (survivor bias): for studies where every run reaches the
    threshold both give the same number.
    """
    times, _ = censored_epochs(epochs, last_epoch)
    return mean_confidence_interval(times, confidence)


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier estimate of the fraction of runs that have reached a threshold, epoch by epoch.

    - epochs: int array (E + 1,) = 0, 1, ..., last_epoch.
    - fraction_reached: float array (E + 1,), the estimated P(T <= e) (0 at epoch 0); a step function, right-
      continuous: the runs that reach the threshold at epoch e are counted at e.
    - ci_low, ci_high: float arrays (E + 1,), Greenwood's pointwise interval at `confidence`.
    - n, n_reached, last_epoch, confidence: the number of runs, how many reached the threshold, the censoring
      epoch, the coverage.
    """

    epochs: np.ndarray
    fraction_reached: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: int
    n_reached: int
    last_epoch: int
    confidence: float

    @property
    def restricted_mean(self):
        """Area under the curve of "not yet reached" up to last_epoch: sum_{e=0}^{E-1} (1 - F(e)), in epochs."""
        return float(np.sum(1.0 - self.fraction_reached[:-1]))


def kaplan_meier(epochs, last_epoch, confidence=0.95):
    """Kaplan-Meier curve of epochs-to-threshold, the never-reached runs censored at `last_epoch`.

    - epochs: 1-D array-like, one value per run (1-based epoch, NaN if never reached).
    - last_epoch: the number of epochs every run trained.
    - confidence: coverage of the pointwise interval.

    Returns a `KaplanMeier`. Computed by `scipy.stats.ecdf(scipy.stats.CensoredData(uncensored=reached epochs,
    right=[last_epoch] * never_reached)).cdf`, the Kaplan-Meier estimator of the CDF; with censoring only at the
    last epoch it equals the plain fraction of runs that reached the threshold by epoch e. The interval is
    Greenwood's ("linear" in scipy), clipped to [0, 1]; where the estimate has no variance (fraction 0 or 1) it
    equals the estimate.
    """
    _check_confidence(confidence)
    times, reached = censored_epochs(epochs, last_epoch)
    if times.size == 0:
        raise ValueError("epochs must hold at least one run; got an empty array.")
    grid = np.arange(0, int(last_epoch) + 1)
    n_reached = int(reached.sum())
    if n_reached == 0:  # scipy's interval is undefined without events: nothing reached, no uncertainty about 0
        zeros = np.zeros(grid.size)
        return KaplanMeier(grid, zeros, zeros, zeros, int(times.size), 0, int(last_epoch), confidence)
    result = stats.ecdf(stats.CensoredData(uncensored=times[reached], right=times[~reached])).cdf
    fraction = result.evaluate(grid)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        interval = result.confidence_interval(confidence_level=confidence)
        low, high = interval.low.evaluate(grid), interval.high.evaluate(grid)
    low = np.clip(np.where(np.isnan(low), fraction, low), 0, 1)
    high = np.clip(np.where(np.isnan(high), fraction, high), 0, 1)
    return KaplanMeier(grid, fraction, low, high, int(times.size), n_reached, int(last_epoch), confidence)


# ---------------------------------------------------------------------------------------------------------------
# Paired comparisons
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PairedComparison:
    """The paired difference b - a of one metric over runs that share their seeds, and the decision it supports.

    Fields: a, b (names), metric, unit ("epochs", "accuracy", ...), n (pairs), mean_difference (b - a), ci_low,
    ci_high, confidence, margin, decision (the words of `decide`: "a difference", "a difference, smaller than the
    margin +-m (no practical difference)", "no practical difference (within +-m)" or "undecided with n seeds"),
    a_reached, b_reached (runs that reached the threshold, for time metrics; None
    otherwise), last_epoch (censoring epoch of time metrics, else None), differences (array (n,) of b - a per
    pair, after censoring), p_value (of the paired t test of "mean difference = 0").
    """

    a: str
    b: str
    metric: str
    unit: str
    n: int
    mean_difference: float
    ci_low: float
    ci_high: float
    confidence: float
    margin: float
    decision: str
    differences: np.ndarray
    p_value: float
    a_reached: int = None
    b_reached: int = None
    last_epoch: int = None

    def __str__(self):
        return comparison_line(self.as_row(), last_epoch=self.last_epoch)

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def as_row(self):
        """The fields as a dict (without the per-pair differences), one row of `Study.comparisons`."""
        return {"a": self.a, "b": self.b, "metric": self.metric, "unit": self.unit, "n": self.n,
                "mean_difference": self.mean_difference, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "confidence": self.confidence, "margin": self.margin, "a_reached": self.a_reached,
                "b_reached": self.b_reached, "p_value": self.p_value, "decision": self.decision}


def decide(ci_low, ci_high, margin, n):
    """The decision rule of the course, in words, for an interval [ci_low, ci_high] of a difference over n pairs.

    Two questions, both read from the interval: does it exclude 0 (is there a difference at all)? does it lie
    within [-margin, +margin] (is any difference it allows too small to matter)? Hence four answers:
    1. excludes 0, within the margin -> "a difference, smaller than the margin +-margin (no practical difference)":
       the sign is known, and even the largest plausible size does not matter in practice;
    2. excludes 0, reaches past the margin -> "a difference";
    3. contains 0, within the margin -> "no practical difference (within +-margin)";
    4. contains 0, reaches past the margin -> "undecided with n seeds" (more seeds narrow the interval).
    An interval touching the margin counts as within it. Inputs: the interval's ends and the margin in the
    metric's units (margin >= 0), n the number of pairs. Returns a str.
    """
    excludes_zero = ci_low > 0 or ci_high < 0
    within_margin = -margin <= ci_low and ci_high <= margin
    if excludes_zero and within_margin:
        return f"{DIFFERENCE}, {SMALLER_THAN_MARGIN} \u00b1{margin:g} ({NO_PRACTICAL_DIFFERENCE})"
    if excludes_zero:
        return DIFFERENCE
    if within_margin:
        return f"{NO_PRACTICAL_DIFFERENCE} (within \u00b1{margin:g})"
    return f"{UNDECIDED} with {n} seeds"


def confidence_label(confidence):
    """A confidence as the course prints it: percent with at most one decimal and a unit, e.g. 0.95 -> "95 %",
    1 - 0.05 / 7 -> "99.3 %" (an interval's level needs no more digits than that to be read)."""
    return f"{round(confidence * 100, 1):g} %"


def comparison_line(row, *, last_epoch=None):
    """One readable line for a paired comparison: "b - a, metric: mean unit, 95 % CI [low, high], n seeds paired;
    reached ...; margin +-m -> decision".

    - row: a mapping with the keys of `PairedComparison.as_row` (a `Study.comparisons` row as a dict works).
    - last_epoch: the censoring epoch of a time metric, named in the line (None otherwise).
    Epochs are shown with 1 decimal, other units with 3. Returns a str.
    """
    unit = row["unit"]
    digits = 1 if unit == "epochs" else 3
    metric = row["metric"] or "difference"
    if last_epoch is not None:
        metric += f" (censored at epoch {last_epoch})"
    n = row["n"]
    text = (f"{row['b']} - {row['a']}, {metric}: {row['mean_difference']:+.{digits}f}{f' {unit}' if unit else ''}, "
            f"{confidence_label(row['confidence'])} CI [{row['ci_low']:+.{digits}f}, {row['ci_high']:+.{digits}f}], "
            f"{n} seeds paired")
    if not _is_missing(row["a_reached"]):
        text += f"; reached {row['a_reached']}/{n} ({row['a']}) vs {row['b_reached']}/{n} ({row['b']})"
    return f"{text}; margin \u00b1{row['margin']:g} -> {row['decision']}"


def multiplicity_note(n_comparisons, confidence=0.95):
    """The one-line caveat printed under a table of several comparisons: each interval is per comparison.

    With k comparisons at confidence c and no true difference anywhere, about (1 - c) k intervals exclude 0 by
    chance (each has probability 1 - c to; e.g. 0.05 x 10 = 0.5 false "differences" expected in a table of 10).
    The course does not adjust for this: each comparison answers its own question, stated before the
    measurement, with a margin, and an adjustment (Bonferroni: confidence 1 - (1 - c) / k) would widen every
    interval the notebooks read. `comparison_report(..., family_wise=True)` prints the family-wise reading beside
    it (`at_confidence`).

    - n_comparisons: positive integer, the number of comparisons in the table.
    - confidence: the per-comparison coverage used in the table.
    Returns a str. Raises ValueError for a non-positive or non-integer count.
    """
    _check_confidence(confidence)
    if not is_integer(n_comparisons) or n_comparisons < 1:
        raise ValueError(f"n_comparisons must be a positive integer, the number of comparisons in the table; got "
                         f"{n_comparisons!r}.")
    level, error = confidence_label(confidence), 1 - confidence
    if n_comparisons == 1:
        return f"1 comparison; its {level} CI has a {confidence_label(error)} chance to exclude 0 when nothing differs."
    return (f"{n_comparisons} comparisons, each with its own {level} CI (no family-wise adjustment): when nothing "
            f"differs, about {error:g} x {n_comparisons} = {error * n_comparisons:.2g} of them would read "
            f"\"a difference\" by chance.")


def comparison_report(comparisons, *, family_wise=False):
    """The lines of several paired comparisons followed by `multiplicity_note`, as one str to print.

    - comparisons: a non-empty list of `PairedComparison`, or the DataFrame of `Study.comparisons` (one row per
      comparison, the columns of `PairedComparison.as_row`; a DataFrame carries no censoring epoch, so its lines
      do not name it).
    - family_wise: also print the k decisions again with every interval at Bonferroni's confidence
      1 - (1 - c) / k, so that all k hold at once with probability >= c (`at_confidence`; a list of
      PairedComparison only, since a DataFrame holds no per-pair differences).
    Returns a str, one line per comparison and the note last (then the family-wise lines). Raises TypeError for
    anything else, ValueError for an empty input, mixed confidences, or family_wise with a DataFrame.
    """
    is_list = isinstance(comparisons, (list, tuple)) and all(isinstance(c, PairedComparison) for c in comparisons)
    if is_list:
        lines = [str(comparison) for comparison in comparisons]
        confidences = {comparison.confidence for comparison in comparisons}
    elif hasattr(comparisons, "to_dict") and hasattr(comparisons, "columns"):
        rows = comparisons.to_dict("records")
        lines = [comparison_line(row) for row in rows]
        confidences = {row["confidence"] for row in rows}
    else:
        raise TypeError("comparisons must be a list of PairedComparison (from paired_difference / Study.compare) or "
                        f"the DataFrame of Study.comparisons; got {type(comparisons).__name__}.")
    if not lines:
        raise ValueError("comparisons is empty: there is nothing to report.")
    if len(confidences) != 1:
        raise ValueError(f"the comparisons of one table must share one confidence; got {sorted(confidences)}.")
    confidence = confidences.pop()
    report = [*lines, multiplicity_note(len(lines), confidence)]
    if family_wise:
        if not is_list:
            raise ValueError("family_wise needs the PairedComparison objects (their per-pair differences); a "
                             "DataFrame of Study.comparisons holds only their intervals.")
        wide = 1 - (1 - confidence) / len(lines)
        report.append(f"the same {len(lines)} decisions with each interval at {confidence_label(wide)} (Bonferroni: "
                      f"all {len(lines)} intervals hold at once with probability >= {confidence_label(confidence)}):")
        report += [f"  {at_confidence(comparison, wide)}" for comparison in comparisons]
    return "\n".join(report)


def paired_difference(a, b, *, margin, confidence=0.95, last_epoch=None, a_name="a", b_name="b", metric="",
                      unit=""):
    """Mean paired difference b - a with its Student t interval and the decision of `decide`.

    - a, b: 1-D array-likes of the same length n >= 2, paired by position (entry i of both comes from seed i).
    - margin: number >= 0 in the metric's units, the largest difference that does not matter in practice
      (e.g. 3 epochs, 0.01 accuracy). State it before looking at the result.
    - confidence: coverage of the interval.
    - last_epoch: for epochs-to-threshold (NaN = never reached), the number of epochs trained: both sides are
      censored to min(T, last_epoch) (see `censored_epochs`) and the reached counts are recorded. Without it,
      a NaN is an error.
    - a_name, b_name, metric, unit: labels for the printed result.

    With last_epoch, unequal reached counts never give "no practical difference": that decision becomes
    "undecided ..." (or, when the interval excludes 0, "a difference, its size undecided ...") with the counts,
    since censored times near the horizon agree whether a run settled at the last epoch or never.

    Returns a `PairedComparison`. The interval is `scipy.stats.ttest_rel(b, a).confidence_interval(confidence)`,
    i.e. mean(d) -/+ t_{(1+c)/2, n-1} s_d / sqrt(n) for d = b - a (paired Student t); when all differences
    are equal it is that single value. Raises ValueError, saying what was expected, for unpaired lengths,
    arrays that are not 1-D, fewer than 2 pairs, NaNs without last_epoch, or a negative margin.
    """
    _check_confidence(confidence)
    if not is_real(margin) or not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0 in the metric's units (e.g. 3 for epochs, 0.01 for "
                         f"accuracy); got {margin!r}.")
    a_values = _one_dimensional(a, "a", dtype=float)
    b_values = _one_dimensional(b, "b", dtype=float)
    if a_values.size != b_values.size:
        raise ValueError(f"a and b must be paired: one value per seed for both, in the same seed order; got "
                         f"{a_values.size} values for a and {b_values.size} for b.")
    if a_values.size < 2:
        raise ValueError(f"a paired interval needs at least 2 pairs (seeds); got {a_values.size}.")
    a_reached = b_reached = None
    if last_epoch is not None:
        a_values, a_hit = censored_epochs(a_values, last_epoch)
        b_values, b_hit = censored_epochs(b_values, last_epoch)
        a_reached, b_reached, last_epoch = int(a_hit.sum()), int(b_hit.sum()), int(last_epoch)
        unit = unit or "epochs"
    elif np.isnan(a_values).any() or np.isnan(b_values).any():
        raise ValueError("a and b contain NaN. For epochs-to-threshold (NaN = never reached) pass last_epoch=... "
                         "so that those runs are censored at the last epoch instead of dropped.")
    differences = b_values - a_values
    mean = float(differences.mean())
    low, high, p_value = _paired_interval(differences, confidence)
    return PairedComparison(a=str(a_name), b=str(b_name), metric=str(metric), unit=str(unit), n=int(differences.size),
                            mean_difference=mean, ci_low=low, ci_high=high, confidence=confidence,
                            margin=float(margin), decision=_censored_decision(low, high, margin, differences.size,
                                                                              a_reached, b_reached, last_epoch),
                            differences=differences, p_value=p_value, a_reached=a_reached, b_reached=b_reached,
                            last_epoch=last_epoch)


def at_confidence(comparison, confidence):
    """`comparison` (a PairedComparison) with its interval and decision at another confidence, from the same pairs.

    Used for family-wise readings: with k comparisons, Bonferroni's 1 - 0.05 / k per interval makes all k hold at
    once with probability >= 95 %. Returns a new PairedComparison. Raises ValueError for a confidence outside
    (0, 1), TypeError for anything but a PairedComparison.
    """
    if not isinstance(comparison, PairedComparison):
        raise TypeError(f"comparison must be a PairedComparison (from paired_difference / Study.compare); got "
                        f"{type(comparison).__name__}.")
    _check_confidence(confidence)
    low, high, _ = _paired_interval(comparison.differences, confidence)
    decision = _censored_decision(low, high, comparison.margin, comparison.n, comparison.a_reached,
                                  comparison.b_reached, comparison.last_epoch)
    return replace(comparison, ci_low=low, ci_high=high, confidence=confidence, decision=decision)


def _paired_interval(differences, confidence):
    """(low, high, p value) of the paired Student t interval of the mean of `differences` (n,): scipy's
    ttest_1samp against 0, the same test as ttest_rel(b, a) on the pairs."""
    mean = float(differences.mean())
    if np.all(differences == differences[0]):  # no spread: scipy warns and divides by zero
        return mean, mean, 1.0 if mean == 0 else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "precision loss" for nearly equal differences
        result = stats.ttest_1samp(differences, 0.0)
        interval = result.confidence_interval(confidence_level=confidence)
    return float(interval.low), float(interval.high), float(result.pvalue)


def _censored_decision(low, high, margin, n, a_reached, b_reached, last_epoch):
    """`decide`, except that unequal reached counts of a time metric leave the size of the difference open."""
    decision = decide(low, high, margin, n)
    if a_reached != b_reached and NO_PRACTICAL_DIFFERENCE in decision:
        # min(T, last epoch) counts "settled at the last epoch" and "never" alike: near the horizon the censored
        # times can agree while the runs do not, so unequal reached counts leave the size of the difference open.
        hidden = f"reached {a_reached}/{n} vs {b_reached}/{n}, which censoring at epoch {last_epoch} hides"
        decision = (f"{DIFFERENCE}, its size {UNDECIDED} with {n} seeds: {hidden}"
                    if decision.startswith(DIFFERENCE) else f"{UNDECIDED} with {n} seeds: {hidden}")
    return decision


# ---------------------------------------------------------------------------------------------------------------
# The ceiling of the circles problem, and the error bar of a fixed test set
# ---------------------------------------------------------------------------------------------------------------

def circles_radial_log_density(radius, *, ring_radius, noise):
    """Log density of the distance to the origin of a point of one ring of `make_circles`.

    A point is r (cos t, sin t) + N(0, noise^2 I) with t uniform: its distance rho to the origin follows the
    Rice distribution f(rho) = rho / s^2 exp(-(rho^2 + r^2) / (2 s^2)) I0(rho r / s^2) (s = noise), 2 pi rho times
    the ring's 2-D density (`circles_log_density`). `radius` may be an array; log f(0) = -inf.
    """
    rho = np.asarray(radius, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(2 * np.pi * rho) + circles_log_density(rho, ring_radius=ring_radius, noise=noise)


def circles_log_density(radius, *, ring_radius, noise):
    """Log of the 2-D density of one ring of `make_circles` at points at distance `radius` from the origin.

    p(x) = (1 / 2 pi) int_0^{2 pi} N(x; r (cos t, sin t), s^2 I) dt = exp(-(rho^2 + r^2) / (2 s^2))
    I0(rho r / s^2) / (2 pi s^2), rho = |x|, s = noise, I0 the modified Bessel function of order 0 (the angular
    integral of exp(rho r cos t / s^2)). Written with I0(z) = i0e(z) e^z so that it does not overflow:
    log p = -(rho - r)^2 / (2 s^2) + log i0e(rho r / s^2) - log(2 pi s^2).
    """
    rho = np.asarray(radius, dtype=float)
    return (-(rho - ring_radius) ** 2 / (2 * noise**2) + np.log(special.i0e(rho * ring_radius / noise**2))
            - np.log(2 * np.pi * noise**2))


def circles_inner_probability(X, *, factor=0.8, noise=0.1):
    """Posterior probability that each point of `X` comes from the inner ring (label 1 of `make_circles`).

    - X: array (n, 2) of points; factor, noise as in `make_circles` (noise > 0); equal class priors (even
      n_samples).
    Returns an array (n,) of P(y = 1 | x) = p_in(x) / (p_in(x) + p_out(x)), with the ring densities of
    `circles_log_density`. The Bayes classifier predicts 1 where this is > 0.5.
    Raises ValueError for X not of shape (n, 2) or noise = 0 (no density).
    """
    _check_circles(factor, noise)
    if noise == 0:
        raise ValueError("with noise=0 the rings have no density; the posterior is 1 on the inner ring, 0 elsewhere.")
    points = np.asarray(X, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), one point per row; got shape {points.shape}.")
    rho = np.hypot(points[:, 0], points[:, 1])
    log_inner = circles_log_density(rho, ring_radius=factor, noise=noise)
    log_outer = circles_log_density(rho, ring_radius=1.0, noise=noise)
    return special.expit(log_inner - log_outer)


def circles_bayes_boundary_radius(*, factor=0.8, noise=0.1):
    """Radius of the Bayes-optimal decision boundary of `make_circles(factor=factor, noise=noise)`: a circle.

    Both classes have densities that depend on the distance rho to the origin only (`circles_log_density`), and
    their ratio p_outer / p_inner grows with rho, so the Bayes classifier predicts the inner ring (label 1) inside
    one circle and the outer ring outside it. Its radius solves p_outer(rho) = p_inner(rho), found by
    `scipy.optimize.brentq` on [0, 1 + 40 noise] to 1e-14. With noise = 0 any radius strictly between factor
    and 1 separates the rings; the midpoint is returned. The course (0.8, 0.1): about 0.9.

    - factor: radius of the inner circle, in [0, 1); noise: standard deviation of the noise, >= 0.
    Returns a float, in the units of the data's coordinates.
    """
    _check_circles(factor, noise)
    if noise == 0:
        return (1 + factor) / 2

    def log_ratio(rho):  # log p_outer - log p_inner: negative inside the boundary, positive outside
        return (circles_log_density(rho, ring_radius=1.0, noise=noise)
                - circles_log_density(rho, ring_radius=factor, noise=noise))

    return float(optimize.brentq(log_ratio, 0.0, _largest_radius(noise), xtol=1e-14))


def bayes_accuracy_circles(*, factor=0.8, noise=0.1):
    """The Bayes-optimal accuracy of `sklearn.datasets.make_circles(factor=factor, noise=noise)`: no classifier
    can do better on average.

    Generating process (sklearn's source): half the points at angles evenly spaced on the circle of radius 1
    (label 0), half on the circle of radius `factor` (label 1); then Gaussian noise of standard deviation `noise`
    is added to each coordinate. With hundreds of points per ring the angles are, for the noise, uniform, so class
    k has the 2-D density p_k(x) = (1 / 2 pi) int_0^{2 pi} N(x; r_k (cos t, sin t), noise^2 I) dt (a ring
    convolved with a Gaussian), and equal priors 1/2. The Bayes classifier picks the larger posterior, so

        accuracy = 1 - int_{R^2} min(p_0(x), p_1(x)) / 2 dx = 1 - (1/2) int_0^inf min(f_0(rho), f_1(rho)) d rho,

    the second form in polar coordinates: p_k depends on |x| only and 2 pi rho p_k = f_k, the Rice density of
    `circles_radial_log_density`. The integral is computed by `scipy.integrate.quad`, split at the single radius
    where f_0 = f_1 (the Bayes boundary, a circle: `circles_bayes_boundary_radius`) and truncated at
    1 + 40 noise, beyond which the outer ring's density is below exp(-800). The function raises if quad's error
    estimate exceeds 1e-9, so the result is exact to better than 1e-8.

    - factor: radius of the inner circle, in [0, 1) as in make_circles (the course's load_circles: 0.8).
    - noise: standard deviation of the noise, >= 0 (the course: 0.1). noise = 0 gives 1.0.
    Returns a float in (0.5, 1]: about 0.84 for the course (factor 0.8, noise 0.1).
    """
    _check_circles(factor, noise)
    if noise == 0:
        return 1.0
    upper = _largest_radius(noise)
    boundary = circles_bayes_boundary_radius(factor=factor, noise=noise)

    def smaller_density(rho):
        return math.exp(min(circles_radial_log_density(rho, ring_radius=1.0, noise=noise),
                            circles_radial_log_density(rho, ring_radius=factor, noise=noise)))

    error_mass, error_estimate = 0.0, 0.0
    for low, high in ((0.0, boundary), (boundary, upper)):
        value, estimate = integrate.quad(smaller_density, low, high, epsabs=1e-12, epsrel=1e-12, limit=200)
        error_mass, error_estimate = error_mass + value, error_estimate + estimate
    if error_estimate > 1e-9:
        raise ArithmeticError(f"the numerical integration did not converge (error estimate {error_estimate:.1e}).")
    return 1.0 - error_mass / 2


def bayes_classifier_accuracy(X, y, *, factor=0.8, noise=0.1):
    """Accuracy of the Bayes classifier of the circles problem on given points: how easy this sample is.

    - X: array (n, 2) of points; y: labels (n,) in {0, 1} (1 = inner ring, as make_circles); factor, noise: of
      the data (noise > 0).
    Returns a float in [0, 1]: the fraction of points where `circles_inner_probability(X) > 0.5` gives the label.
    Over new data its expectation is `bayes_accuracy_circles`; on a fixed sample of n points it varies by about
    `test_set_standard_error`, so a sample it scores above that expectation is easier than average, and every
    model measured on that sample profits from it. Raises ValueError for X not (n, 2) or y of another length.
    """
    labels = np.asarray(y, dtype=float).reshape(-1)
    predicted_inner = circles_inner_probability(X, factor=factor, noise=noise) > 0.5
    if labels.size != predicted_inner.size:
        raise ValueError(f"y must hold one label per point of X; got {labels.size} labels for {predicted_inner.size} "
                         "points.")
    return float(np.mean(predicted_inner == (labels == 1)))


def test_set_standard_error(accuracy, n_test):
    """Standard error of an accuracy measured on a fixed test set of `n_test` points: sqrt(p (1 - p) / n).

    Each test point is classified right or wrong, a Bernoulli draw with probability p = the model's true
    accuracy, so the measured accuracy is binomial / n with variance p (1 - p) / n. The course's 500-point test
    set at p = 0.84 gives 0.0164: a 95 % interval of about +-1.96 x 0.0164 = +-0.032 around the true accuracy.
    Every seed of a study is scored on the same test set, so this error is shared by all of them: averaging over
    seeds does not shrink it (it matters when a result is compared with another test set, e.g. the tutorial's).

    - accuracy: a fraction in [0, 1] (not a percentage), a number or an array.
    - n_test: positive integer, the size of the test set.
    Returns a float (or an array of the shape of `accuracy`) in accuracy units.
    """
    p = np.asarray(accuracy, dtype=float)
    if np.any(~((p >= 0) & (p <= 1))):
        raise ValueError(f"accuracy must be a fraction between 0 and 1 (e.g. 0.84, not 84); got {accuracy!r}.")
    if not is_integer(n_test) or n_test < 1:
        raise ValueError(f"n_test must be a positive integer, the number of test points; got {n_test!r}.")
    error = np.sqrt(p * (1 - p) / n_test)
    return float(error) if error.ndim == 0 else error


test_set_standard_error.__test__ = False  # not a pytest test, despite its name


# ---------------------------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------------------------

def _one_dimensional(values, name, dtype):
    try:
        array = np.asarray([np.nan if value is None else value for value in values] if isinstance(values, list)
                           else values, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a 1-D array of numbers, one per run; got {values!r}.") from error
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, one value per run (seed); got shape {array.shape}.")
    return array


def _is_missing(value):
    """True for None, NaN and pandas' <NA> (the reached counts of accuracy rows in a DataFrame)."""
    try:
        return value is None or bool(value != value)
    except TypeError:  # pandas.NA: its comparison is ambiguous
        return True


def _check_last_epoch(last_epoch):
    if not is_integer(last_epoch) or last_epoch < 1:
        raise ValueError(f"last_epoch must be a positive integer, the number of epochs trained; got {last_epoch!r}.")
    return int(last_epoch)


def _check_confidence(confidence):
    if not is_real(confidence) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a coverage between 0 and 1 (e.g. 0.95); got {confidence!r}.")


def _largest_radius(noise):
    """A radius beyond which neither ring has density that matters: 40 noise standard deviations past radius 1."""
    return 1 + 40 * noise


def _check_circles(factor, noise):
    if not is_real(factor) or not 0 <= factor < 1:
        raise ValueError(f"factor must be in [0, 1), the inner radius as in make_circles; got {factor!r}.")
    check_noise(noise)


