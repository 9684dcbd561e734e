"""The exercises of 01-theory can tell a right answer from a wrong one.

Every hidden test cell of the source notebook names, in a comment, the wrong answers it catches. Here each of
those wrong answers is written out (as an edit of the solution, so that it differs from a right answer in one
mistake only) and run through the notebook's own graded test cells by `exercise_cells.failing_tests`, in one
namespace without a kernel: the imports cell, the gradient-check tools, every solution cell with the one wrong
answer swapped in, then the exercise's public and hidden tests. Each wrong answer must fail the hidden test that names it (so it loses
points), and the public test too unless it only hard-codes the public test's shape (the public tests check
every rule the notebook states; the hidden tests add random shapes and values). The complete solution passes
every graded test.
"""
import re

import numpy as np
import pytest

from bn_course.checks import CheckFailed, check_close_naming_mistakes, check_unchanged
from exercise_cells import failing_tests, source_cells
from submissions import WRONG_ANSWERS

ASSIGNMENT = "01-theory"
CONTEXT_CELLS = ("code-02", "gradient_check_tools")  # the imports, numerical_gradient and relative_error
NAMED = re.compile(r"^#\s{2,}(\w+):", re.M)  # "#   unbiased_variance: ..." in a hidden test's comment

# (answer cell, name) -> [(text of the solution, replacement)]: each wrong answer is the solution with these edits.
WRONG = {
    ("batchnorm_forward_train", "unbiased_variance"): [
        ("batch_var = (centred**2).mean(axis=0)", "batch_var = (centred**2).sum(axis=0) / (x.shape[0] - 1)")],
    ("batchnorm_forward_train", "unbiased_moving_variance"): [
        ("(1.0 - momentum) * batch_var", "(1.0 - momentum) * x.var(axis=0, ddof=1)")],
    ("batchnorm_forward_train", "epsilon_outside_sqrt"): [
        ("std = np.sqrt(batch_var + epsilon)", "std = np.sqrt(batch_var) + epsilon")],
    ("batchnorm_forward_train", "pytorch_momentum"): [
        ("momentum * moving_mean + (1.0 - momentum) * batch_mean", "(1.0 - momentum) * moving_mean + momentum * batch_mean"),
        ("momentum * moving_var + (1.0 - momentum) * batch_var", "(1.0 - momentum) * moving_var + momentum * batch_var")],
    ("batchnorm_forward_train", "fixed_momentum_and_epsilon"): [
        ("momentum * moving_mean + (1.0 - momentum)", "0.99 * moving_mean + 0.01"),
        ("momentum * moving_var + (1.0 - momentum)", "0.99 * moving_var + 0.01"),
        ("np.sqrt(batch_var + epsilon)", "np.sqrt(batch_var + 1e-3)")],
    ("batchnorm_forward_train", "no_gamma_beta"): [("out = gamma * x_hat + beta", "out = x_hat")],
    ("batchnorm_forward_train", "moving_mean_in_place"): [
        ("new_moving_mean = momentum * moving_mean + (1.0 - momentum) * batch_mean",
         "moving_mean *= momentum\n    moving_mean += (1.0 - momentum) * batch_mean\n    new_moving_mean = moving_mean")],
    ("batchnorm_forward_train", "batch_of_four"): [
        ("batch_var = (centred**2).mean(axis=0)", "batch_var = (centred**2).sum(axis=0) / 4")],
    ("batchnorm_forward_inference", "batch_statistics"): [
        ("(x - moving_mean) / np.sqrt(moving_var + epsilon)", "(x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon)")],
    ("batchnorm_forward_inference", "epsilon_outside_sqrt"): [
        ("np.sqrt(moving_var + epsilon)", "(np.sqrt(moving_var) + epsilon)")],
    ("batchnorm_forward_inference", "variance_as_std"): [("np.sqrt(moving_var + epsilon)", "(moving_var + epsilon)")],
    ("batchnorm_forward_inference", "fixed_epsilon"): [("np.sqrt(moving_var + epsilon)", "np.sqrt(moving_var + 1e-3)")],
    ("batchnorm_forward_inference", "x_in_place"): [
        ("return gamma * (x - moving_mean)", "x -= moving_mean\n    return gamma * x")],
    ("batchnorm_backward", "naive_gradient"): [("return dx, dgamma, dbeta", "return dx_hat * inv_std, dgamma, dbeta")],
    ("batchnorm_backward", "no_variance_path"): [
        ("dcentred = dcentred + 2 * centred * dvar / n", "dcentred = dcentred")],
    ("batchnorm_backward", "no_mean_path"): [("dx = dcentred + dmean / n", "dx = dcentred")],
    ("batchnorm_backward", "variance_path_over_n_minus_1"): [
        ("dcentred = dcentred + 2 * centred * dvar / n", "dcentred = dcentred + 2 * centred * dvar / (n - 1)")],
    ("batchnorm_backward", "mean_summed_over_units"): [
        ("dmean = -dcentred.sum(axis=0)", "dmean = -dcentred.sum(axis=1, keepdims=True)")],
    ("batchnorm_backward", "dgamma_not_summed"): [("dgamma = (dout * x_hat).sum(axis=0)", "dgamma = dout * x_hat")],
    ("batchnorm_backward", "dout_in_place"): [("dx_hat = dout * gamma", "dout *= gamma\n    dx_hat = dout")],
    ("batchnorm_backward", "batch_of_four"): [("n = dout.shape[0]", "n = 4")],
    ("batchnorm_backward_alt", "naive_gradient"): [
        ("dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))",
         "dx = dx_hat * inv_std")],
    ("batchnorm_backward_alt", "no_variance_term"): [(" - x_hat * (dx_hat * x_hat).sum(axis=0)", "")],
    ("batchnorm_backward_alt", "no_mean_term"): [(" - dx_hat.sum(axis=0)", "")],
    ("batchnorm_backward_alt", "variance_term_over_n_minus_1"): [
        (" - x_hat * (dx_hat * x_hat).sum(axis=0))", " - x_hat * (dx_hat * x_hat).sum(axis=0) * n / (n - 1))")],
    ("batchnorm_backward_alt", "sums_over_examples"): [("dbeta = dout.sum(axis=0)", "dbeta = dout.sum(axis=1)")],
    ("batchnorm_backward_alt", "batch_of_six"): [("n = dout.shape[0]", "n = 6")],
}
# Wrong only for shapes other than the public test's: the hidden tests' random shapes catch them.
HIDDEN_ONLY = {("batchnorm_forward_train", "batch_of_four"), ("batchnorm_backward", "batch_of_four"),
               ("batchnorm_backward_alt", "batch_of_six")}


@pytest.fixture(scope="module")
def cells():
    """{grade_id: source} of the source notebook's cells that have one."""
    return source_cells(ASSIGNMENT)


def answer_cells(cells):
    """The grade ids of the answer cells: those with a public and a hidden test."""
    return [grade_id for grade_id in cells if f"test_{grade_id}_public" in cells and f"test_{grade_id}_hidden" in cells]


def wrong_source(cells, answer, name):
    source = cells[answer]
    for old, new in WRONG[answer, name]:
        assert source.count(old) == 1, f"the solution of {answer} no longer holds {old!r}: update WRONG[{name!r}]"
        source = source.replace(old, new)
    return source


def failed_tests(answers, tests):
    """The tests (grade ids) that raise, when `answers` ({grade_id: source}) replace the solutions."""
    return failing_tests(ASSIGNMENT, tests, answers, setup=CONTEXT_CELLS)


def test_every_exercise_has_named_wrong_answers_and_every_wrong_answer_is_named(cells):
    named = {(answer, name) for answer in answer_cells(cells)
             for name in NAMED.findall(cells[f"test_{answer}_hidden"])}
    assert {answer for answer, _ in named} == set(answer_cells(cells))
    assert named == set(WRONG), f"named in a hidden test but not written here: {named - set(WRONG)}; written " \
                                f"here but named in no hidden test: {set(WRONG) - named}"


def test_the_complete_solution_passes_every_graded_test(cells):
    graded = [grade_id for grade_id in cells if grade_id.startswith("test_")]
    assert len(graded) == 2 * len(answer_cells(cells))
    assert failed_tests({}, graded) == set()


@pytest.mark.parametrize("answer, name", sorted(WRONG))
def test_a_wrong_answer_loses_the_points_of_the_hidden_test_that_names_it(cells, answer, name):
    public, hidden = f"test_{answer}_public", f"test_{answer}_hidden"
    failed = failed_tests({answer: wrong_source(cells, answer, name)}, [public, hidden])
    assert hidden in failed, f"{name} passes {hidden}, whose comment says it catches it"
    assert (public in failed) is ((answer, name) not in HIDDEN_ONLY), (
        f"{name}: the public test {'misses a rule' if public not in failed else 'was expected to pass'}")


BACKWARD_TESTS = [f"test_{answer}_{kind}" for answer in ("batchnorm_backward", "batchnorm_backward_alt")
                  for kind in ("public", "hidden")]
# Forward mistakes that still cost the backward points: their cache holds statistics that are not the batch's
# (x_hat, inv_std), so no backward pass built from it is the gradient of either the learner's forward or of
# batch normalization. The backward tests cannot avoid it: the cache's contents are the learner's choice.
FORWARD_MISTAKES_IN_THE_CACHE = {"unbiased_variance", "batch_of_four"}


@pytest.mark.parametrize("name", sorted(name for answer, name in WRONG if answer == "batchnorm_forward_train"))
def test_a_forward_mistake_costs_the_backward_points_only_when_it_is_in_the_cache(cells, name):
    """The backward tests grade against the numerical gradient of the learner's own forward pass, with
    epsilon=0, or of batch normalization itself: one mistake in exercise 1 costs exercise 1's points."""
    failed = failed_tests({"batchnorm_forward_train": wrong_source(cells, "batchnorm_forward_train", name)},
                          BACKWARD_TESTS)
    if name in FORWARD_MISTAKES_IN_THE_CACHE:
        assert failed, f"{name} no longer costs backward points: remove it from FORWARD_MISTAKES_IN_THE_CACHE"
    else:
        assert failed == set(), f"{name}, a mistake of exercise 1, also fails {sorted(failed)}"


def test_epsilon_outside_the_root_costs_the_forward_points_and_no_others(cells):
    graded = [grade_id for grade_id in cells if grade_id.startswith("test_")]
    wrong = wrong_source(cells, "batchnorm_forward_train", "epsilon_outside_sqrt")
    assert failed_tests({"batchnorm_forward_train": wrong}, graded) == {
        "test_batchnorm_forward_train_public", "test_batchnorm_forward_train_hidden"}


def test_a_backward_pass_right_for_batch_normalization_passes_beside_a_forward_without_gamma_and_beta(cells):
    """Its own forward (out = x_hat) has no gradient for gamma; batch normalization's is the one the backward
    computes, and the tests accept either."""
    wrong = wrong_source(cells, "batchnorm_forward_train", "no_gamma_beta")
    assert failed_tests({"batchnorm_forward_train": wrong}, ["test_batchnorm_forward_train_public"]) != set()
    assert failed_tests({"batchnorm_forward_train": wrong}, BACKWARD_TESTS) == set()


def test_the_wrong_answer_that_make_test_grades_fails_exactly_its_cells(cells):
    """The nbgrader round trip (tests/test_nbgrader_roundtrip.py) expects these cells, and only these, to fail."""
    entry = WRONG_ANSWERS[ASSIGNMENT]
    graded = [grade_id for grade_id in cells if grade_id.startswith("test_")]
    assert failed_tests(entry["answers"], graded) == entry["fails"]


def test_check_unchanged_names_the_argument_changed_in_place():
    x, gamma = np.arange(6.0).reshape(3, 2), np.ones(2)
    originals = {"x": x.copy(), "gamma": gamma.copy()}
    check_unchanged(originals, {"x": x, "gamma": gamma}, "f")
    gamma *= 2
    with pytest.raises(CheckFailed, match=r"f\(\.\.\.\): changed its input `gamma` in place"):
        check_unchanged(originals, {"x": x, "gamma": gamma}, "f")


def test_check_close_naming_mistakes_names_the_mistake_or_falls_back_to_check_close():
    expected, mistaken = np.array([1.0, 2.0]), np.array([1.0, 3.0])
    mistakes = {"the unbiased variance": mistaken}
    assert check_close_naming_mistakes([1.0, 2.0], expected, "out", mistakes=mistakes).tolist() == [1.0, 2.0]
    with pytest.raises(CheckFailed, match="out: has the values that the unbiased variance gives"):
        check_close_naming_mistakes(mistaken, expected, "out", mistakes=mistakes)
    with pytest.raises(CheckFailed, match="largest difference 3"):
        check_close_naming_mistakes([1.0, 5.0], expected, "out", mistakes=mistakes)
    with pytest.raises(CheckFailed, match="wrong shape"):
        check_close_naming_mistakes([1.0], expected, "out", mistakes=mistakes)
