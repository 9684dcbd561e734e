"""The two-circles classification problem used throughout the course."""
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import make_circles


@dataclass(frozen=True)
class Dataset:
    """A train/test split. Inputs are float32 of shape (n, 2); labels are float32 of shape (n,) in {0, 1}."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_circles(*, n_samples=1000, noise=0.1, random_state=1, n_train=500):
    """Generate the circles data set and split it: the first `n_train` samples train, the rest test.

    The defaults reproduce the seed tutorial: 1000 samples, noise 0.1, random_state 1, 500 / 500.
    """
    X, y = make_circles(n_samples=n_samples, noise=noise, random_state=random_state)
    X = X.astype(np.float32)
    y = y.astype(np.float32)
    return Dataset(X_train=X[:n_train], y_train=y[:n_train], X_test=X[n_train:], y_test=y[n_train:])
