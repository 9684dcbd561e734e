"""The autograded exercises of 08-normalization-family catch the wrong answers their hidden tests name.

Each hidden test cell of the source notebook lists, in a comment, the wrong answers it must catch. For every
one of them this module runs the exercise's test cells (public and hidden) on that wrong answer, in-process
(`exercise_cells.failing_tests`), and requires both the public and the hidden test cell to fail: a test cell that
raises scores 0 in nbgrader, so the wrong answer loses points, and the learner sees the public failure before
submitting. The correct solution must pass every test cell, so that a failure is the wrong answer's doing. The
list in the notebook and the answers below must name the same mistakes.
"""

import pytest

from exercise_cells import exercise_failures, naming_mismatches, source_cells

ASSIGNMENT = "08-normalization-family"
CELLS = source_cells(ASSIGNMENT)

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
        "default epsilon": GROUP_NORM + (
            "    c = x.shape[-1]\n"
            "    g = x.reshape(len(x), -1, groups, c // groups)\n"
            "    mean, var = g.mean(axis=(1, 3), keepdims=True), g.var(axis=(1, 3), keepdims=True)\n"
            "    return gamma * ((g - mean) / np.sqrt(var + 1e-3)).reshape(x.shape) + beta\n"),
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
        "default momentum": _spatial(
            update="new_mean = 0.99 * moving_mean + (1 - 0.99) * mean\n"
                   "        new_var = 0.99 * moving_var + (1 - 0.99) * variance"),
        "default epsilon": _spatial(normalise="gamma * (x - mean) / np.sqrt(variance + 1e-3) + beta"),
    },
}


def failing_cells(exercise, answer):
    return exercise_failures(ASSIGNMENT, exercise, answer)


def test_the_notebook_names_exactly_the_wrong_answers_tested_here():
    assert naming_mismatches(CELLS, WRONG_ANSWERS) == {}, "{exercise: (named, not tested; tested, not named)}"


@pytest.mark.parametrize("exercise", sorted(WRONG_ANSWERS))
def test_the_solution_passes_every_test_cell(exercise):
    assert failing_cells(exercise, CELLS[exercise]) == set()


@pytest.mark.parametrize("exercise, mistake", [(exercise, mistake) for exercise, answers in WRONG_ANSWERS.items()
                                               for mistake in answers])
def test_each_named_wrong_answer_fails_the_public_and_the_hidden_test(exercise, mistake):
    # The public test checks every rule the exercise states (shapes of two and more axes, the epsilon and
    # momentum given), so a learner sees each of these mistakes before submitting, and loses the hidden points too.
    failed = failing_cells(exercise, WRONG_ANSWERS[exercise][mistake])
    assert failed == {f"test_{exercise}_public", f"test_{exercise}_hidden"}, f"{mistake!r} fails only {failed}"
