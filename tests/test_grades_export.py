"""grades.csv tells a student who scored 0 from one who handed nothing in."""
import csv

from nbgrader.api import Gradebook

from grading.grades import GradesWithStatus


def test_not_submitted_is_not_zero(tmp_path):
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("02-baseline")
        for student in ("ada", "bob"):
            gradebook.add_student(student)
        gradebook.add_submission("02-baseline", "ada")  # handed in, nothing graded yet: score 0
        plugin = GradesWithStatus(to=str(tmp_path / "grades.csv"))
        plugin.export(gradebook)
    rows = {row["student_id"]: row for row in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert rows["ada"]["status"] == "submitted" and float(rows["ada"]["score"]) == 0.0
    assert rows["bob"]["status"] == "not submitted" and rows["bob"]["score"] == "" and rows["bob"]["raw_score"] == ""


def test_make_grades_runs_the_plugin_through_nbgrader_export(tmp_path):
    from grading.grades import export_grades

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("02-baseline")
        gradebook.add_student("bob")
    rows = list(csv.DictReader(open(export_grades(tmp_path))))
    assert [(row["student_id"], row["status"], row["score"]) for row in rows] == [("bob", "not submitted", "")]
