"""Export the gradebook to a CSV file with `nbgrader export` (one row per student and assignment).

    python -m grading.grades [--course DIR] [--to grades.csv]

nbgrader's own CSV exporter writes 0 both for a student who scored 0 and for one who handed nothing in. The
exporter here, `GradesWithStatus`, is an nbgrader export plugin (selected with `--exporter`, not patched in)
that writes nbgrader's columns plus `status` ("submitted" / "not submitted"), and leaves the score cells of a
missing submission empty, which gradebooks such as Canvas's and Moodle's import as "no grade" rather than 0.

    python -m grading.grades --format canvas --to canvas.csv   # or --format moodle

`--format` (the plugin's `layout`) chooses the file's shape:

- `long` (default): one row per student and assignment, nbgrader's columns plus `status`;
- `canvas`: Canvas's gradebook import layout, one row per student: `Student`, `ID`, `SIS User ID`,
  `SIS Login ID`, `Section`, then one column per assignment, after a `Points Possible` row. The nbgrader
  student id goes into `SIS Login ID` (Canvas matches students by it); an assignment column that does not
  exist in Canvas yet is offered as a new assignment on import;
- `moodle`: one row per student, `username` and `email` (Moodle's import maps either to its users), then one
  column per assignment. An empty cell is "not submitted": both import it as no grade, never as 0.
"""
import argparse
import csv
import sys
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Enum

from grading.course import PACKAGE_PARENT, nbgrader_env, run_nbgrader

COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "status",
           "raw_score", "late_submission_penalty", "score", "max_score")


LAYOUTS = ("long", "canvas", "moodle")
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


class GradesWithStatus(ExportPlugin):
    """nbgrader's CSV columns plus `status`, or an LMS's import layout; empty scores where nothing was submitted."""

    layout = Enum(LAYOUTS, default_value="long", help="long, canvas or moodle (see grading/grades.py)").tag(config=True)

    def export(self, gradebook):
        students, assignments = {str(s) for s in self.student}, {str(a) for a in self.assignment}
        rows = [_row(gradebook, assignment, student) for assignment in gradebook.assignments
                if not assignments or assignment.name in assignments
                for student in gradebook.students if not students or student.id in students]
        header, table = {"long": long_table, "canvas": canvas_table, "moodle": moodle_table}[self.layout](rows)
        with open(self.to or "grades.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(table)


def long_table(rows):
    return COLUMNS, rows


def _per_student(rows):
    """{student_id: (first row of the student, {assignment: score or ""})}, in the gradebook's order."""
    students = {}
    for row in rows:
        students.setdefault(row["student_id"], (row, {}))[1][row["assignment"]] = row["score"]
    return students


def _assignment_names(rows):
    return list(dict.fromkeys(row["assignment"] for row in rows))


def canvas_table(rows):
    names = _assignment_names(rows)
    maximum = {row["assignment"]: row["max_score"] for row in rows}
    points = {"Student": "    Points Possible", **{name: maximum[name] for name in names}}
    table = [points] + [{"Student": _full_name(first), "ID": "", "SIS User ID": "", "SIS Login ID": student,
                         "Section": "", **scores} for student, (first, scores) in _per_student(rows).items()]
    return (*CANVAS_STUDENT_COLUMNS, *names), table


def moodle_table(rows):
    names = _assignment_names(rows)
    return ("username", "email", *names), [{"username": student, "email": first["email"], **scores}
                                            for student, (first, scores) in _per_student(rows).items()]


def _full_name(row):
    """Canvas shows "Last, First"; a student without names in the gradebook is shown by id."""
    names = ", ".join(name for name in (row["last_name"], row["first_name"]) if name)
    return names or row["student_id"]


def _row(gradebook, assignment, student):
    row = {"assignment": assignment.name, "duedate": assignment.duedate or "", "student_id": student.id,
           "last_name": student.last_name or "", "first_name": student.first_name or "", "email": student.email or "",
           "max_score": assignment.max_score}
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:
        return {**row, "timestamp": "", "status": "not submitted", "raw_score": "", "late_submission_penalty": "",
                "score": ""}
    penalty = submission.late_submission_penalty or 0.0
    return {**row, "timestamp": submission.timestamp or "", "status": "submitted", "raw_score": submission.score,
            "late_submission_penalty": penalty, "score": max(0.0, submission.score - penalty)}


def export_grades(course, destination="grades.csv", layout="long"):
    """Write the CSV with `GradesWithStatus` through `nbgrader export`; return its path.

    `layout`: one of LAYOUTS. Exits with nbgrader's log when the export fails.
    """
    course = Path(course).resolve()
    destination = (course / destination).resolve()
    # PYTHONPATH lets nbgrader import the plugin for a course directory anywhere.
    result = run_nbgrader(course, "export", "--exporter=grading.grades.GradesWithStatus", f"--ExportPlugin.to={destination}",
                          f"--GradesWithStatus.layout={layout}", env=nbgrader_env(PYTHONPATH=str(PACKAGE_PARENT)))
    if result.returncode != 0:
        sys.exit(f"nbgrader export failed:\n{result.stdout}\n{result.stderr}")
    return destination


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=".", help="the course directory (default: current directory)")
    parser.add_argument("--to", default="grades.csv", help="the CSV file, relative to the course directory")
    parser.add_argument("--format", choices=LAYOUTS, default="long", help="long (default), canvas or moodle")
    args = parser.parse_args(argv)
    print(export_grades(args.course, args.to, args.format))


if __name__ == "__main__":
    main()
