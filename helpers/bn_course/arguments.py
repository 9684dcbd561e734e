"""Checks of helper arguments shared by the modules, so that bad input fails early with what was expected."""
import math
import numbers


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
