"""Summaries of learning curves: when does a curve reach a threshold, and when does it stay there?

Two readings of "how fast":
- `first_epoch_reaching`: the first epoch whose value is >= the threshold (the first crossing). A curve that
  jumps by a few points per epoch can touch the threshold once by luck, so this one is descriptive.
- `first_epoch_staying`: the first epoch after which the value stays >= the threshold until the last epoch.
  A single lucky spike cannot fake it, so it is the primary speed metric of the course's comparisons.
Epochs are 1-based, as Keras prints them: epoch 1 is `curve[0]`.
"""
import numpy as np

RULES = ("first", "staying")


def first_epoch_reaching(curve, threshold):
    """Return the first epoch (1-based) at which `curve` is >= `threshold`, or None if it never is.

    `curve` holds one value per epoch, as in a Keras history; epoch 1 is `curve[0]`.
    """
    values = np.asarray(curve, dtype=float).ravel()
    reached = np.flatnonzero(values >= threshold)
    return int(reached[0]) + 1 if reached.size else None


def first_epoch_staying(curve, threshold):
    """Return the first epoch (1-based) from which `curve` stays >= `threshold` up to its last epoch, or None.

    - curve: 1-D array-like, one value per epoch (epoch 1 is `curve[0]`), e.g. `history["val_accuracy"]`.
    - threshold: the level, in the curve's units (an accuracy as a fraction, e.g. 0.8).

    Returns the smallest e such that curve[e-1], curve[e], ..., curve[-1] are all >= threshold; None when the
    last value is below the threshold (or is NaN), i.e. the curve does not end above it. Always >= the first
    crossing (`first_epoch_reaching`), equal to it when the curve never dips back below after crossing.
    Raises ValueError if `curve` is not one-dimensional (for a (seeds, epochs) array use `epochs_to_threshold`).
    """
    values = _curve(curve)
    below = np.flatnonzero(~(values >= threshold))  # NaN counts as below
    if below.size == 0:
        return 1 if values.size else None
    last_below = int(below[-1])  # 0-based index of the last epoch under the threshold
    return last_below + 2 if last_below + 1 < values.size else None


def epochs_to_threshold(curves, threshold, *, rule="first"):
    """Epoch (1-based) at which each run reaches `threshold`, as floats with NaN for runs that never do.

    - curves: array-like of shape (runs, epochs), one row per run (a single run is one row: `curve[None, :]`).
    - threshold: the level, in the curves' units.
    - rule: "first" for `first_epoch_reaching` (first crossing), "staying" for `first_epoch_staying`.

    Returns a float array of shape (runs,). NaN means "not reached within the curve's epochs": a censored
    observation, not a missing one (see `bn_course.statistics.restricted_mean_epochs`).
    Raises ValueError for a curve array that is not 2-D or an unknown rule.
    """
    array = np.asarray(curves, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"curves must have shape (runs, epochs), one row per run; got shape {array.shape}. "
                         "For a single run pass curve[None, :].")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")
    epoch_of = first_epoch_reaching if rule == "first" else first_epoch_staying
    return np.array([np.nan if (epoch := epoch_of(row, threshold)) is None else float(epoch) for row in array])


def _curve(curve):
    values = np.asarray(curve, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"curve must be one-dimensional, one value per epoch; got shape {values.shape}. "
                         "For several runs (shape (runs, epochs)) use epochs_to_threshold(curves, threshold, "
                         "rule='staying').")
    return values
