"""Plumbing of notebook 08 (the normalization family): batch-size sweeps through the course's trainer, the
accuracy of a trained classifier in training mode, and the tables and figures of a sweep.

Nothing here normalises anything by hand: the notebook's exercises do that, and the models use Keras's layers.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf

import keras

from bn_course.arguments import is_integer, is_real
from bn_course.fast import train_stacked
from bn_course.metrics import accuracy_with_population_statistics, batch_norm_layers
from bn_course.statistics import mean_confidence_interval, paired_difference
from bn_course.study_plots import palette_color
from bn_course.training import MOMENTUM, set_seed

SWEEP_COLUMNS = ["config", "batch_size", "seed", "learning_rate", "test_accuracy", "inference_accuracy",
                 "training_mode_accuracy", "population_accuracy"]


def scaled_learning_rate(batch_size, *, base_learning_rate, base_batch_size):
    """The linear scaling rule (Goyal et al., "Accurate, large minibatch SGD", 2017, section 2.1): a batch k times
    larger takes a learning rate k times larger, so that one epoch moves the weights by about as much.

    Returns base_learning_rate * batch_size / base_batch_size, a float (a learning rate, per step).
    Raises ValueError when an argument is not a positive number.
    """
    for name, value in (("batch_size", batch_size), ("base_learning_rate", base_learning_rate),
                        ("base_batch_size", base_batch_size)):
        if not is_real(value) or not value > 0:
            raise ValueError(f"{name} must be a positive number; got {value!r}.")
    return float(base_learning_rate) * batch_size / base_batch_size


def compile_classifier(model, *, learning_rate):
    """Compile `model` for the 10 classes of MNIST-1D: SGD with the course's momentum (0.9) and the given
    learning rate, sparse categorical cross-entropy on a softmax output, accuracy. Returns `model`."""
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=MOMENTUM),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def random_batches(n_samples, *, batch_size, random_state=0):
    """Indices of a random split of range(n_samples) into full batches: int array (n_batches, batch_size).

    The n_samples mod batch_size samples left over are not used. Raises ValueError unless
    1 <= batch_size <= n_samples.
    """
    if not is_integer(batch_size) or not 1 <= batch_size <= n_samples:
        raise ValueError(f"batch_size must be an integer between 1 and the number of samples ({n_samples}); got "
                         f"{batch_size!r}.")
    n_batches = n_samples // batch_size
    order = np.random.default_rng(random_state).permutation(n_samples)
    return order[:n_batches * batch_size].reshape(n_batches, batch_size)


def accuracy_by_mode(model, X, y, *, batch_size, random_state=0):
    """Accuracy of a softmax classifier on the same samples in both modes: (training_mode, inference_mode).

    - training mode: the samples are split into random batches of `batch_size` (`random_batches`) and each
      batch is passed alone, every normalization layer using the statistics of that batch, as in training.
      The pass is `model.stateless_call`: the moving statistics are neither used nor changed.
    - inference mode: the same samples, each normalised with the moving statistics (`training=False`).
    - X: float array (N, ...); y: integer labels (N,); batch_size: integer in 1..N.

    Returns two fractions in [0, 1]. For a model without BatchNormalization (or Dropout) they are equal up to
    float32 rounding: no other layer of the course depends on the mode.
    """
    batches = random_batches(len(X), batch_size=batch_size, random_state=random_state)
    inputs = tf.constant(np.asarray(X, np.float32)[batches])
    labels = np.asarray(y)[batches]
    trainable = [tf.convert_to_tensor(v) for v in model.trainable_variables]
    non_trainable = [tf.convert_to_tensor(v) for v in model.non_trainable_variables]
    outputs = _batchwise_pass(model)(trainable, non_trainable, inputs)
    return tuple(float(np.mean(np.argmax(np.asarray(p), axis=-1) == labels)) for p in outputs)


def population_statistics_accuracy(model, X_statistics, X, y):
    """`bn_course.metrics.accuracy_with_population_statistics` for every model of a sweep: the accuracy on (X, y)
    with each BatchNormalization layer normalising with the population statistics of `X_statistics`, and NaN for
    a model without BatchNormalization (LN, GN: no moving averages to replace), where metrics raises ValueError."""
    if not batch_norm_layers(model):
        return float("nan")
    return accuracy_with_population_statistics(model, X_statistics, X, y)


_BATCHWISE_PASSES = {}


def _batchwise_pass(model):
    """A traced function (trainable, non_trainable, batches (K, B, ...)) -> (training, inference) outputs, each
    (K, B, classes): each of the K batches passed alone in training mode, and every sample in inference mode.
    One trace per architecture (layer types and settings, not their names) and batch shape, whatever the weights."""
    key = (tuple((type(layer).__name__, repr(sorted((k, v) for k, v in layer.get_config().items() if k != "name")))
                 for layer in model.layers), tuple(model.inputs[0].shape))
    if key not in _BATCHWISE_PASSES:
        @tf.function(reduce_retracing=True)
        def batchwise(trainable, non_trainable, batches):
            def one_batch(batch):
                outputs, _ = model.stateless_call(trainable, non_trainable, batch, training=True)
                return outputs
            shape = tf.shape(batches)
            samples = tf.reshape(batches, tf.concat([[-1], shape[2:]], axis=0))
            inference, _ = model.stateless_call(trainable, non_trainable, samples, training=False)
            return tf.vectorized_map(one_batch, batches), tf.reshape(inference, tf.concat([shape[:2], [-1]], axis=0))

        _BATCHWISE_PASSES[key] = batchwise
    return _BATCHWISE_PASSES[key]


def batch_size_sweep(builders, data, *, batch_sizes, seeds, epochs, base_learning_rate, base_batch_size=32):
    """Train every configuration with every batch size and seed through the course's trainer; measure each run.

    - builders: dict name -> callable with no arguments returning a NEW uncompiled softmax classifier
      (keras.Sequential). `set_seed(seed)` runs before each call, so a seed fixes the initial weights.
    - data: a `bn_course.data.Dataset` with integer labels.
    - batch_sizes: iterable of positive integers; seeds: iterable of integers (seed s also shuffles its run).
    - epochs: the same number of epochs for every batch size (so a batch of 2 takes many more steps).
    - base_learning_rate, base_batch_size: the learning rate at `base_batch_size`; others follow
      `scaled_learning_rate` (linear scaling), SGD with momentum 0.9 (`compile_classifier`).

    All seeds of one (configuration, batch size) train together in one graph (`bn_course.fast.train_stacked`).
    Returns a DataFrame, one row per run, columns `SWEEP_COLUMNS`: test_accuracy is the whole test set in
    inference mode; training_mode_accuracy and inference_accuracy are `accuracy_by_mode` on the test set with
    the run's batch size (the same samples in both modes); population_accuracy is the whole test set with the
    training set's population statistics (`population_statistics_accuracy`, NaN without BN). Accuracies are
    fractions.
    """
    if not isinstance(builders, dict) or not builders or not all(callable(b) for b in builders.values()):
        raise TypeError("builders must be a non-empty dict mapping a name to a function that builds a new model.")
    seeds = [int(seed) for seed in seeds]
    rows = []
    for name, build in builders.items():
        for batch_size in batch_sizes:
            learning_rate = scaled_learning_rate(batch_size, base_learning_rate=base_learning_rate,
                                                 base_batch_size=base_batch_size)
            models = []
            for seed in seeds:
                set_seed(seed)
                models.append(compile_classifier(build(), learning_rate=learning_rate))
            result = train_stacked(models, data, epochs=epochs, batch_size=int(batch_size), random_states=seeds,
                                   validate=False)
            for seed, model, test_accuracy in zip(seeds, models, result.final_test_accuracy):
                training, inference = accuracy_by_mode(model, data.X_test, data.y_test, batch_size=int(batch_size),
                                                       random_state=seed)
                rows.append({"config": name, "batch_size": int(batch_size), "seed": seed,
                             "learning_rate": learning_rate, "test_accuracy": float(test_accuracy),
                             "inference_accuracy": inference, "training_mode_accuracy": training,
                             "population_accuracy": population_statistics_accuracy(model, data.X_train, data.X_test,
                                                                                   data.y_test)})
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def sweep_summary(runs, *, gap_margin, confidence=0.95):
    """Per (config, batch_size): the mean test accuracy with its Student t interval, and the train/inference
    gap (training-mode minus inference-mode accuracy on the same samples and weights, a paired difference).

    - runs: the DataFrame of `batch_size_sweep`.
    - gap_margin: the gap (accuracy, a fraction) that does not matter in practice, for the decision.
    Returns a DataFrame indexed by (config, batch_size) with columns n, test_accuracy_mean, _ci_low, _ci_high,
    gap_mean, gap_ci_low, gap_ci_high, gap_decision (`bn_course.statistics.decide`'s words).
    """
    rows = {}
    for (config, batch_size), group in runs.groupby(["config", "batch_size"], sort=False):
        mean, low, high = mean_confidence_interval(group["test_accuracy"], confidence)
        gap = paired_difference(group["inference_accuracy"], group["training_mode_accuracy"], margin=gap_margin,
                                confidence=confidence)
        rows[config, batch_size] = {"n": len(group), "test_accuracy_mean": mean, "test_accuracy_ci_low": low,
                                    "test_accuracy_ci_high": high, "gap_mean": gap.mean_difference,
                                    "gap_ci_low": gap.ci_low, "gap_ci_high": gap.ci_high, "gap_decision": gap.decision}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["config", "batch_size"])
    return table


def sweep_comparisons(runs, baseline, *, margin, metric="test_accuracy", confidence=0.95):
    """Paired comparisons config - baseline at every batch size, seed by seed (`paired_difference`).

    Returns a DataFrame indexed by (config, batch_size) with the columns of `PairedComparison.as_row` (a and b
    name the config and the batch size, so `plot_paired_differences` labels each row).
    Raises ValueError if the baseline is not a config of `runs` or the two were not run with the same seeds.
    """
    configs = list(dict.fromkeys(runs["config"]))
    if baseline not in configs:
        raise ValueError(f"baseline must be one of the sweep's configs {configs}; got {baseline!r}.")
    rows = {}
    for config in configs:
        if config == baseline:
            continue
        for batch_size in dict.fromkeys(runs["batch_size"]):
            values = {name: runs[(runs["config"] == name) & (runs["batch_size"] == batch_size)].set_index("seed")[metric]
                      for name in (baseline, config)}
            if set(values[baseline].index) != set(values[config].index):
                raise ValueError(f"{baseline!r} and {config!r} at batch size {batch_size} must share their seeds.")
            seeds = sorted(values[baseline].index)
            comparison = paired_difference(values[baseline].loc[seeds], values[config].loc[seeds], margin=margin,
                                           confidence=confidence, a_name=f"{baseline}, batch {batch_size}",
                                           b_name=f"{config}, batch {batch_size}", metric=metric)
            rows[config, batch_size] = comparison.as_row()
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["config", "batch_size"])
    return table


def plot_against_batch_size(summary, column, *, ax=None, ylabel=None):
    """One line per config of `summary` (from `sweep_summary`): `column`_mean against the batch size (log scale),
    with its interval (`column`_ci_low.._ci_high) as error bars, in the palette's colours. Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for index, (config, table) in enumerate(summary.groupby(level="config", sort=False)):
        sizes = table.index.get_level_values("batch_size")
        mean = table[f"{column}_mean"].to_numpy()
        errors = [mean - table[f"{column}_ci_low"].to_numpy(), table[f"{column}_ci_high"].to_numpy() - mean]
        ax.errorbar(sizes, mean, yerr=errors, marker="o", capsize=3, color=palette_color(index), label=config)
    ax.set_xscale("log", base=2)
    sizes = sorted(set(summary.index.get_level_values("batch_size")))
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.set(xlabel="batch size", ylabel=ylabel or column)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
