"""The autograded exercises of 08-normalization-family catch the wrong answers their hidden tests name.

Each hidden test cell of the source notebook lists, in a comment, the wrong answers it must catch. For every
one of them this module runs the exercise's test cells (public and hidden) on that wrong answer, as nbgrader
would in the learner's kernel, and requires at least one of them to fail: a test cell that raises scores 0, so
the wrong answer loses points. The correct solution must pass every test cell, so that a failure is the wrong
answer's doing. The list in the notebook and the answers below must name the same mistakes.
"""
import re

import pytest

from course import ROOT, notebook_path, read_notebook

ASSIGNMENT = "08-normalization-family"
NAMED = re.compile(r"^# - (?P<name>[^:\n]+)", re.MULTILINE)  # "# - name: what it does"

LAYER_NORM = "def layer_norm_forward(x, gamma, beta, *, epsilon=1e-3):\n"
GROUP_NORM = "def group_norm_forward(x, gamma, beta, *, groups, epsilon=1e-3):\n"
SPATIAL_BN = ("def spatial_batchnorm_forward(x, gamma, beta, moving_mean, moving_var, *, training, momentum=0.99,"
              " epsilon=1e-3):\n")


def _spatial(statistics="mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))",
             update="new_mean = momentum * moving_mean + (1 - momentum) * mean\n"
                    "        new_var = momentum * moving_var + (1 - momentum) * variance",
             inference="mean, variance, new_mean, new_var = moving_mean, moving_var, moving_mean, moving_var",
             normalise="gamma * (x - mean) / np.sqrt(variance + epsilon) + beta"):
    """A spatial BN answer built from its four parts; each wrong answer below replaces one of them."""
    return (SPATIAL_BN
            + "    if training:\n"
            + f"        {statistics}\n"
            + f"        {update}\n"
            + "    else:\n"
            + f"        {inference}\n"
            + f"    return {normalise}, new_mean, new_var\n")


WRONG_ANSWERS = {
    "layer_norm_forward": {
        "over the batch axis": LAYER_NORM + (
            "    mean, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)\n"
            "    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta\n"),
        "over every axis but the batch": LAYER_NORM + (
            "    axes = tuple(range(1, x.ndim))\n"
            "    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)\n"
            "    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta\n"),
        "unbiased variance": LAYER_NORM + (
            "    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True, ddof=1)\n"
            "    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta\n"),
        "epsilon outside the square root": LAYER_NORM + (
            "    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)\n"
            "    return gamma * (x - mean) / (np.sqrt(var) + epsilon) + beta\n"),
        "default epsilon": LAYER_NORM + (
            "    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)\n"
            "    return gamma * (x - mean) / np.sqrt(var + 1e-3) + beta\n"),
    },
    "group_norm_forward": {
        "groups split along the wrong axis": GROUP_NORM + (
            "    c = x.shape[-1]\n"
            "    g = x.reshape(len(x), -1, c // groups, groups)\n"
            "    mean, var = g.mean(axis=(1, 2), keepdims=True), g.var(axis=(1, 2), keepdims=True)\n"
            "    return gamma * ((g - mean) / np.sqrt(var + epsilon)).reshape(x.shape) + beta\n"),
        "statistics over the batch too": GROUP_NORM + (
            "    c = x.shape[-1]\n"
            "    g = x.reshape(len(x), -1, groups, c // groups)\n"
            "    mean, var = g.mean(axis=(0, 1, 3), keepdims=True), g.var(axis=(0, 1, 3), keepdims=True)\n"
            "    return gamma * ((g - mean) / np.sqrt(var + epsilon)).reshape(x.shape) + beta\n"),
        "statistics per position": GROUP_NORM + (
            "    c = x.shape[-1]\n"
            "    g = x.reshape(len(x), -1, groups, c // groups)\n"
            "    mean, var = g.mean(axis=3, keepdims=True), g.var(axis=3, keepdims=True)\n"
            "    return gamma * ((g - mean) / np.sqrt(var + epsilon)).reshape(x.shape) + beta\n"),
        "unbiased variance": GROUP_NORM + (
            "    c = x.shape[-1]\n"
            "    g = x.reshape(len(x), -1, groups, c // groups)\n"
            "    mean, var = g.mean(axis=(1, 3), keepdims=True), g.var(axis=(1, 3), keepdims=True, ddof=1)\n"
            "    return gamma * ((g - mean) / np.sqrt(var + epsilon)).reshape(x.shape) + beta\n"),
        "epsilon outside the square root": GROUP_NORM + (
            "    c = x.shape[-1]\n"
            "    g = x.reshape(len(x), -1, groups, c // groups)\n"
            "    mean, var = g.mean(axis=(1, 3), keepdims=True), g.var(axis=(1, 3), keepdims=True)\n"
            "    return gamma * ((g - mean) / (np.sqrt(var) + epsilon)).reshape(x.shape) + beta\n"),
    },
    "spatial_batchnorm_forward": {
        "statistics over the batch only": _spatial(statistics="mean, variance = x.mean(axis=0), x.var(axis=0)"),
        "statistics over every axis": _spatial(statistics="mean, variance = x.mean(), x.var()"),
        "unbiased variance": _spatial(
            statistics="mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2), ddof=1)"),
        "epsilon outside the square root": _spatial(normalise="gamma * (x - mean) / (np.sqrt(variance) + epsilon) + beta"),
        "PyTorch's momentum convention": _spatial(
            update="new_mean = (1 - momentum) * moving_mean + momentum * mean\n"
                   "        new_var = (1 - momentum) * moving_var + momentum * variance"),
        "batch statistics in inference mode": _spatial(
            inference="mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))\n"
                      "        new_mean, new_var = moving_mean, moving_var"),
        "moving statistics updated in inference mode": _spatial(
            inference="mean, variance = moving_mean, moving_var\n"
                      "        new_mean = momentum * moving_mean + (1 - momentum) * x.mean(axis=(0, 1, 2))\n"
                      "        new_var = momentum * moving_var + (1 - momentum) * x.var(axis=(0, 1, 2))"),
    },
}


@pytest.fixture(scope="module")
def cells():
    """{grade_id: source} of the source notebook's graded and answer cells."""
    notebook = read_notebook(notebook_path(ROOT, "solutions", ASSIGNMENT))
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})}


def failing_test_cells(cells, exercise, answer):
    """The test cells of `exercise` that fail (raise) after `answer` ran in a fresh namespace, like a kernel."""
    namespace = {}
    exec("import numpy as np", namespace)
    exec(answer, namespace)
    failed = set()
    for grade_id in (f"test_{exercise}_public", f"test_{exercise}_hidden"):
        try:
            exec(cells[grade_id], namespace)
        except Exception:  # noqa: BLE001 - any error in a test cell scores it 0, as in nbgrader
            failed.add(grade_id)
    return failed


def test_the_notebook_names_exactly_the_wrong_answers_tested_here(cells):
    for exercise, answers in WRONG_ANSWERS.items():
        named = {match["name"].strip() for match in NAMED.finditer(cells[f"test_{exercise}_hidden"])}
        assert named == set(answers), f"{exercise}: named in the notebook {sorted(named)}, tested {sorted(answers)}"


@pytest.mark.parametrize("exercise", sorted(WRONG_ANSWERS))
def test_the_solution_passes_every_test_cell(cells, exercise):
    assert failing_test_cells(cells, exercise, cells[exercise]) == set()


@pytest.mark.parametrize("exercise, mistake", [(exercise, mistake) for exercise, answers in WRONG_ANSWERS.items()
                                               for mistake in answers])
def test_each_named_wrong_answer_loses_points(cells, exercise, mistake):
    failed = failing_test_cells(cells, exercise, WRONG_ANSWERS[exercise][mistake])
    assert f"test_{exercise}_hidden" in failed, f"{mistake!r} passes the hidden tests of {exercise}"
