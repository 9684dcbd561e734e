"""Checks of helper arguments shared by the modules, so that bad input fails early with what was expected."""
import math
import numbers
from collections.abc import Mapping

import numpy as np


def is_integer(value):
    """An integral number; a bool is not (True as a sample count is a mistake, not a request for one sample)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value):
    """A real number (int, float, NumPy scalar), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_noise(noise):
    """Raise ValueError unless `noise` is a finite standard deviation >= 0 (make_circles' `noise`)."""
    if not is_real(noise) or not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0 (a standard deviation); got {noise!r}.")


def check_threshold(curve_values, threshold):
    """Raise ValueError unless `threshold` is a real number that fits the curve's units.

    - curve_values: NumPy array of the curve(s) (any shape).
    - threshold: the level to reach. When every finite value of the curve lies in [0, 1] (accuracies as
      fractions), a threshold above 1 is a percentage typed where a fraction is expected (80 for 80 %): it could
      never be reached, so it is refused instead of returning "never".
    """
    if not is_real(threshold) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number in the curve's units (e.g. 0.8 for an accuracy of "
                         f"80 %); got {threshold!r}.")
    finite = curve_values[np.isfinite(curve_values)]
    if threshold > 1 and finite.size and finite.min() >= 0 and finite.max() <= 1:
        raise ValueError(f"threshold {threshold} is above 1, but the curve holds fractions between 0 and 1 (an "
                         f"accuracy); give a fraction, e.g. {threshold / 100:g} for {threshold:g} %.")


def check_model_builders(configs):
    """Raise TypeError unless `configs` is a non-empty dict mapping a name to a function that builds a new model.

    The usual mistake is a model where its builder is expected ({"BN": build_bn()} instead of build_bn): a
    study builds a fresh model for every seed, and a model called without inputs fails deep inside Keras.
    """
    import keras  # here, not at the top: data and statistics import this module and never need Keras

    if not isinstance(configs, dict) or not configs:
        raise TypeError("configs must be a non-empty dict mapping a name to a function that builds a new model, "
                        f"e.g. {{'BN after': build_bn_after}}; got {type(configs).__name__} {configs!r:.80}.")
    for name, build in configs.items():
        if isinstance(build, keras.layers.Layer):
            raise TypeError(f"configs[{name!r}] is a {type(build).__name__}, a model already built; give the "
                            f"function that builds it, without calling it: {{{name!r}: build_model}}, not "
                            "build_model().")
        if not callable(build):
            raise TypeError(f"configs[{name!r}] must be a function that builds a new model; got "
                            f"{type(build).__name__}.")


def history_dict(history, keys):
    """The per-epoch lists of a Keras History (its `.history`) or of a dict, checked to hold every one of `keys`.

    Raises TypeError for anything else, ValueError naming the missing keys (e.g. 'val_loss' when fit had no
    validation data, 'accuracy' when the model was compiled without metrics=['accuracy']).
    """
    values = getattr(history, "history", history)  # model.fit returns a History; its .history is the dict
    if not isinstance(values, Mapping):
        raise TypeError(f"history must be what model.fit returns (a History) or its .history dict with the keys "
                        f"{list(keys)}; got {type(history).__name__}.")
    missing = [key for key in keys if key not in values]
    if missing:
        raise ValueError(f"history lacks {missing}: it has {list(values)}. It needs {list(keys)} (compile with "
                         "metrics=['accuracy'] and fit with validation_data).")
    return values


def check_points(X, y):
    """X as an (n, 2) float array and y as n labels, or ValueError saying which shape was expected."""
    X, labels = np.asarray(X, dtype=float), np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), one row of two coordinates per point; got shape {X.shape}.")
    if labels.shape[0] != X.shape[0]:
        raise ValueError(f"y must hold one label per row of X ({X.shape[0]}); got {labels.shape[0]} labels.")
    return X, labels
