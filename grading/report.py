"""What happened to one submission, in words for the student: the Report, and how it is stored.

Grading writes one Report per submission to autograded/.reports/<student>/<assignment>.json (a dot folder, so
nbgrader never sees it); `grading.feedback` puts its repairs and problems on top of the feedback page, and the
batch prints its status. The file is the Report's fields as a JSON object (the keys the loose dict of earlier
versions had, so their files still read; a field an old file lacks takes its default).
"""
import json
import re
from dataclasses import asdict, dataclass, field, fields

from nbgrader import utils as nbgrader_utils

from grading import kernel_startup
from grading.course import step_root
from grading.repair import Repair
from grading.sandbox import MAX_PROCESSES

REPORTS = ".reports"  # under autograded/: one JSON per submission; a dot directory, so nbgrader never sees it


@dataclass
class Report:
    """What happened to one submission. Every sentence is for the student; the rest is for the instructor."""
    student: str
    assignment: str
    repairs: list = field(default_factory=list)  # Repair: what was changed so that nbgrader could grade it
    problems: list = field(default_factory=list)  # sentences, most important first
    missing: bool = False  # no gradable notebook: it scores 0
    status: str = None  # ok | failed | over budget (grading.run) | error (the task failed); None when missing
    seconds: float = None  # wall time of the grading, sandbox included
    timeout: int = None  # seconds per cell
    memory_gb: float = None  # data memory per process
    helpers: str = None  # which bn_course helpers the kernel used (grading.release)
    sandbox: str = None  # how the kernel was isolated, or the loud warning that it was not
    log: str = None  # the end of nbgrader's log when grading did not finish normally
    task: str = None  # the Dask task's token whose result was merged (grading.distributed_grading)

    def to_json(self):
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"a grading report with fields this version does not know: {sorted(unknown)}")
        return cls(**{**data, "repairs": [Repair(**repair) for repair in data.get("repairs", [])]})


def report_path(course, student, assignment):
    return step_root(course, "autograded_directory") / REPORTS / student / f"{assignment}.json"


def read_report(course, student, assignment):
    """The Report of `student`'s `assignment`, or None if it was never graded."""
    path = report_path(course, student, assignment)
    return Report.from_json(path.read_text()) if path.exists() else None


def write_report(course, report):
    path = report_path(course, report.student, report.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.to_json())


def cell_label(cell, index):
    """How the student is told which cell: its grade id, else its number and first line."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        return f"cell `{grade_id}`"
    first_line = next((line for line in cell.source.splitlines() if line.strip()), "")[:60]
    return f"cell {index + 1} (`{first_line}`)"


def describe_error(output, label, *, timeout, memory_gb):
    """One sentence on an error output, or None when the error is an ordinary one (shown in the notebook)."""
    name, value = output.get("ename", ""), output.get("evalue", "")
    if name == "CellTimeoutError":
        return f"{label} timed out after {timeout} s and was stopped; the cells after it still ran."
    if name == "StdinNotImplementedError":
        return (f"Your notebook asked for keyboard input (input()) in {label}, which is not available during "
                "grading; that cell stopped there. Remove input() calls before you submit.")
    if name == "MemoryError":
        return (f"{label} tried to use more memory than grading allows ({memory_gb} GB) and was stopped "
                "(MemoryError).")
    if name in ("SyntaxError", "IndentationError", "TabError"):
        return f"{label} has a syntax error ({name}: {value}), so none of its code ran."
    return blocked_by_sandbox(name, value, label)


SANDBOX_ERRORS = (  # (exception name, words in its message, sentence): what the sandbox (grading/sandbox.py) stops
    ("", "Read-only file system", "tried to change files outside your notebook's folder, which grading does not "
                                  "allow; nothing was changed."),
    ("gaierror", "", "tried to use the network, which is not available during grading."),
    ("", "Network is unreachable", "tried to use the network, which is not available during grading."),
    ("BlockingIOError", "Resource temporarily unavailable",
     "tried to start more processes than grading allows and was stopped."),
    ("FileNotFoundError", "'/", "tried to open a file by its full path, which does not exist during grading: only "
                                "your notebook's own folder is available."),
)


def blocked_by_sandbox(name, value, label):
    """A sentence when error `name: value` is the sandbox refusing something, else None."""
    for error_name, words, sentence in SANDBOX_ERRORS:
        if (not error_name or name == error_name) and words in value:
            return f"{label} {sentence}"
    return None


TOO_MANY_PROCESSES = (f"Your notebook tried to start more processes than grading allows (at most {MAX_PROCESSES} at "
                      "once, e.g. os.fork() in a loop); the extra ones were refused, and the cell was stopped when it "
                      "reached its time limit.")
PIP_COMMAND = re.compile(r"^\s*[%!]\s*(?:python -m )?pip\b", flags=re.MULTILINE)
PIP_SENTENCE = ("uses pip (%pip or !pip) to install or remove packages: grading runs your notebook with the "
                "course's own packages, so do not rely on installing any.")


def _timed_out(cell):
    return any(output.get("ename") == "CellTimeoutError" for output in cell.get("outputs", []))


def problems_in(notebook, *, timeout, memory_gb):
    """Sentences about time-outs, input(), memory, syntax errors, truncated output and failed tests."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        label = cell_label(cell, index)
        is_test = nbgrader_utils.is_grade(cell)
        if PIP_COMMAND.search(cell.source) and not read_only(cell):  # the release's own Colab set-up uses %pip
            problems.append(f"{label} {PIP_SENTENCE}")
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and "... Output truncated ..." in output.get("text", ""):
                problems.append(f"{label} printed too much output; only the beginning was kept.")
            if output.output_type == "stream" and kernel_startup.EXIT_IGNORED in output.get("text", ""):
                problems.append(f"{label} calls exit() or quit(), which stops the Python kernel: grading would have "
                                "lost the rest of your notebook. It was ignored here; remove it before you submit.")
            if output.output_type != "error":
                continue
            sentence = describe_error(output, label, timeout=timeout, memory_gb=memory_gb)
            if output.get("ename") == "KeyboardInterrupt" and _timed_out(cell):
                continue  # the interrupt that ended a timed-out cell: the time-out is reported once
            if sentence:
                problems.append(sentence)
            elif is_test:
                reason = (output.get("evalue") or "").strip().splitlines()
                problems.append(f"Test {label[5:]} failed: {output.get('ename')}" + (f": {reason[0]}" if reason else ""))
            else:
                problems.append(f"{label} raised {output.get('ename')}: {str(output.get('evalue'))[:200]}")
    return problems


def grading_failure(status, log, budget):
    if status == "over budget":
        return f"Grading your notebook took longer than {budget} s in total and was stopped; it scored what it had."
    causes = re.findall(r"^\s*((?:\w+\.)*\w+(?:Error|Exception)\b.*)$", log, flags=re.MULTILINE) or [log[-200:]]
    return f"Your notebook could not be graded automatically ({causes[-1].strip()[:200]}); your instructor will look at it."


def read_only(cell):
    """A test or locked cell: nbgrader runs the release's version of it, whatever the student wrote."""
    return nbgrader_utils.is_grade(cell) or nbgrader_utils.is_locked(cell)


NOTHING_RECORDED = ("Grading stopped before any result of your notebook was recorded, so this assignment scored 0 "
                    "for now; your instructor will look at it.")
