"""Unit tests for bn_course.data, bn_course.metrics and bn_course.runtime."""
import numpy as np
import pytest
from sklearn.datasets import make_circles

from bn_course.data import load_circles
from bn_course.metrics import first_epoch_reaching
from bn_course.runtime import demo_seeds, is_autograding


def test_circles_split_reproduces_the_tutorial():
    data = load_circles()
    X, y = make_circles(n_samples=1000, noise=0.1, random_state=1)
    assert data.X_train.shape == (500, 2) and data.X_test.shape == (500, 2)
    assert data.y_train.shape == (500,) and data.y_test.shape == (500,)
    np.testing.assert_allclose(data.X_train, X[:500], rtol=1e-6)
    np.testing.assert_allclose(data.X_test, X[500:], rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, y[500:])
    assert data.X_train.dtype == np.float32 and set(np.unique(data.y_train)) == {0.0, 1.0}


def test_circles_are_deterministic_and_follow_the_arguments():
    first, second = load_circles(random_state=3), load_circles(random_state=3)
    np.testing.assert_array_equal(first.X_train, second.X_train)
    other = load_circles(n_samples=200, n_train=150, random_state=4)
    assert other.X_train.shape == (150, 2) and other.X_test.shape == (50, 2)
    assert not np.array_equal(other.X_train[:10], first.X_train[:10])


@pytest.mark.parametrize(
    "curve, threshold, expected",
    [
        ([0.5, 0.7, 0.8, 0.9], 0.8, 3),
        ([0.85, 0.7], 0.8, 1),
        ([0.1, 0.2], 0.8, None),
        (np.array([[0.5], [0.81]]), 0.8, 2),
        ([], 0.8, None),
    ],
)
def test_first_epoch_reaching(curve, threshold, expected):
    assert first_epoch_reaching(curve, threshold) == expected


def test_demo_seeds_are_lighter_under_autograde(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not is_autograding()
    assert demo_seeds(10) == list(range(10))
    assert demo_seeds(4, first_seed=5) == [5, 6, 7, 8]
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert is_autograding()
    assert demo_seeds(10, n_seeds_when_grading=3) == [0, 1, 2]
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert demo_seeds(10) == list(range(10))
