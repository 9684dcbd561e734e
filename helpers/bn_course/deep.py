"""Deep multilayer perceptrons on MNIST-1D (notebook 6): compiling them, sweeping a setting, summarising the sweeps.

Nothing here builds the notebook's networks (that is an exercise); these functions take any builder of an
uncompiled keras.Sequential with a softmax output and train it through the course's trainer
(`bn_course.study.run_study`, which stacks every seed and every setting of one architecture in one graph).

Conventions, as in the rest of the course: curves and per-run values are arrays shaped (runs,) or
(settings, runs); intervals are Student t intervals of the mean (`bn_course.statistics`); colours come from
`bn_course.study_plots.PALETTE`.
"""
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

import keras

from bn_course.checks import check_between, check_equal
from bn_course.statistics import mean_confidence_interval, t_half_width
from bn_course.study import run_study
from bn_course.study_plots import REFERENCE_COLOR, palette_color

LOSS = "sparse_categorical_crossentropy"


def compile_classifier(model, *, learning_rate, momentum=0.0):
    """Compile `model` (softmax output over the classes) with SGD, sparse categorical cross-entropy and accuracy.

    - learning_rate: number > 0; momentum: number in [0, 1) (0: plain SGD, as in Ioffe & Szegedy's Figure 1).
    Returns `model`. Raises ValueError for a learning rate that is not a positive finite number.
    """
    if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number such as 0.1; got {learning_rate!r}.")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=float(learning_rate), momentum=momentum),
                  loss=LOSS, metrics=["accuracy"])
    return model


def compiled(build, *, learning_rate, momentum=0.0, **settings):
    """A builder for `run_study`: calls `build(**settings)` and compiles the model with `compile_classifier`."""
    def build_compiled():
        return compile_classifier(build(**settings), learning_rate=learning_rate, momentum=momentum)
    return build_compiled


def check_initial_weights(model, weight_scale, name):
    """Check that every Dense kernel of `model` looks drawn from N(0, weight_scale^2) and every bias is zero.

    The initial-weight rule of CS231n's BN assignment (`weight_scale * np.random.randn(...)`), checked for notebook
    6's builder with `bn_course.checks`. Per Dense layer, in order: the kernel's standard deviation within 10 % of
    `weight_scale`, its mean within 0.1 * weight_scale of 0, its largest |weight| at least 2.5 * weight_scale (a
    uniform draw of the same standard deviation stops at sqrt(3) = 1.73 times it), and biases exactly 0.
    - model: a built keras model; every kernel should hold at least about 2,000 weights (e.g. width 200 with 10
      outputs), so that a correct normal draw misses these bounds with a probability below 1e-10.
    - weight_scale: the standard deviation asked for, a number > 0. name: the call checked, for the message.
    Returns None. Raises `bn_course.checks.CheckFailed` naming the layer and what is wrong (ValueError for a model
    without Dense layers or a weight_scale that is not a positive number).
    """
    if not (isinstance(weight_scale, (int, float)) and math.isfinite(weight_scale) and weight_scale > 0):
        raise ValueError(f"weight_scale must be a positive number such as 0.05; got {weight_scale!r}.")
    dense_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense_layers:
        raise ValueError("the model has no Dense layer: there is no kernel to check.")
    low, high, largest_mean = (float(f"{factor * weight_scale:.6g}") for factor in (0.9, 1.1, 0.1))  # printable bounds
    for position, layer in enumerate(dense_layers, start=1):
        kernel = np.asarray(layer.kernel)
        which = f"Dense layer {position} of {len(dense_layers)} of {name}"
        check_between(kernel.std(), low, high, f"the standard deviation of the kernel of {which}",
                      hint="weight_scale is the standard deviation of a normal draw, on EVERY Dense layer, the output "
                           "one too.")
        check_between(abs(kernel.mean()), 0.0, largest_mean, f"|the mean| of the kernel of {which}",
                      hint="the weights are drawn with mean 0.")
        check_between(np.abs(kernel).max() / weight_scale, 2.5, np.inf, f"the largest |weight| / weight_scale of {which}",
                      hint="draw from a normal distribution (keras.initializers.RandomNormal), not a uniform one.")
        check_equal(float(np.abs(np.asarray(layer.bias)).max()), 0.0, f"the largest |bias| of {which}",
                    hint="the biases start at zero.")


def run_sweep(build, name, values, data, *, seeds, epochs, threshold, learning_rate=None, momentum=0.0,
              **settings):
    """Train `build(**settings)` once per seed at every value of one setting, in one `run_study`.

    - build: a function returning a new, uncompiled keras.Sequential with a softmax output.
    - name: the setting swept: "learning_rate" (passed to the optimizer), or a keyword of `build` (e.g.
      "weight_scale"); values: its values, e.g. a log grid.
    - data, seeds, epochs, threshold: as in `run_study` (threshold: test accuracy as a fraction).
    - learning_rate: the optimizer's learning rate when `name` is not "learning_rate"; momentum: SGD's momentum.
    - settings: the other keywords of `build`, fixed.

    Models that differ only in the learning rate or initial weights share one architecture, so the whole
    sweep trains in one graph. Returns the `Study`; its configs are named `f"{name}={value:g}"`.
    """
    values = [float(value) for value in values]
    if not values:
        raise ValueError(f"values must hold at least one value of {name}; got none.")
    if name != "learning_rate" and learning_rate is None:
        raise ValueError(f"sweeping {name} needs learning_rate=... for the optimizer.")
    configs = {}
    for value in values:
        if name == "learning_rate":
            configs[config_name(name, value)] = compiled(build, learning_rate=value, momentum=momentum, **settings)
        else:
            configs[config_name(name, value)] = compiled(build, learning_rate=learning_rate, momentum=momentum,
                                                         **{**settings, name: value})
    return run_study(configs, data, seeds=seeds, epochs=epochs, threshold=threshold, progress=False)


def config_name(name, value):
    """The name `run_sweep` gives the config of one value of a sweep, e.g. "learning_rate=0.3"."""
    return f"{name}={value:g}"


def final_values(study, metric):
    """The last-epoch value of a curve metric ('loss', 'accuracy', 'val_loss', 'val_accuracy') of every run,
    as an array (configs, seeds) in the study's config order. A diverged run's NaN loss stays NaN."""
    return np.stack([curves[metric][:, -1] for curves in study.curves.values()])


def per_run(study, config, column="test_accuracy"):
    """One column of `study.runs` (e.g. "test_accuracy", "epoch_staying_above") for one config, as an array
    (seeds,) in seed order. Raises ValueError for a config the study does not have."""
    runs = study.runs[study.runs["config"] == config]
    if runs.empty:
        raise ValueError(f"config must be one of the study's configs {list(study.curves)}; got {config!r}.")
    return runs.sort_values("seed")[column].to_numpy(float)


def proportion_interval(successes, n, confidence=0.95):
    """The fraction successes / n with its exact (Clopper-Pearson) interval, from `scipy.stats.binomtest`.

    Returns (fraction, low, high). Raises ValueError unless 0 <= successes <= n and n >= 1 are integers.
    """
    successes, n = int(successes), int(n)
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need integers 0 <= successes <= n with n >= 1; got successes={successes}, n={n}.")
    interval = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="exact")
    return successes / n, float(interval.low), float(interval.high)


def paired_table(study, pairs, *, metric, margin, confidence=0.95):
    """`study.compare(a, b, metric=..., margin=...)` for every (label, a, b) in `pairs`, as a DataFrame.

    Index: label. Columns: those of `PairedComparison.as_row` (mean_difference = b - a, paired by seed, its
    CI, the decision; reached counts for time metrics, whose never-reached runs are censored).
    """
    rows = {label: study.compare(a, b, metric=metric, margin=margin, confidence=confidence).as_row()
            for label, a, b in pairs}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "comparison"
    return table


def plot_sweep(values, samples, *, ax=None, xlabel, ylabel, confidence=0.95, log_x=True):
    """Mean over the seeds of a per-run quantity against the swept value, with its t interval, one line per series.

    - values: the swept values (n,), e.g. learning rates.
    - samples: dict series name -> array (n, seeds); a NaN (e.g. the loss of a diverged run) leaves a gap, so
      plot accuracies, which are always defined, to show failed runs as failures.
    Returns the Axes (log x axis unless log_x=False).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    values = np.asarray(values, float)
    for index, (name, array) in enumerate(samples.items()):
        array = np.asarray(array, float)
        if array.shape[0] != values.size:
            raise ValueError(f"samples[{name!r}] must have one row per value ({values.size}); got shape {array.shape}.")
        mean = array.mean(axis=1)
        color = palette_color(index)
        ax.plot(values, mean, "o-", color=color, label=f"{name} (n={array.shape[1]} per point)")
        if array.shape[1] > 1:
            half = t_half_width(array.T, confidence)
            ax.fill_between(values, mean - half, mean + half, color=color, alpha=0.2, linewidth=0)
    if log_x:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_percentiles(probes, *, steps_per_epoch, unit=0, ax=None, title=""):
    """Percentiles of one unit's input over training, one line per percentile, the middle one solid.

    - probes: float array (seeds, epochs, Q, F) from `train_stacked(..., probe_layers=...)`; the first seed
      is drawn (one network, as in Ioffe & Szegedy's Figure 1 (b, c)).
    - steps_per_epoch: the x axis is in training steps: epoch e ends at e * steps_per_epoch.
    - unit: which of the F units.
    Returns the Axes.
    """
    probes = np.asarray(probes, float)
    if probes.ndim != 4:
        raise ValueError(f"probes must have shape (seeds, epochs, quantiles, units); got shape {probes.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    steps = np.arange(1, probes.shape[1] + 1) * steps_per_epoch
    middle = probes.shape[2] // 2
    for q in range(probes.shape[2]):
        ax.plot(steps, probes[0, :, q, unit], color=palette_color(0), linestyle="-" if q == middle else "--")
    ax.axhline(0, color=REFERENCE_COLOR, linewidth=1)
    ax.set(xlabel="training step", ylabel="input of the sigmoid", title=title)
    ax.grid(alpha=0.3)
    return ax


def interval_text(values, digits=3, confidence=0.95):
    """ "mean (low-high)" of `values` with the t interval of the mean, for tables."""
    mean, low, high = mean_confidence_interval(values, confidence)
    return f"{mean:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"
