"""Figures used across the notebooks, in the colour-blind-safe palette of `bn_course.study_plots.PALETTE`."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from bn_course.arguments import check_points, history_dict
from bn_course.study_plots import REFERENCE_COLOR, palette_color


def plot_circles(X, y, *, ax=None, title="The circles data set"):
    """Scatter plot of a 2-D binary data set, one colour per class. Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    X, labels = check_points(X, y)
    for label in (0, 1):
        points = X[labels == label]
        ax.scatter(points[:, 0], points[:, 1], s=8, color=palette_color(label), label=f"class {label}")
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    ax.legend(loc="upper right")
    return ax


def plot_learning_curves(history, *, title=None):
    """Loss and accuracy per epoch, train vs test, in one figure with two panels. Returns the Figure.

    `history` is what model.fit returns (a History) or a dict with the keys of a Keras history: 'loss',
    'val_loss', 'accuracy', 'val_accuracy'. Raises TypeError for anything else, ValueError naming missing keys.
    """
    history = history_dict(history, ("loss", "val_loss", "accuracy", "val_accuracy"))
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


def plot_decision_boundary(model, X, y, *, ax=None, title="Decision boundary", extent=1.5, resolution=200,
                           bayes_radius=None):
    """What a trained binary classifier learned on 2-D data: its probability of class 1 over the plane, its
    decision boundary (probability 0.5) and the points.

    - model: a Keras model taking inputs (n, 2) and returning probabilities (n, 1) or (n,); it is called in
      inference mode (BN with its moving statistics), as `predict` and `evaluate` use it.
    - X: array (n, 2), y: labels (n,) in {0, 1}: the points drawn over it (e.g. the test set).
    - extent: the square [-extent, extent]^2 drawn, in the data's units; resolution: grid points per axis.
    - bayes_radius: if given, the Bayes-optimal boundary of the circles problem, a circle of that radius
      (`bn_course.statistics.circles_bayes_boundary_radius()`), drawn dashed for comparison.
    Returns the Axes. The background shades from class 0 (the colour of class 0 in `plot_circles`) to class 1.
    Raises ValueError for X not of shape (n, 2) or a non-positive extent or resolution below 2.
    """
    points = np.asarray(X, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2): the decision boundary is drawn in the plane; got {points.shape}.")
    if not extent > 0 or int(resolution) < 2:
        raise ValueError(f"extent must be > 0 and resolution >= 2; got extent={extent!r}, resolution={resolution!r}.")
    axis = np.linspace(-extent, extent, int(resolution))
    grid_x, grid_y = np.meshgrid(axis, axis)
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()]).astype("float32")
    probability = np.asarray(model(grid, training=False)).reshape(grid_x.shape)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    colormap = LinearSegmentedColormap.from_list("classes", [palette_color(0), "white", palette_color(1)])
    ax.contourf(grid_x, grid_y, probability, levels=np.linspace(0, 1, 11), cmap=colormap, alpha=0.35)
    ax.contour(grid_x, grid_y, probability, levels=[0.5], colors="black", linewidths=1.5)
    plot_circles(points, y, ax=ax, title=title)
    handles = [Line2D([], [], color="black", linewidth=1.5, label="model: probability 0.5")]
    if bayes_radius is not None:
        ax.add_patch(Circle((0, 0), bayes_radius, fill=False, color=REFERENCE_COLOR, linestyle="--", linewidth=1.5))
        handles.append(Line2D([], [], color=REFERENCE_COLOR, linestyle="--", linewidth=1.5,
                              label=f"Bayes-optimal boundary (radius {bayes_radius:.3f})"))
    ax.legend(handles=ax.get_legend_handles_labels()[0] + handles, loc="upper right", fontsize="small")
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent))
    return ax
