"""Bad submissions of 02-baseline, each with the score it must get per test cell and what its feedback must say;
ISOLATION_CASES try what the grading sandbox must block (read the course, write the venv, pip, network, fork).

Every case is one student of one batch (see test_grading_battery.py). `build(course)` writes the submission
under submitted/<case>/02-baseline/ of the temporary course.
"""
import copy
from pathlib import Path

import nbformat

from course import ROOT, notebook_path, submit
from submissions import completed, released

ASSIGNMENT = "02-baseline"
FULL = {
    "test_build_baseline_model_public": 1.0,
    "test_build_baseline_model_hidden": 2.0,
    "test_predict_labels_public": 1.0,
    "test_predict_labels_hidden": 1.0,
}
MODEL_LOST = {**FULL, "test_build_baseline_model_public": 0.0, "test_build_baseline_model_hidden": 0.0}
LABELS_LOST = {**FULL, "test_predict_labels_public": 0.0, "test_predict_labels_hidden": 0.0}
NOTHING = {name: 0.0 for name in FULL}
CELL_TIMEOUT = 120  # seconds per cell in the battery (config: 300); training cells took over 60 s at load 20
MEMORY_GB = 6


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def index_of(notebook, name):
    return next(i for i, cell in enumerate(notebook.cells) if grade_id(cell) == name)


def with_extra_cell(source):
    """The complete solution with one more code cell of the student's at the end; `source` may be a function of
    the course folder (for a cell that names the course's files by absolute path)."""
    def build(course):
        notebook = completed(ASSIGNMENT, root=course)
        notebook.cells.append(nbformat.v4.new_code_cell(source(Path(course).resolve()) if callable(source) else source))
        return notebook
    return build


def with_cell_after(name, source):
    """The complete solution with one more code cell of the student's right after cell `name`."""
    def build(course):
        notebook = completed(ASSIGNMENT, root=course)
        notebook.cells.insert(index_of(notebook, name) + 1, nbformat.v4.new_code_cell(source))
        return notebook
    return build


def with_answer(name, source):
    def build(course):
        return completed(ASSIGNMENT, {name: source}, root=course)
    return build


def transformed(change):
    """The complete solution after `change(notebook)` (which edits it in place)."""
    def build(course):
        notebook = completed(ASSIGNMENT, root=course)
        change(notebook)
        return notebook
    return build


def delete(name):
    return transformed(lambda nb: nb.cells.pop(index_of(nb, name)))


def duplicate_answer_stub(notebook):
    stub = copy.deepcopy(released(ASSIGNMENT).cells[index_of(released(ASSIGNMENT), "predict_labels")])
    stub["id"] = "predict_labels-copy"
    notebook.cells.insert(index_of(notebook, "predict_labels"), stub)


def retype_answer(notebook):
    cell = notebook.cells[index_of(notebook, "build_baseline_model")]
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]


def strip_metadata(notebook):
    for cell in notebook.cells:
        cell.metadata = nbformat.NotebookNode()


def add_colab_metadata(notebook):
    notebook.metadata["colab"] = {"provenance": [], "toc_visible": True}
    notebook.metadata["accelerator"] = "GPU"
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    for number, cell in enumerate(notebook.cells):
        cell.metadata["id"] = f"colab-{number:04x}"
        if cell.cell_type == "code":
            cell.metadata["colab"] = {"base_uri": "https://localhost:8080/", "height": 35}
            cell.metadata["outputId"] = f"out-{number}"


def edit_test_and_answer_wrong(notebook):
    notebook.cells[index_of(notebook, "test_predict_labels_public")].source = "print('predict_labels works')"
    notebook.cells[index_of(notebook, "predict_labels")].source = WRONG_SHAPE


WRONG_SHAPE = "def predict_labels(model, X):\n    return model.predict(X, verbose=0) > 0.5\n"
NAN_LABELS = "import numpy as np\ndef predict_labels(model, X):\n    return np.full(len(X), np.nan)\n"
HARD_CODED = "import numpy as np\ndef predict_labels(model, X):\n    return np.array([0, 1, 1, 0])\n"
SYNTAX_ERROR = "def build_baseline_model(:\n    return keras.Sequential([])\n"
NOISY_BUT_RIGHT = (
    "import logging, sys, warnings\n"
    "def predict_labels(model, X):\n"
    "    warnings.warn('predict_labels: a warning a library might print')\n"
    "    print('a log line on stderr', file=sys.stderr)\n"
    "    logging.getLogger('student').warning('and one from logging')\n"
    "    return (model.predict(X, verbose=0).reshape(-1) > 0.5).astype(int)\n"
)
# Looks for the solution and the hidden tests next to the kernel's folder and beside the helpers package.
CHEAT = '''import json, pathlib
def build_baseline_model():
    roots = [pathlib.Path("../../.."), pathlib.Path("../../../.."), pathlib.Path("../../../../..")]
    try:
        import bn_course
        roots.append(pathlib.Path(bn_course.__file__).parents[2])
    except ImportError:
        pass
    for root in roots:
        for folder in ("solutions", "source_with_tests", "source"):
            path = root / folder / "02-baseline" / "02-baseline.ipynb"
            if path.exists():
                for cell in json.loads(path.read_text())["cells"]:
                    if "".join(cell["source"]).startswith("def build_baseline_model"):
                        exec("".join(cell["source"]), globals())
                        return globals()["build_baseline_model"]()
    try:
        import solutions  # noqa: F401
    except ImportError:
        pass
    raise FileNotFoundError("no solution found to copy")
'''
# An extra bn_course/ package next to the notebook would replace the course's checks by ones that always pass.
FAKE_CHECKS = {
    "bn_course/__init__.py": "",
    "bn_course/checks.py": "def check_model(*a, **k):\n    pass\ncheck_equal = check_array = check_close = check_model\n",
    "notes.txt": "my notes",
}


def write_extra_files(course, student, files):
    folder = Path(course) / "submitted" / student / ASSIGNMENT
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


# name: (build, expected scores per test cell, phrases the student's feedback must contain, extra files)
CASES = {
    "correct": (transformed(lambda notebook: None), FULL, ["ran from top to bottom without problems"], {}),
    "syntax_error": (with_answer("build_baseline_model", SYNTAX_ERROR), MODEL_LOST,
                     ["has a syntax error", "Test `test_build_baseline_model_public` failed"], {}),
    "endless_cell": (with_extra_cell("while True:\n    pass"), FULL,
                     [f"timed out after {CELL_TIMEOUT} s and was stopped; the cells after it still ran"], {}),
    "asks_input": (with_extra_cell("name = input('Your name? ')"), FULL,
                   ["asked for keyboard input (input())", "not available during grading"], {}),
    "huge_memory": (with_extra_cell("import numpy as np\nblocks = [np.empty(2**27) for _ in range(100)]  # 100 GiB\n"
                                    "for block in blocks:\n    block.fill(1.0)"), FULL,
                    [f"more memory than grading allows ({MEMORY_GB} GB)", "MemoryError"], {}),
    "deleted_test_cell": (delete("test_predict_labels_hidden"), FULL,
                          ["The test cell `test_predict_labels_hidden` was missing; it was put back"], {}),
    "deleted_answer_cell": (delete("predict_labels"), LABELS_LOST,
                            ["Your answer cell `predict_labels` was missing; it was put back empty"], {}),
    "duplicated_cell": (transformed(duplicate_answer_stub), FULL, ["The cell `predict_labels` appeared 2 times"], {}),
    "retyped_cell": (transformed(retype_answer), FULL,
                     ["The cell `build_baseline_model` had been changed from markdown to code"], {}),
    "edited_test_cell": (transformed(edit_test_and_answer_wrong), LABELS_LOST,
                         ["The cell `test_predict_labels_public` is read-only but had been edited",
                          "has the wrong shape"], {}),
    "hard_coded": (with_answer("predict_labels", HARD_CODED), LABELS_LOST,  # the public test checks the shape too
                   ["Test `test_predict_labels_hidden` failed: CheckFailed: predict_labels at the boundary"], {}),
    "wrong_shape_dtype": (with_answer("predict_labels", WRONG_SHAPE), LABELS_LOST,
                          ["Test test_predict_labels_public failed: CheckFailed: predict_labels(model, X)",
                           "has the wrong shape"], {}),
    "nan_output": (with_answer("predict_labels", NAN_LABELS), LABELS_LOST, ["contains NaN or infinite values"], {}),
    "huge_output": (with_extra_cell("for i in range(100_000):\n    print('line', i)"), FULL,
                    ["printed too much output; only the beginning was kept"], {}),
    "missing_notebook": (None, NOTHING, ["We did not find 02-baseline.ipynb in your submission", "notes.txt"],
                         {"notes.txt": "I could not save my notebook"}),
    "extra_files": (with_answer("build_baseline_model", "def build_baseline_model():\n    return None\n"), MODEL_LOST,
                    ["only 02-baseline.ipynb is graded, so the other files were ignored"], FAKE_CHECKS),
    "metadata_stripped": (transformed(strip_metadata), FULL,
                          ["The grading information (nbgrader metadata) of", "Your answers were not changed"], {}),
    "colab_metadata": (transformed(add_colab_metadata), FULL, ["ran from top to bottom without problems"], {}),
    "reads_solution": (with_answer("build_baseline_model", CHEAT), MODEL_LOST,
                       ["FileNotFoundError: no solution found to copy"], {}),
    "stderr_warnings": (with_answer("predict_labels", NOISY_BUT_RIGHT), FULL, [], {}),
    "renamed_notebook": (None, FULL, [f"Your notebook was named {ASSIGNMENT} (1).ipynb, not {ASSIGNMENT}.ipynb"],
                         {f"{ASSIGNMENT} (1).ipynb": nbformat.writes(completed(ASSIGNMENT))}),
    "calls_exit": (with_cell_after("build_baseline_model", "exit()"), FULL,
                   ["calls exit() or quit(), which stops the Python kernel", "It was ignored here"], {}),
    "kills_kernel": (with_cell_after("build_baseline_model", "import os\nos._exit(1)"), FULL,
                     ["stopped the Python kernel", "so it was skipped and your notebook was graded again without it"], {}),
    "answer_kills_kernel": (with_answer("predict_labels", "import os\ndef predict_labels(model, X):\n    os._exit(3)\n"),
                            LABELS_LOST, ["your answer in cell `predict_labels` crashed Python itself",
                                          "That answer was skipped"], {}),
}


# --- what the sandbox (grading/sandbox.py) blocks: each an extra cell after a complete solution -----------------

def opens(path_in_course):
    """A cell that prints the start of a file of the course, named by its absolute path."""
    return lambda course: f"print(open({str(course / path_in_course)!r}, 'rb').read(200))"


NO_FILE = "tried to open a file by its full path, which does not exist during grading"
ISOLATION_CASES = {
    "reads_gradebook": (with_extra_cell(opens("gradebook.db")), FULL, [NO_FILE], {}),
    "reads_solutions": (with_extra_cell(lambda course: opens(f"solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")(ROOT)), FULL,
                        [NO_FILE], {}),
    "reads_other_submission": (with_extra_cell(opens(f"submitted/correct/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")), FULL,
                               [NO_FILE], {}),
    "writes_venv": (with_extra_cell("import sys\nopen(sys.prefix + '/bin/student-was-here', 'w').write('x')"), FULL,
                    ["tried to change files outside your notebook's folder, which grading does not allow"], {}),
    "pip_install": (with_extra_cell("%pip install --no-input tqdm==4.66.0"), FULL,
                    ["uses pip (%pip or !pip) to install or remove packages"], {}),
    "pip_uninstall": (with_extra_cell("%pip uninstall -y tqdm"), FULL,
                      ["uses pip (%pip or !pip) to install or remove packages"], {}),
    "opens_network": (with_extra_cell("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=5)"), FULL,
                      ["tried to use the network, which is not available during grading"], {}),
    # Last cell: a fork bomb leaves its processes until the kernel ends, so no later cell could start a thread.
    "fork_bomb": (with_extra_cell("import os\nwhile True:\n    os.fork()"), FULL,
                  ["tried to start more processes than grading allows"], {}),
}
CASES.update(ISOLATION_CASES)


def runnable_cases():
    """(names of the cases this machine can grade safely, {skipped case: why}).

    Without the sandbox the isolation cases would do what they try (and %pip uninstall would change the venv);
    a fork bomb runs only where the process limit was created and read back (a cgroup's pids.max).
    """
    from grading import sandbox

    problem = sandbox.isolation_problem()
    if problem is not None:
        return [name for name in CASES if name not in ISOLATION_CASES], dict.fromkeys(ISOLATION_CASES, problem)
    probe = sandbox.create_process_limit("grading-battery-probe", limit=64)
    sandbox.remove_process_limit(probe)
    if probe is None:
        return [name for name in CASES if name != "fork_bomb"], {"fork_bomb": "no process limit (cgroup pids.max)"}
    return list(CASES), {}


def build_submission(course, name):
    """Write case `name` under submitted/<name>/02-baseline/ of `course`."""
    build, _, _, files = CASES[name]
    folder = notebook_path(Path(course) / "submitted", name, ASSIGNMENT).parent
    folder.mkdir(parents=True, exist_ok=True)
    if build is not None:
        submit(course, name, ASSIGNMENT, build(course))
    write_extra_files(course, name, files)
