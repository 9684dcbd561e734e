"""Summaries of learning curves."""
import numpy as np


def first_epoch_reaching(curve, threshold):
    """Return the first epoch (1-based) at which `curve` is >= `threshold`, or None if it never is.

    `curve` holds one value per epoch, as in a Keras history; epoch 1 is `curve[0]`.
    """
    values = np.asarray(curve, dtype=float).ravel()
    reached = np.flatnonzero(values >= threshold)
    return int(reached[0]) + 1 if reached.size else None
