"""07-what-bn-does: each wrong answer named in a hidden test's comment fails that exercise's hidden test cell.

`exercise_cells.exercise_failures` runs the exercise's public and hidden test cells in-process, after the wrong answer
replaces the solution: a graded cell that raises scores 0 in nbgrader, so the answer loses its points. The
complete solution must pass every cell. `tests/test_nbgrader_roundtrip.py` grades one of these wrong answers
through nbgrader itself.
"""
import pytest

from exercise_cells import exercise_failures, source_cells

ASSIGNMENT = "07-what-bn-does"
CELLS = source_cells(ASSIGNMENT)


def failing_cells(exercise, answer):
    """The test cells of `exercise` (public, hidden) that raise when its answer cell holds `answer`."""
    return exercise_failures(ASSIGNMENT, exercise, answer)


WEIGHTS_FOR_ICS = {
    "the layer's own update included": "def weights_for_ics(before, after, blocks, layer):\n"
                                       "    return np.where(np.asarray(blocks) <= layer, after, before)\n",
    "the layers above updated": "def weights_for_ics(before, after, blocks, layer):\n"
                                "    return np.where(np.asarray(blocks) > layer, after, before)\n",
    "every block updated": "def weights_for_ics(before, after, blocks, layer):\n    return np.asarray(after, float)\n",
    "no block updated": "def weights_for_ics(before, after, blocks, layer):\n    return np.asarray(before, float)\n",
    "before overwritten in place": "def weights_for_ics(before, after, blocks, layer):\n"
                                   "    below = np.asarray(blocks) < layer\n"
                                   "    before[below] = np.asarray(after)[below]\n"
                                   "    return before\n",
}

_SHIFT = ("def gradient_shift(G, G_prime):\n"
          "    g, h = np.ravel(np.asarray(G, float)), np.ravel(np.asarray(G_prime, float))\n"
          "    d, n, m = np.linalg.norm(g - h), np.linalg.norm(g), np.linalg.norm(h)\n"
          "    return {}\n")
GRADIENT_SHIFT = {
    "relative distance without its denominator": _SHIFT.format("d, d, g @ h / (n * m)"),
    "relative distance divided by |G'|": _SHIFT.format("d, d / m, g @ h / (n * m)"),
    "cosine's sign lost": _SHIFT.format("d, d / n, abs(g @ h) / (n * m)"),
    "cosine's sign flipped": _SHIFT.format("d, d / n, -(g @ h) / (n * m)"),
    "dot product left unnormalised": _SHIFT.format("d, d / n, g @ h"),
    "squared distance": _SHIFT.format("d**2, d**2 / n, g @ h / (n * m)"),
    "kernels not flattened": "def gradient_shift(G, G_prime):\n"
                             "    g, h = np.asarray(G, float), np.asarray(G_prime, float)\n"
                             "    d = np.linalg.norm(g - h)\n"
                             "    return d, d / np.linalg.norm(g), np.dot(g, h) / (np.linalg.norm(g) * np.linalg.norm(h))\n",
}

_LANDSCAPE = ("def landscape_measures(theta, gradient, step_sizes, loss_and_gradient_at):\n"
              "    theta, gradient, steps = (np.asarray(a, float) for a in (theta, gradient, step_sizes))\n"
              "    points = theta[None, :] {sign} steps[:, None] * gradient[None, :]\n"
              "    losses, gradients = loss_and_gradient_at(points)\n"
              "    changes = np.linalg.norm(np.asarray(gradients) - gradient[None, :], axis=1)\n"
              "    norm = np.linalg.norm(gradient)\n"
              "    {extra}\n"
              "    return {{'loss range': float({loss_range}), 'gradient change': float({change}),\n"
              "            'effective beta': float({beta})}}\n")
RIGHT = {"sign": "-", "extra": "pass", "loss_range": "losses.max() - losses.min()", "change": "changes.max()",
         "beta": "np.max(changes / (steps * norm))"}
LANDSCAPE_MEASURES = {
    "points taken uphill": _LANDSCAPE.format(**RIGHT | {"sign": "+"}),
    "effective beta not divided by the step": _LANDSCAPE.format(**RIGHT | {"beta": "np.max(changes / norm)"}),
    "effective beta not divided by |gradient|": _LANDSCAPE.format(**RIGHT | {"beta": "np.max(changes / steps)"}),
    "largest change over the largest step": _LANDSCAPE.format(**RIGHT | {"beta": "changes.max() / (steps.max() * norm)"}),
    "means instead of maxima": _LANDSCAPE.format(**RIGHT | {"change": "changes.mean()",
                                                             "beta": "np.mean(changes / (steps * norm))"}),
    "loss range measured from the current loss": _LANDSCAPE.format(**RIGHT | {
        "extra": "current = np.asarray(loss_and_gradient_at(theta[None, :])[0])[0]",
        "loss_range": "np.max(np.abs(losses - current))"}),
}

# Wrong answers that break a rule the exercise states and that its public test (1 point, friendly message) now catches.
PUBLIC_CATCHES = [("weights_for_ics", "before overwritten in place"), ("gradient_shift", "kernels not flattened"),
                  ("landscape_measures", "largest change over the largest step")]

EXERCISES = {"weights_for_ics": WEIGHTS_FOR_ICS, "gradient_shift": GRADIENT_SHIFT,
             "landscape_measures": LANDSCAPE_MEASURES}
CASES = [(exercise, name, answer) for exercise, answers in EXERCISES.items() for name, answer in answers.items()]


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_the_solution_passes_every_test_cell_of_its_exercise(exercise):
    assert failing_cells(exercise, CELLS[exercise]) == set()


@pytest.mark.parametrize("exercise, name, answer", CASES, ids=[f"{e}: {n}" for e, n, _ in CASES])
def test_each_named_wrong_answer_loses_the_hidden_points(exercise, name, answer):
    assert f"test_{exercise}_hidden" in failing_cells(exercise, answer), f"{exercise}: '{name}' was not caught"


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_the_hidden_test_names_the_wrong_answers_it_catches(exercise):
    """The source notebook says, in the hidden test's comment, which wrong answers it must catch."""
    hidden = CELLS[f"test_{exercise}_hidden"]
    assert "Wrong answers they must catch" in hidden and "tests/test_exercises_07.py" in hidden


@pytest.mark.parametrize("exercise, name", PUBLIC_CATCHES, ids=[f"{e}: {n}" for e, n in PUBLIC_CATCHES])
def test_the_public_test_catches_a_stated_rule(exercise, name):
    """A stated rule (leave the inputs unchanged; kernels as one vector; the largest ratio) fails the public test too."""
    assert f"test_{exercise}_public" in failing_cells(exercise, EXERCISES[exercise][name]), f"{exercise}: '{name}' passed the public test"
