"""Figures of multi-seed studies: mean curves with bands, Kaplan-Meier curves, paired differences, the ceiling.

Every function takes plain arrays or the results of `bn_course.statistics`, draws on an Axes (a new one if
`ax` is None) and returns it. Curves are arrays shaped (seeds, epochs): a single run is one row, and a single
row draws its line without a band. Colours come from `PALETTE`, the Okabe-Ito palette (Okabe & Ito, "Color
Universal Design", 2008), distinguishable with every common colour-vision deficiency; use it for every plot of
the package.
"""
import matplotlib.pyplot as plt
import numpy as np

from bn_course.statistics import KaplanMeier, PairedComparison, bayes_accuracy_circles, t_half_width

OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "black": "#000000",
    "yellow": "#F0E442",
}
# The order in which plots take colours: yellow, hard to see on white, last.
PALETTE = tuple(OKABE_ITO.values())
REFERENCE_COLOR = "#999999"  # grey, for zero lines, margins, thresholds and ceilings


def palette_color(index):
    """The colour of series number `index` (0-based), cycling through `PALETTE`."""
    return PALETTE[index % len(PALETTE)]


def plot_band(curves, *, ax=None, label=None, color=None, confidence=0.95):
    """Mean of `curves` over the runs, epoch by epoch, with the Student t band of that mean.

    - curves: array-like (seeds, epochs), one row per run; epoch 1 is column 0. One row draws only its line.
    - label, color: of the line (the band takes the line's colour); confidence: coverage of the band.
    Returns the Axes. Raises ValueError for an array that is not 2-D or has no epochs.
    """
    samples = _runs_by_epochs(curves)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    epochs = np.arange(1, samples.shape[1] + 1)
    mean = samples.mean(axis=0)
    (line,) = ax.plot(epochs, mean, label=label, color=color)
    if samples.shape[0] > 1:
        half_width = t_half_width(samples, confidence)
        ax.fill_between(epochs, mean - half_width, mean + half_width, color=line.get_color(), alpha=0.2, linewidth=0)
    return ax


def plot_curves(curves, *, ax=None, metric="", confidence=0.95):
    """One `plot_band` per configuration, in the colours of `PALETTE`.

    - curves: dict name -> array (seeds, epochs) of one metric (e.g. {name: study.curves[name]["val_accuracy"]}).
    - metric: the y label; confidence: coverage of the bands.
    Returns the Axes, with a legend giving each configuration's number of runs.
    """
    if not isinstance(curves, dict) or not curves:
        raise TypeError("curves must be a non-empty dict mapping a configuration name to an array (seeds, epochs).")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for index, (name, samples) in enumerate(curves.items()):
        samples = _runs_by_epochs(samples, name=f"curves[{name!r}]")
        plot_band(samples, ax=ax, label=f"{name} (n={samples.shape[0]})", color=palette_color(index),
                  confidence=confidence)
    ax.set(xlabel="epoch", ylabel=metric,
           title=f"{metric}: mean over seeds, {confidence * 100:g} % confidence band".lstrip(": "))
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_kaplan_meier(curves, *, ax=None, band=True, title="Runs that have reached the threshold", colors=None):
    """Kaplan-Meier curves: the fraction of runs that have reached a threshold by each epoch, one per configuration.

    - curves: dict name -> `bn_course.statistics.KaplanMeier` (or a single KaplanMeier).
    - band: draw Greenwood's pointwise interval as a shaded step band.
    - colors: one colour per curve (default: `PALETTE` in order).
    Returns the Axes: a step line per configuration (x = epoch 0..last, y = fraction in [0, 1]).
    """
    if isinstance(curves, KaplanMeier):
        curves = {"": curves}
    if not isinstance(curves, dict) or not curves or not all(isinstance(c, KaplanMeier) for c in curves.values()):
        raise TypeError("curves must be a KaplanMeier or a non-empty dict mapping a name to a KaplanMeier "
                        "(from bn_course.statistics.kaplan_meier or Study.kaplan_meier).")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    colors = _colors(colors, len(curves))
    for color, (name, curve) in zip(colors, curves.items()):
        label = f"{name} ({curve.n_reached}/{curve.n} reached)".strip()
        ax.step(curve.epochs, curve.fraction_reached, where="post", color=color, label=label)
        if band:
            ax.fill_between(curve.epochs, curve.ci_low, curve.ci_high, step="post", color=color, alpha=0.15,
                            linewidth=0)
    ax.set(xlabel="epoch", ylabel="fraction of runs reached (Kaplan-Meier)", ylim=(-0.02, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_paired_differences(comparisons, *, ax=None, show_decision=True, colors=None):
    """Dot-and-interval plot of paired differences: one row per comparison, a zero line and the margin band.

    - comparisons: a `PairedComparison`, a list of them, or the DataFrame of `Study.comparisons` (columns a, b,
      mean_difference, ci_low, ci_high, margin, decision, metric, unit, confidence).
    - show_decision: add each row's decision under its label.
    - colors: one colour per row (default: `PALETTE` in order); `Study.plot_comparisons` gives each config the
      colour it has in the study's other plots.
    Each row: a dot at the mean difference b - a and a horizontal line over its confidence interval; the grey
    band is -margin..+margin (the differences that do not matter), the dashed line is 0. An interval off the
    zero line is "a difference" (smaller than the margin when it also lies inside the band); an interval over the
    zero line and inside the band "no practical difference"; otherwise undecided.
    Returns the Axes. Rows are drawn top to bottom in the given order.
    """
    rows = _comparison_rows(comparisons)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.9 + 0.6 * len(rows)))
    positions = np.arange(len(rows))[::-1]
    margins = {row["margin"] for row in rows}
    if len(margins) == 1:
        margin = margins.pop()
        ax.axvspan(-margin, margin, color=REFERENCE_COLOR, alpha=0.2, linewidth=0,
                   label=f"\u00b1{margin:g}: no practical difference")
    else:
        for y, row in zip(positions, rows):
            ax.fill_betweenx([y - 0.4, y + 0.4], -row["margin"], row["margin"], color=REFERENCE_COLOR, alpha=0.2,
                             linewidth=0)
    ax.axvline(0, color="black", linestyle="--", linewidth=1)
    for color, y, row in zip(_colors(colors, len(rows)), positions, rows):
        ax.plot([row["ci_low"], row["ci_high"]], [y, y], color=color, linewidth=2.5, solid_capstyle="butt")
        ax.plot([row["mean_difference"]], [y], "o", color=color, markersize=7)
    labels = [f"{row['b']} \u2212 {row['a']}" + (f"\n{row['decision']}" if show_decision else "") for row in rows]
    ax.set_yticks(positions, labels)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    metrics = sorted({row["metric"] for row in rows if row["metric"]})
    unit = rows[0]["unit"]
    confidence = rows[0]["confidence"]
    ax.set_xlabel(f"{', '.join(metrics) or 'difference'}: paired difference"
                  + (f" ({unit})" if unit else "") + f", mean and {confidence * 100:g} % CI")
    ax.grid(axis="x", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    return ax


def draw_bayes_accuracy(ax, *, factor=0.8, noise=0.1, accuracy=None):
    """Draw the Bayes-optimal accuracy of the circles problem as a horizontal line on an accuracy plot.

    - ax: the Axes (y = accuracy as a fraction); factor, noise: of the circles data (the course: 0.8, 0.1);
      accuracy: the value to draw, if already computed (default: `bayes_accuracy_circles(factor, noise)`).
    Returns the Axes. No classifier beats this line on average: a mean test accuracy above it is test-set noise.
    """
    if accuracy is None:
        accuracy = bayes_accuracy_circles(factor=factor, noise=noise)
    ax.axhline(accuracy, color=REFERENCE_COLOR, linestyle="-.", linewidth=1.2,
               label=f"Bayes-optimal accuracy {accuracy:.3f}")
    return ax


def _colors(colors, count):
    if colors is None:
        return [palette_color(index) for index in range(count)]
    colors = list(colors)
    if len(colors) != count:
        raise ValueError(f"colors must give one colour per series ({count}); got {len(colors)}.")
    return colors


def _runs_by_epochs(curves, name="curves"):
    samples = np.asarray(curves, dtype=float)
    if samples.ndim != 2 or samples.shape[1] == 0:
        raise ValueError(f"{name} must have shape (seeds, epochs), one row per run, at least one epoch; got shape "
                         f"{samples.shape}. For a single run pass curve[None, :].")
    return samples


def _comparison_rows(comparisons):
    if isinstance(comparisons, PairedComparison):
        comparisons = [comparisons]
    if hasattr(comparisons, "to_dict") and hasattr(comparisons, "columns"):  # a DataFrame
        required = {"a", "b", "mean_difference", "ci_low", "ci_high", "margin"}
        if not required <= set(comparisons.columns):
            raise ValueError(f"the comparisons table needs the columns {sorted(required)}; got "
                             f"{list(comparisons.columns)}.")
        rows = comparisons.to_dict("records")
    elif isinstance(comparisons, (list, tuple)) and all(isinstance(c, PairedComparison) for c in comparisons):
        rows = [comparison.as_row() for comparison in comparisons]
    else:
        raise TypeError("comparisons must be a PairedComparison, a list of them, or the DataFrame of "
                        "Study.comparisons.")
    if not rows:
        raise ValueError("comparisons is empty: there is nothing to draw.")
    for row in rows:
        row.setdefault("decision", "")
        row.setdefault("metric", "")
        row.setdefault("unit", "")
        row.setdefault("confidence", 0.95)
    return rows
