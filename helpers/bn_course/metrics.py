"""Summaries of learning curves: when does a curve reach a threshold, and when does it stay there?

Two readings of "how fast":
- `first_epoch_reaching`: the first epoch whose value is >= the threshold (the first crossing). A curve that
  jumps by a few points per epoch can touch the threshold once by luck, so this one is descriptive.
- `first_epoch_staying`: the first epoch after which the value stays >= the threshold until the last epoch.
  A single lucky spike cannot fake it, so it is the primary speed metric of the course's comparisons.
Epochs are 1-based, as Keras prints them: epoch 1 is `curve[0]`. `area_under_curve` summarises speed and level
together (descriptive).

What a BN network has learned, apart from the lag of its moving averages: `population_statistics` and
`accuracy_with_population_statistics` score the model with each BN layer normalising with its *population
statistics* (Ioffe & Szegedy 2015, section 3.1 and Algorithm 2: the mean and unbiased variance of the layer's
inputs over the training data, for the final weights) instead of its moving averages. Algorithm 2 estimates them
by averaging over mini-batches of m examples passed in training mode, with the factor m / (m - 1); here the whole
data set is one batch, so the factor is the sample variance's n / (n - 1) (notebook 09 has the learner
write Algorithm 2 and compares the two). Wu & Johnson (2021, "Rethinking 'Batch' in BatchNorm") call such post-training estimates
"precise BN".
"""
import contextlib

import numpy as np

from bn_course.arguments import check_threshold

RULES = ("first", "staying")


def first_epoch_reaching(curve, threshold):
    """Return the first epoch (1-based) at which `curve` is >= `threshold`, or None if it never is.

    `curve` holds one value per epoch, as in a Keras history; epoch 1 is `curve[0]`.
    """
    values = np.asarray(curve, dtype=float).ravel()
    check_threshold(values, threshold)
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
    check_threshold(values, threshold)
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
    check_threshold(array, threshold)
    epoch_of = first_epoch_reaching if rule == "first" else first_epoch_staying
    return np.array([np.nan if (epoch := epoch_of(row, threshold)) is None else float(epoch) for row in array])


def _curve(curve):
    values = np.asarray(curve, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"curve must be one-dimensional, one value per epoch; got shape {values.shape}. "
                         "For several runs (shape (runs, epochs)) use epochs_to_threshold(curves, threshold, "
                         "rule='staying').")
    return values


def area_under_curve(curves):
    """Area under each run's curve divided by its number of epochs: the curve's mean over the epochs.

    - curves: array-like (runs, epochs), e.g. `study.curves[config]["val_accuracy"]`; a single run is one row.
    Returns a float array (runs,) in the curve's units (for accuracy, a fraction). A descriptive summary of
    speed and level together: a curve that rises earlier, or ends higher, has a larger area. Raises ValueError
    for an array that is not 2-D or has no epochs.
    """
    array = np.asarray(curves, dtype=float)
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"curves must have shape (runs, epochs) with at least one epoch; got shape {array.shape}. "
                         "For a single run pass curve[None, :].")
    return array.mean(axis=1)


def population_statistics(model, X):
    """The population statistics of the inputs of every BatchNormalization layer of `model`, estimated in one pass
    over the points `X`, taken as a single batch.

    - model: a built keras.Sequential; X: array (n, ...) of inputs, n >= 2 (e.g. the whole training set).
    Returns a list, one (mean, variance) pair per BatchNormalization layer in order, each an array of the
    normalised features' size (for a Conv layer's input, over every axis but the channels: spatial BN). The
    statistics are the ones Ioffe & Szegedy (2015) use at inference, E[x] and the unbiased Var[x]; their
    Algorithm 2 estimates them from mini-batches of m, as E_B[mu_B] and m / (m - 1) E_B[sigma_B^2], while this
    function takes the whole set as one batch: the mean and the sample variance (ddof=1). The layers are done in
    order, each one's inputs computed in inference mode with the earlier BN layers already normalising with their
    population statistics (Algorithm 2 passes its batches in training mode instead; the two agree closely, see
    notebook 09). The model is left as it was.
    Raises ValueError for a model without BatchNormalization or fewer than 2 points.
    """
    with _population_statistics_in_place(model, X) as statistics:
        return statistics


def accuracy_with_population_statistics(model, X_statistics, X, y):
    """Accuracy of a classifier on (X, y) in inference mode, its BN layers normalising with the population
    statistics of `X_statistics` (`population_statistics`) instead of their moving averages.

    This is what the weights have learned, without the lag of the moving averages: early in training, Keras's
    moving statistics (momentum 0.99) still remember their starting values (mean 0, variance 1).
    - model: a built keras.Sequential with either a sigmoid output of shape (n, 1) or (n,) (binary; labels in
      {0, 1}, class 1 where the probability is > 0.5, as Keras's binary accuracy) or a softmax output of shape
      (n, classes) with classes >= 2 (integer labels; the predicted class is the argmax, as Keras's sparse
      categorical accuracy).
    - X_statistics: the points the statistics are computed on (the training set); X, y: points and labels to score.
    Returns a float in [0, 1]. The model's moving statistics are restored afterwards. Raises ValueError when y
    does not hold one label per point of X.
    """
    with _population_statistics_in_place(model, X_statistics):
        outputs = model(np.asarray(X, dtype="float32"), training=False)
    return accuracy(outputs, y)


def accuracy(outputs, y):
    """The accuracy of a classifier's outputs against labels, as Keras counts it: sigmoid outputs of shape (n,) or
    (n, 1) predict class 1 where > 0.5 (labels in {0, 1}: binary accuracy); softmax outputs of shape (n, classes),
    classes >= 2, predict their argmax (integer labels: sparse categorical accuracy). Returns a float in [0, 1].
    Raises ValueError when y does not hold one label per output."""
    outputs, labels = np.asarray(outputs), np.asarray(y, dtype=float).reshape(-1)
    multi_class = outputs.ndim == 2 and outputs.shape[1] > 1
    predicted = np.argmax(outputs, axis=1) if multi_class else outputs.reshape(-1) > 0.5
    if predicted.shape != labels.shape:
        raise ValueError(f"y must hold one label per point of X (one label per prediction); got {labels.size} "
                         f"labels for {predicted.size} predictions.")
    return float(np.mean(predicted == (labels if multi_class else labels > 0.5)))


def batch_norm_layers(model):
    """The keras.layers.BatchNormalization layers among `model.layers` (subclasses included), in order; a list,
    possibly empty."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


@contextlib.contextmanager
def _population_statistics_in_place(model, X):
    """Give every BN layer of `model` the population statistics of X (yielded as a list), then restore its own."""
    import keras

    inputs = np.asarray(X, dtype="float32")
    if inputs.ndim < 2 or inputs.shape[0] < 2:
        raise ValueError(f"X must hold at least 2 points, one per row; got shape {inputs.shape}.")
    normalizations = batch_norm_layers(model)
    if not normalizations:
        raise ValueError("the model has no BatchNormalization layer: there are no statistics to replace.")
    saved = [layer.get_weights() for layer in normalizations]
    statistics = []
    try:
        activations = inputs
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                axes = tuple(axis for axis in range(activations.ndim) if axis != layer.axis % activations.ndim)
                mean, variance = activations.mean(axis=axes), activations.var(axis=axes, ddof=1)
                # get_weights() ends with the moving mean and variance, with or without gamma and beta.
                layer.set_weights(layer.get_weights()[:-2] + [mean, variance])
                statistics.append((mean, variance))
            activations = np.asarray(layer(activations, training=False))
        yield statistics
    finally:
        for layer, weights in zip(normalizations, saved):
            layer.set_weights(weights)
