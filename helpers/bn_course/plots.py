"""Figures used across the notebooks, in the colour-blind-safe palette of `bn_course.study_plots.PALETTE`."""
import matplotlib.pyplot as plt
import numpy as np

from bn_course.study_plots import palette_color


def plot_circles(X, y, *, ax=None, title="The circles data set"):
    """Scatter plot of a 2-D binary data set, one colour per class. Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    labels = np.asarray(y).ravel()
    for label in (0, 1):
        points = X[labels == label]
        ax.scatter(points[:, 0], points[:, 1], s=8, color=palette_color(label), label=f"class {label}")
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    ax.legend(loc="upper right")
    return ax


def plot_learning_curves(history, *, title=None):
    """Loss and accuracy per epoch, train vs test, in one figure with two panels. Returns the Figure.

    `history` is a dict with the keys of a Keras history: 'loss', 'val_loss', 'accuracy', 'val_accuracy'.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric, label in ((ax_loss, "loss", "binary cross-entropy"), (ax_acc, "accuracy", "accuracy")):
        ax.plot(epochs, history[metric], color=palette_color(0), label="train (fit's running mean)")
        ax.plot(epochs, history[f"val_{metric}"], color=palette_color(1), label="test (end of epoch)")
        ax.set(xlabel="epoch", ylabel=label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
