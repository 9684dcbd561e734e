"""The data sets of the course: the two-circles problem used throughout, and MNIST-1D.

Both are generated on the machine (scikit-learn's make_circles; the mnist1d package's procedural generator),
so nothing is downloaded at run time.
"""
import contextlib
import functools
import random
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import make_circles

from bn_course.arguments import check_noise, is_integer


@dataclass(frozen=True)
class Dataset:
    """A train/test split of inputs X and labels y; the arrays are NumPy arrays with one row per sample.

    - load_circles: inputs float32 of shape (n, 2) (point coordinates); labels float32 of shape (n,) in {0, 1}.
    - load_mnist1d: inputs float32 of shape (n, 40) (a 1-D signal of 40 dimensionless amplitudes, standardised
      per position by default); labels int32 of shape (n,) in 0..9 (the digit). 4000 train, 1000 test.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_circles(*, n_samples=1000, noise=0.1, random_state=1, n_train=500):
    """Generate the circles data set and split it: the first `n_train` samples train, the rest test.

    - n_samples: integer >= 2, the total number of points.
    - noise: number >= 0, standard deviation of the Gaussian noise added to the coordinates (radii 1 and 0.8).
    - random_state: integer seed, so that everyone gets the same points.
    - n_train: integer with 0 < n_train < n_samples, so that both splits are non-empty.

    The defaults reproduce the seed tutorial: 1000 samples, noise 0.1, random_state 1, 500 / 500.
    Returns a Dataset: inputs float32 (n, 2), labels float32 (n,) in {0, 1}.
    Raises ValueError, saying what was expected, when an argument is out of range or not an integer.
    """
    _check_circles_arguments(n_samples=n_samples, noise=noise, random_state=random_state, n_train=n_train)
    X, y = make_circles(n_samples=n_samples, noise=noise, random_state=random_state)
    X = X.astype(np.float32)
    y = y.astype(np.float32)
    return Dataset(X_train=X[:n_train], y_train=y[:n_train], X_test=X[n_train:], y_test=y[n_train:])


def _check_circles_arguments(*, n_samples, noise, random_state, n_train):
    """Raise ValueError with the expected form of the first invalid argument of load_circles."""
    for name, value in [("n_samples", n_samples), ("random_state", random_state), ("n_train", n_train)]:
        if not is_integer(value):
            raise ValueError(f"{name} must be an integer; got {value!r}.")
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2 (one training and one test point); got {n_samples}.")
    if not 0 < n_train < n_samples:
        # Without this, n_train >= n_samples silently gives an empty test set.
        raise ValueError(f"n_train must satisfy 0 < n_train < n_samples = {n_samples}, so that both splits "
                         f"are non-empty; got n_train={n_train}.")
    check_noise(noise)




def load_mnist1d(*, standardize=True):
    """Return MNIST-1D: 4000 training and 1000 test signals of length 40, each showing one digit 0..9.

    Source: S. Greydanus, "Scaling down deep learning" (2020), https://github.com/greydanus/mnist1d. The
    data set is generated procedurally on this machine by the mnist1d package (make_dataset with its default
    arguments, seed 42, so everyone gets the same signals); it is never downloaded. The first call takes
    about 2 s; the arrays are then cached in memory for the session.

    - standardize: if True (the default), each of the 40 input positions is standardised with the training
      set's mean and standard deviation (ddof=0) at that position, applied to both splits, so the test set
      plays no part in the statistics. If False, the inputs are the generator's own, which it centres and
      scales to standard deviation 1 with one scalar mean and one scalar deviation over all 5000 signals.

    Returns a Dataset: X_train float32 (4000, 40), y_train int32 (4000,), X_test float32 (1000, 40),
    y_test int32 (1000,); labels in 0..9, inputs dimensionless. The arrays are fresh copies: changing them
    does not change what later calls return. The global `random` and `np.random` states are left as they
    were (the generator reseeds them).
    """
    raw = _generated_mnist1d()
    X_train, X_test = raw.X_train, raw.X_test
    if standardize:
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)  # per position, training set only, ddof=0
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    return Dataset(X_train=X_train.astype(np.float32), y_train=raw.y_train.astype(np.int32),
                   X_test=X_test.astype(np.float32), y_test=raw.y_test.astype(np.int32))


@functools.lru_cache(maxsize=1)
def _generated_mnist1d():
    """Generate MNIST-1D once per session; a Dataset of read-only float64 inputs and int64 labels.

    The arrays are read-only so that nothing can corrupt the cache; load_mnist1d hands out copies.
    """
    # Imported here, not at module level: mnist1d imports requests and matplotlib.pyplot, which the
    # circles-only notebooks do not need. Only make_dataset is used: get_dataset would download a pickle.
    from mnist1d.data import get_dataset_args, make_dataset

    with _global_random_states_preserved():
        generated = make_dataset(get_dataset_args())  # calls mnist1d.utils.set_seed(42) on both generators
    arrays = [np.array(generated[key]) for key in ("x", "y", "x_test", "y_test")]
    for array in arrays:
        array.setflags(write=False)
    X_train, y_train, X_test, y_test = arrays
    return Dataset(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)


@contextlib.contextmanager
def _global_random_states_preserved():
    """Restore the global `random` and `np.random` states on exit, even if the body raises.

    Reseeding them would silently change every later draw in the student's notebook (shuffles, noise).
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
