"""Export the gradebook to a CSV file with `nbgrader export` (one row per student and assignment).

    python -m grading.grades [--course DIR] [--to grades.csv]

nbgrader's own CSV exporter writes 0 both for a student who scored 0 and for one who handed nothing in. The
exporter here, `GradesWithStatus`, is an nbgrader export plugin (selected with `--exporter`, not patched in)
that writes nbgrader's columns plus `status` ("submitted" / "not submitted"), and leaves the score cells of a
missing submission empty, which gradebooks such as Canvas's and Moodle's import as "no grade" rather than 0.
"""
import argparse
import csv
import sys
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

from grading.course import PACKAGE_PARENT, nbgrader_env, run_nbgrader

COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "status",
           "raw_score", "late_submission_penalty", "score", "max_score")


class GradesWithStatus(ExportPlugin):
    """nbgrader's CSV columns plus `status`; empty scores for a submission that does not exist."""

    def export(self, gradebook):
        students, assignments = {str(s) for s in self.student}, {str(a) for a in self.assignment}
        with open(self.to or "grades.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if not students or student.id in students:
                        writer.writerow(_row(gradebook, assignment, student))


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


def export_grades(course, destination="grades.csv"):
    """Write the CSV with `GradesWithStatus` through `nbgrader export`; return its path."""
    course = Path(course).resolve()
    destination = (course / destination).resolve()
    # PYTHONPATH lets nbgrader import the plugin for a course directory anywhere.
    result = run_nbgrader(course, "export", "--exporter=grading.grades.GradesWithStatus", f"--ExportPlugin.to={destination}",
                          env=nbgrader_env(PYTHONPATH=str(PACKAGE_PARENT)))
    if result.returncode != 0:
        sys.exit(f"nbgrader export failed:\n{result.stdout}\n{result.stderr}")
    return destination


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=".", help="the course directory (default: current directory)")
    parser.add_argument("--to", default="grades.csv", help="the CSV file, relative to the course directory")
    args = parser.parse_args(argv)
    print(export_grades(args.course, args.to))


if __name__ == "__main__":
    main()
