"""The submissions of the grading battery (tests/test_grading_battery.py), each with what grading must make of it.

- KINDS, for every assignment of solutions/ (found when this module is imported, so a new assignment joins the
  battery by existing): the complete solution, the untouched release, a syntax error in the answer that
  WRONG_ANSWERS names, the complete solution as Google Colab saves it, and the wrong answer of WRONG_ANSWERS;
- REAL_WORLD: the complete solution as other editors and LMS downloads deliver it (VS Code, JupyterLite, an
  Anaconda kernel, a renamed file, a zip, a nested folder), each on one assignment;
- CASES_02: bad submissions of 02-baseline (time-outs, input(), memory, deleted or edited cells, ...) and
  ISOLATION_CASES, what the grading sandbox must block (read the course, write the venv, pip, network, fork).

Every case is one (student, assignment) of one batch; the student's name is the kind or case. `Case.files(course)`
gives the files of its submission folder. What it must score is said by the test cells it must lose (`lost`;
every other test cell scores its points), what its feedback must say by `phrases`.
"""
import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import nbformat

from course import ASSIGNMENTS, ROOT, notebook_path
from submissions import WRONG_ANSWERS, completed, released, solution_cells

CELL_TIMEOUT = 120  # seconds per cell in the battery (config: 300); training cells took over 60 s at load 20
MEMORY_GB = 6
JOBS = 2  # submissions graded at once, as `make autograde JOBS=2`
# make test grades the complete solution of every assignment and, of these two cheap ones (autograde of a
# complete submission 15.6 and 16.6 s in benchmarks/NOTEBOOKS.md), the wrong answer and one real-world file.
SMOKE_ASSIGNMENTS = ("04-bn-before", "07-what-bn-does")
SMOKE_ISOLATION = "pip_uninstall"  # the case that would change the venv for every later submission


@dataclass(frozen=True)
class Case:
    student: str
    assignment: str
    files: Callable  # course -> {name in the submission folder: str or bytes}
    lost: Optional[frozenset] = frozenset()  # test cells that score 0; None: every one
    phrases: tuple = ()  # what the student's feedback page must say (markdown code spans may keep their backticks)
    smoke: bool = False  # graded by `make test` too
    at_least: bool = False  # `lost` is a lower bound: a syntax error may take later exercises with it
    unsupported: str = ""  # why today's grading cannot grade it like the correct one (its score test: xfail)
    quiet: bool = False  # graded with nothing to repair and no problem to report
    broken_cell: str = ""  # the answer cell holding a syntax error

    @property
    def id(self):
        return f"{self.assignment}:{self.student}"

    def __repr__(self):  # pytest prints the id, not the closure
        return self.id


def notebook_file(assignment, notebook):
    """{file name: text} of a submission holding `notebook` under the released name."""
    return {f"{assignment}.ipynb": nbformat.writes(notebook)}


def as_json(notebook):
    """The notebook as a JSON dict (sources as lists of lines, as nbformat and the editors write them)."""
    return json.loads(nbformat.writes(notebook))


def dumps(data):
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def wrong_answer_cell(assignment):
    """The answer cell that WRONG_ANSWERS changes, else the first autograded answer cell."""
    if assignment in WRONG_ANSWERS:
        return next(iter(WRONG_ANSWERS[assignment]["answers"]))
    return next(name for name in solution_cells(assignment) if not name.startswith("written"))


def with_syntax_error(source):
    """`source` with the colon of its first `def`/`class` line removed, the commonest syntax error."""
    lines = source.splitlines()
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("def ", "class ")) and line.rstrip().endswith(":"):
            lines[index] = line.rstrip()[:-1]
            return "\n".join(lines)
    return source + "\n)"  # an answer without a block: an unmatched bracket


# --- the editors' files -------------------------------------------------------------------------------------

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Colab saves widget models by id without the `state` key nbconvert expects at the top (issue 12).
COLAB_WIDGETS = {WIDGET_STATE: {"0f1c2d3e4b5a69788796a5b4c3d2e1f0": {
    "model_module": "@jupyter-widgets/controls", "model_name": "HBoxModel", "model_module_version": "1.5.0",
    "state": {"children": [], "layout": "IPY_MODEL_5b4c3d2e1f0a69788796a5b40f1c2d3e"}}}}


def colab_saved(notebook):
    """As Colab saves a notebook: nbformat 4.0 (no cell ids), colab metadata on the notebook and its cells,
    widget models without `state`, and outputs whose execution_count is None."""
    data = as_json(notebook)
    data["nbformat_minor"] = 0
    data["metadata"] = {"colab": {"provenance": [], "toc_visible": True}, "accelerator": "GPU",
                        "kernelspec": {"name": "python3", "display_name": "Python 3"},
                        "language_info": {"name": "python"}, "widgets": COLAB_WIDGETS}
    for number, cell in enumerate(data["cells"]):
        cell.pop("id", None)
        cell.pop("attachments", None)
        cell["metadata"] = {**cell["metadata"], "id": f"c{number:07x}"}
        if cell["cell_type"] == "code":
            cell["metadata"].update(colab={"base_uri": "https://localhost:8080/", "height": 35},
                                    outputId=f"{number:08x}-0000-4000-8000-000000000000")
            cell["execution_count"] = None
            cell["outputs"] = [{"output_type": "execute_result", "execution_count": None, "metadata": {},
                                "data": {"text/plain": ["'what the learner saw'"]}}]
    return data


def vscode_saved(notebook):
    """As VS Code saves one: its interpreter hash, a terse language_info, a venv kernel name, some cells without
    an id and two sharing one."""
    data = as_json(notebook)
    data["metadata"] = {"kernelspec": {"display_name": ".venv", "language": "python", "name": "python3"},
                        "language_info": {"name": "python", "version": "3.12.3"},
                        "vscode": {"interpreter": {"hash": "9c4f0b" * 10 + "a1b2"}}}
    cells = data["cells"]
    for cell in cells[::3]:
        cell.pop("id", None)
    if len(cells) > 2:
        cells[2]["id"] = cells[1].get("id") or "shared-id"
        cells[1]["id"] = cells[2]["id"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            cell["metadata"]["vscode"] = {"languageId": "markdown"}
    return data


def jupyterlite_saved(notebook):
    """As JupyterLite (Pyodide kernel) saves one."""
    data = as_json(notebook)
    data["metadata"] = {"kernelspec": {"display_name": "Python (Pyodide)", "language": "python", "name": "python"},
                        "language_info": {"codemirror_mode": {"name": "python", "version": 3}, "file_extension": ".py",
                                          "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                                          "pygments_lexer": "ipython3", "version": "3.11"}}
    return data


def anaconda_saved(notebook):
    """As Jupyter in an Anaconda installation saves one, with an nb_conda_kernels kernel."""
    data = as_json(notebook)
    data["metadata"]["kernelspec"] = {"display_name": "Python [conda env:bn-course]", "language": "python",
                                      "name": "conda-env-bn-course-py"}
    data["metadata"]["language_info"]["version"] = "3.11.9"
    return data


def zipped(name, text):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


# --- per assignment ------------------------------------------------------------------------------------------

def kind_cases(assignment):
    """The five kinds of KINDS for `assignment`."""
    smoke = assignment in SMOKE_ASSIGNMENTS
    answer = wrong_answer_cell(assignment)
    fails = frozenset(WRONG_ANSWERS.get(assignment, {}).get("fails", ()))
    cases = [
        Case("correct", assignment, lambda course: notebook_file(assignment, completed(assignment, root=course)),
             phrases=("ran from top to bottom without problems",), smoke=True, quiet=True),
        Case("untouched", assignment, lambda course: notebook_file(assignment, released(assignment, root=course)),
             lost=None),
        Case("syntax_error", assignment,
             lambda course: notebook_file(assignment, completed(
                 assignment, {answer: with_syntax_error(solution_cells(assignment)[answer])}, root=course)),
             lost=fails, at_least=True, broken_cell=answer,
             phrases=(f"cell `{answer}` has a syntax error (SyntaxError", "so none of its code ran",
                      *(f"Test `{cell}` failed" for cell in sorted(fails)))),
        Case("colab", assignment, lambda course: {f"{assignment}.ipynb": dumps(colab_saved(completed(assignment, root=course)))},
             phrases=("saved widget information (written by editors such as Colab) was incomplete",
                      "Your answers were not changed"), smoke=assignment == SMOKE_ASSIGNMENTS[0]),
    ]
    if assignment in WRONG_ANSWERS:
        cases.append(Case("wrong_answer", assignment,
                          lambda course: notebook_file(assignment, completed(
                              assignment, WRONG_ANSWERS[assignment]["answers"], root=course)),
                          lost=fails, smoke=smoke,
                          phrases=(*(f"Test `{cell}` failed" for cell in sorted(fails)),
                                   *(f"Grade cell: {cell}" for cell in sorted(fails) if cell.endswith("_hidden")))))
    return cases


KINDS = ("correct", "untouched", "syntax_error", "colab", "wrong_answer")


def real_world_cases():
    """Each kind of file of REAL_WORLD on one assignment, in turn, all graded like the correct one."""
    lms = "Ada Lovelace_12345"  # how Moodle and Canvas name downloads after the student
    kinds = [
        ("vscode", lambda a, c: {f"{a}.ipynb": dumps(vscode_saved(completed(a, root=c)))}, (), ""),
        ("jupyterlite", lambda a, c: {f"{a}.ipynb": dumps(jupyterlite_saved(completed(a, root=c)))}, (), ""),
        ("anaconda", lambda a, c: {f"{a}.ipynb": dumps(anaconda_saved(completed(a, root=c)))}, (), ""),
        ("lms_prefixed", lambda a, c: {f"{lms}_{a}.ipynb": nbformat.writes(completed(a, root=c))},
         lambda a: (f"Your notebook was named {lms}_{a}.ipynb, not {a}.ipynb",), ""),
        ("lms_zipped", lambda a, c: {f"{a}.zip": zipped(f"{a}.ipynb", nbformat.writes(completed(a, root=c)))},
         lambda a: (f"{a}.zip",), ""),
        ("lms_nested", lambda a, c: {f"{lms}_assignsubmission_file_/{a}.ipynb": nbformat.writes(completed(a, root=c))},
         lambda a: (f"{lms}_assignsubmission_file_/{a}.ipynb",), ""),
    ]
    cases = []
    for number, (student, files, phrases, unsupported) in enumerate(kinds):
        assignment = ASSIGNMENTS[number % len(ASSIGNMENTS)]
        cases.append(Case(student, assignment, lambda course, files=files, a=assignment: files(a, course),
                          phrases=phrases(assignment) if phrases else (), unsupported=unsupported,
                          quiet=student in ("vscode", "jupyterlite", "anaconda")))
    return cases


# --- 02-baseline: bad submissions and what the sandbox blocks -------------------------------------------------

ASSIGNMENT = "02-baseline"
MODEL = frozenset({"test_build_baseline_model_public", "test_build_baseline_model_hidden"})
LABELS = frozenset({"test_predict_labels_public", "test_predict_labels_hidden"})


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


def edit_test_and_answer_wrong(notebook):
    notebook.cells[index_of(notebook, "test_predict_labels_public")].source = "print('predict_labels works')"
    notebook.cells[index_of(notebook, "predict_labels")].source = WRONG_SHAPE


WRONG_SHAPE = "def predict_labels(model, X):\n    return model.predict(X, verbose=0) > 0.5\n"
NAN_LABELS = "import numpy as np\ndef predict_labels(model, X):\n    return np.full(len(X), np.nan)\n"
HARD_CODED = "import numpy as np\ndef predict_labels(model, X):\n    return np.array([0, 1, 1, 0])\n"
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

# name: (build(course) -> notebook or None, test cells lost (None: all), phrases of the feedback, extra files)
CASES_02 = {
    "endless_cell": (with_extra_cell("while True:\n    pass"), frozenset(),
                     [f"timed out after {CELL_TIMEOUT} s and was stopped; the cells after it still ran"], {}),
    "asks_input": (with_extra_cell("name = input('Your name? ')"), frozenset(),
                   ["asked for keyboard input (input())", "not available during grading"], {}),
    "huge_memory": (with_extra_cell("import numpy as np\nblocks = [np.empty(2**27) for _ in range(100)]  # 100 GiB\n"
                                    "for block in blocks:\n    block.fill(1.0)"), frozenset(),
                    [f"more memory than grading allows ({MEMORY_GB} GB)", "MemoryError"], {}),
    "deleted_test_cell": (delete("test_predict_labels_hidden"), frozenset(),
                          ["The test cell `test_predict_labels_hidden` was missing; it was put back"], {}),
    "deleted_answer_cell": (delete("predict_labels"), LABELS,
                            ["Your answer cell `predict_labels` was missing; it was put back empty"], {}),
    "duplicated_cell": (transformed(duplicate_answer_stub), frozenset(), ["The cell `predict_labels` appeared 2 times"], {}),
    "retyped_cell": (transformed(retype_answer), frozenset(),
                     ["The cell `build_baseline_model` had been changed from markdown to code"], {}),
    "edited_test_cell": (transformed(edit_test_and_answer_wrong), LABELS,
                         ["The cell `test_predict_labels_public` is read-only but had been edited",
                          "has the wrong shape"], {}),
    "hard_coded": (with_answer("predict_labels", HARD_CODED), LABELS,  # the public test checks the shape too
                   ["Test `test_predict_labels_hidden` failed: CheckFailed: predict_labels at the boundary",
                    "Grade cell: test_predict_labels_hidden", "The code of the hidden tests is not shown"], {}),
    "wrong_shape_dtype": (with_answer("predict_labels", WRONG_SHAPE), LABELS,
                          ["Test test_predict_labels_public failed: CheckFailed: predict_labels(model, X)",
                           "has the wrong shape"], {}),
    "nan_output": (with_answer("predict_labels", NAN_LABELS), LABELS, ["contains NaN or infinite values"], {}),
    "huge_output": (with_extra_cell("for i in range(100_000):\n    print('line', i)"), frozenset(),
                    ["printed too much output; only the beginning was kept"], {}),
    "missing_notebook": (None, None, ["We did not find 02-baseline.ipynb in your submission", "notes.txt"],
                         {"notes.txt": "I could not save my notebook"}),
    "extra_files": (with_answer("build_baseline_model", "def build_baseline_model():\n    return None\n"), MODEL,
                    ["only 02-baseline.ipynb is graded, so the other files were ignored"], FAKE_CHECKS),
    "metadata_stripped": (transformed(strip_metadata), frozenset(),
                          ["The grading information (nbgrader metadata) of", "Your answers were not changed"], {}),
    "reads_solution": (with_answer("build_baseline_model", CHEAT), MODEL,
                       ["FileNotFoundError: no solution found to copy"], {}),
    "stderr_warnings": (with_answer("predict_labels", NOISY_BUT_RIGHT), frozenset(), [], {}),
    "renamed_notebook": (None, frozenset(), [f"Your notebook was named {ASSIGNMENT} (1).ipynb, not {ASSIGNMENT}.ipynb"],
                         {f"{ASSIGNMENT} (1).ipynb": lambda course: nbformat.writes(completed(ASSIGNMENT, root=course))}),
    "calls_exit": (with_cell_after("build_baseline_model", "exit()"), frozenset(),
                   ["calls exit() or quit(), which stops the Python kernel", "It was ignored here"], {}),
    "kills_kernel": (with_cell_after("build_baseline_model", "import os\nos._exit(1)"), frozenset(),
                     ["stopped the Python kernel", "so it was skipped and your notebook was graded again without it"], {}),
    "answer_kills_kernel": (with_answer("predict_labels", "import os\ndef predict_labels(model, X):\n    os._exit(3)\n"),
                            LABELS, ["your answer in cell `predict_labels` crashed Python itself",
                                     "That answer was skipped"], {}),
}


def opens(path_in_course):
    """A cell that prints the start of a file of the course, named by its absolute path."""
    return lambda course: f"print(open({str(course / path_in_course)!r}, 'rb').read(200))"


NO_FILE = "tried to open a file by its full path, which does not exist during grading"
PIP = "uses pip (%pip or !pip) to install or remove packages"
ISOLATION_CASES = {
    "reads_gradebook": (with_extra_cell(opens("gradebook.db")), frozenset(), [NO_FILE], {}),
    "reads_solutions": (with_extra_cell(lambda course: opens(f"solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")(ROOT)),
                        frozenset(), [NO_FILE], {}),
    "reads_other_submission": (with_extra_cell(opens(f"submitted/correct/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")),
                               frozenset(), [NO_FILE], {}),
    "writes_venv": (with_extra_cell("import sys\nopen(sys.prefix + '/bin/student-was-here', 'w').write('x')"),
                    frozenset(), ["tried to change files outside your notebook's folder, which grading does not allow"],
                    {}),
    "pip_install": (with_extra_cell("%pip install --no-input tqdm==4.66.0"), frozenset(), [PIP], {}),
    "pip_uninstall": (with_extra_cell("%pip uninstall -y tqdm"), frozenset(), [PIP], {}),
    "opens_network": (with_extra_cell("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=5)"),
                      frozenset(), ["tried to use the network, which is not available during grading"], {}),
    # Last cell: a fork bomb leaves its processes until the kernel ends, so no later cell could start a thread.
    "fork_bomb": (with_extra_cell("import os\nwhile True:\n    os.fork()"), frozenset(),
                  ["tried to start more processes than grading allows"], {}),
}


def case_02(name, build, lost, phrases, extra):
    def files(course):
        written = {} if build is None else notebook_file(ASSIGNMENT, build(course))
        return {**written, **{path: text(course) if callable(text) else text for path, text in extra.items()}}
    return Case(name, ASSIGNMENT, files, lost=lost, phrases=tuple(phrases), smoke=name == SMOKE_ISOLATION)


# --- the whole battery -------------------------------------------------------------------------------------------

def all_cases():
    """Every case of the battery, in a stable order: per assignment, then real-world files, then 02's."""
    cases = [case for assignment in ASSIGNMENTS for case in kind_cases(assignment)]
    cases += real_world_cases()
    cases += [case_02(name, *spec) for name, spec in {**CASES_02, **ISOLATION_CASES}.items()]
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "two battery cases would be the same student's submission"
    return cases


def unrunnable(cases):
    """{case id: why this machine cannot grade it safely}.

    Without the sandbox the isolation cases would do what they try (and %pip uninstall would change the venv);
    a fork bomb runs only where the process limit was created and read back (a cgroup's pids.max).
    """
    from grading import sandbox

    isolation = [case for case in cases if case.student in ISOLATION_CASES]
    if not isolation:
        return {}
    problem = sandbox.isolation_problem()
    if problem is not None:
        return {case.id: problem for case in isolation}
    probe = sandbox.create_process_limit("grading-battery-probe", limit=64)
    sandbox.remove_process_limit(probe)
    return {} if probe is not None else {case.id: "no process limit (cgroup pids.max)" for case in isolation
                                         if case.student == "fork_bomb"}


def write_submission(course, case):
    """Write the files of `case` under submitted/<student>/<assignment>/ of `course`."""
    folder = notebook_path(Path(course) / "submitted", case.student, case.assignment).parent
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.files(course).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content, encoding="utf-8")


def expected_scores(case, maxima):
    """{test cell: score} that `case` must get, given {test cell: max score}; with `at_least`, the cells of
    `lost` must score 0 and any other may."""
    lost = set(maxima) if case.lost is None else case.lost
    return {cell: 0.0 if cell in lost else maximum for cell, maximum in maxima.items()}


@dataclass
class Graded:
    """What one batch made of its cases."""
    course: Path
    cases: list  # the Cases graded
    reports: dict = field(default_factory=dict)  # {case id: report}
    scores: dict = field(default_factory=dict)  # {case id: {test cell: (score, max)}}
    skipped: dict = field(default_factory=dict)  # {case id: why not graded here}
