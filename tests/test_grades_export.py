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


def gradebook_with_three_students(path):
    """ada scored 0 in 01, bob handed nothing in, cy scored 0 and 0; two assignments of 3 and 5 points."""
    gradebook = Gradebook(f"sqlite:///{path / 'gradebook.db'}")
    for name in ("01-theory", "02-baseline"):
        gradebook.add_assignment(name)
    for student, first, last in (("ada", "Ada", "Lovelace"), ("bob", "", ""), ("cy", "Cy", "Young")):
        gradebook.add_student(student, first_name=first, last_name=last, email=f"{student}@uni.example")
    gradebook.add_submission("01-theory", "ada")
    gradebook.add_submission("01-theory", "cy")
    gradebook.add_submission("02-baseline", "cy")
    return gradebook


def exported(tmp_path, layout):
    with gradebook_with_three_students(tmp_path) as gradebook:
        GradesWithStatus(to=str(tmp_path / "grades.csv"), layout=layout).export(gradebook)
    with open(tmp_path / "grades.csv", newline="") as handle:
        return list(csv.reader(handle))


def test_canvas_layout_has_its_student_columns_a_points_row_and_empty_cells_for_not_submitted(tmp_path):
    header, points, *students = exported(tmp_path, "canvas")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01-theory", "02-baseline"]
    assert points[0].strip() == "Points Possible"
    by_login = {row[3]: row for row in students}
    assert by_login["ada"][0] == "Lovelace, Ada" and by_login["bob"][0] == "bob"
    assert [float(by_login["ada"][5]), by_login["ada"][6]] == [0.0, ""], "ada: 0 in 01, nothing handed in for 02"
    assert by_login["bob"][5:] == ["", ""]
    assert [float(score) for score in by_login["cy"][5:]] == [0.0, 0.0]


def test_moodle_layout_maps_by_username_or_email_and_leaves_not_submitted_empty(tmp_path):
    header, *students = exported(tmp_path, "moodle")
    assert header == ["username", "email", "01-theory", "02-baseline"]
    rows = {row[0]: row for row in students}
    assert rows["bob"] == ["bob", "bob@uni.example", "", ""]
    assert rows["ada"][2] != "" and rows["ada"][3] == ""


def test_make_grades_writes_the_lms_layouts_through_nbgrader_export(tmp_path):
    from grading.grades import export_grades

    gradebook_with_three_students(tmp_path).close()
    with open(export_grades(tmp_path, "canvas.csv", "canvas"), newline="") as handle:
        assert next(csv.reader(handle))[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
