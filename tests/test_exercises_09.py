"""The autograded exercises of 09-after-training catch the wrong answers their hidden tests name.

Each hidden test cell of the source notebook lists, in a comment, the wrong answers it must catch. For every one
of them this module runs the exercise's test cells (public, then hidden: the hidden one uses the public one's
NumPy reference) on that wrong answer, in-process (`exercise_cells.failing_tests`), and requires the hidden test
cell to fail: a test cell that raises scores 0 in nbgrader, so the wrong answer loses points. The correct solution
must pass every test cell, so that a failure is the wrong answer's doing. Each wrong answer is the solution with
one passage replaced, and the replacement must take place, so that a change of the solution cannot silently turn
a wrong answer into the right one.
"""
import re

import pytest

from exercise_cells import exercise_failures, naming_mismatches, source_cells

ASSIGNMENT = "09-after-training"
CELLS = source_cells(ASSIGNMENT)
SOLUTION = re.compile(r"    ### BEGIN SOLUTION\n|        ### BEGIN SOLUTION\n|    ### END SOLUTION\n|        ### END SOLUTION\n")


def solution(exercise):
    """The answer cell's source with the solution markers removed (what a learner who got it right submits)."""
    return SOLUTION.sub("", CELLS[exercise])


def replaced(exercise, *replacements):
    """The solution of `exercise` with each (old, new) passage replaced; old must occur exactly once."""
    source = solution(exercise)
    for old, new in replacements:
        assert source.count(old) == 1, f"{old!r} occurs {source.count(old)} times in the solution of {exercise}"
        source = source.replace(old, new)
    return source


ALGORITHM_2 = "algorithm_2_statistics"
FOLD = "fold_bn"
RENORM = "BatchRenormalization"

BN_IN_TRAINING_MODE = ("activations = (gamma * (activations - mean) / np.sqrt(variance + layer.epsilon) + beta)"
                       ".astype(\"float32\")")

WRONG_ANSWERS = {
    ALGORITHM_2: {
        "no m/(m-1) factor": lambda: replaced(ALGORITHM_2, ("factor = batch_size / (batch_size - 1)", "factor = 1")),
        "the moving statistics updated": lambda: replaced(ALGORITHM_2, (
            BN_IN_TRAINING_MODE, "activations = np.asarray(layer(activations, training=True))")),
        "inference-mode passes": lambda: replaced(ALGORITHM_2, (
            BN_IN_TRAINING_MODE, "activations = np.asarray(layer(activations, training=False))")),
        "the partial last batch included": lambda: replaced(ALGORITHM_2, (
            "for batch in np.split(order[:n_batches * batch_size], n_batches):",
            "for batch in [order[start:start + batch_size] for start in range(0, len(X), batch_size)]:")),
        "the one-pass whole-set estimate": lambda: (
            "from bn_course.metrics import population_statistics\n\n\n"
            "def algorithm_2_statistics(model, X, *, batch_size=32, seed=0):\n"
            "    return population_statistics(model, X)\n"),
    },
    FOLD: {
        "folding into the wrong neighbour": lambda: replaced(FOLD, (
            "return tuple(dense_before.get_weights()), (scale[:, None] * kernel, bias + shift @ kernel)",
            "kernel_1, bias_1 = dense_before.get_weights()\n"
            "    return (kernel_1 * scale, bias_1 * scale + shift), (kernel, bias)")),
        "epsilon outside the square root": lambda: replaced(FOLD, (
            "    scale = gamma / np.sqrt(variance + bn.epsilon)\n    return",
            "    scale = gamma / (np.sqrt(variance) + bn.epsilon)\n    return"), (
            "    scale = gamma / np.sqrt(variance + bn.epsilon)\n    shift",
            "    scale = gamma / (np.sqrt(variance) + bn.epsilon)\n    shift")),
        "default epsilon": lambda: solution(FOLD).replace("bn.epsilon", "1e-3"),
        "the mean not scaled": lambda: replaced(FOLD, ("scale * (bias - mean) + beta", "bias - mean + beta")),
        "the following bias not shifted": lambda: replaced(FOLD, ("bias + shift @ kernel", "bias")),
    },
    RENORM: {
        "no stop-gradient on r and d": lambda: solution(RENORM).replace("ops.stop_gradient", ""),
        "clipping before the division": lambda: replaced(RENORM, (
            "ops.clip(stddev / renorm_stddev, 1.0 / self.r_max, self.r_max)",
            "ops.clip(stddev, 1.0 / self.r_max, self.r_max) / renorm_stddev"), (
            "ops.clip((mean - self.renorm_mean) / renorm_stddev, -self.d_max, self.d_max)",
            "ops.clip(mean - self.renorm_mean, -self.d_max, self.d_max) / renorm_stddev")),
        "statistics updated before r and d": lambda: replaced(RENORM, (
            "        renorm_stddev = ops.maximum(self.renorm_stddev, ops.sqrt(self.epsilon))\n",
            "        rm = self.renorm_momentum\n"
            "        self.renorm_mean.assign(rm * self.renorm_mean + (1 - rm) * mean)\n"
            "        self.renorm_stddev.assign(rm * self.renorm_stddev + (1 - rm) * stddev)\n"
            "        renorm_stddev = ops.maximum(self.renorm_stddev, ops.sqrt(self.epsilon))\n"), (
            "        self.renorm_mean.assign(rm * self.renorm_mean + (1 - rm) * mean)\n"
            "        self.renorm_stddev.assign(rm * self.renorm_stddev + (1 - rm) * stddev)\n"
            "        self.moving_mean", "        self.moving_mean")),
        "moving variance averaged directly": lambda: replaced(RENORM, (
            "self.moving_variance.assign(ops.relu(self.moving_stddev ** 2 - self.epsilon))",
            "self.moving_variance.assign(m * self.moving_variance + (1 - m) * variance)")),
        "r inverted": lambda: replaced(RENORM, ("ops.clip(stddev / renorm_stddev,", "ops.clip(renorm_stddev / stddev,")),
    },
}


def failing_cells(exercise, answer):
    return exercise_failures(ASSIGNMENT, exercise, answer, setup=("code-01",))


def test_the_notebook_names_exactly_the_wrong_answers_tested_here():
    assert naming_mismatches(CELLS, WRONG_ANSWERS) == {}, "{exercise: (named, not tested; tested, not named)}"


@pytest.mark.parametrize("exercise", sorted(WRONG_ANSWERS))
def test_the_solution_passes_every_test_cell(exercise):
    assert failing_cells(exercise, solution(exercise)) == set()


@pytest.mark.parametrize("exercise, mistake", [(exercise, mistake) for exercise, answers in WRONG_ANSWERS.items()
                                               for mistake in answers])
def test_each_named_wrong_answer_loses_points(exercise, mistake):
    answer = WRONG_ANSWERS[exercise][mistake]()
    assert answer != solution(exercise)
    failed = failing_cells(exercise, answer)
    assert f"test_{exercise}_hidden" in failed, f"{mistake!r} passes the hidden tests of {exercise}"
