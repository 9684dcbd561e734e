"""Instructor tools around nbgrader, run as `python -m grading.<command>` (see "For instructors" in README.md).

Commands:
- repair:    give a submitted notebook back the nbgrader metadata of the release (stripped by editors,
             duplicated or retyped cells, deleted cells), with a report in plain words;
- autograde: repair, then `nbgrader autograde` each submission in its own sandbox with a memory limit
             and a time budget, as Dask tasks, and merge the sandboxes' gradebooks into the course's;
- feedback:  `nbgrader generate_feedback`, with hidden test code removed and the grading report on top;
- grades:    `nbgrader export` of the gradebook to a CSV file.

One job per module: course (the layout, from nbgrader's CourseDirectory), submission (choose the notebook) and
repair (repair it), sandbox (the submission's small course and isolated kernel), run (nbgrader on it),
report (what happened, in words: the Report), merge (into the course), distributed_grading (the batch on
Dask), feedback, grades, release (the helpers an assignment was released with).
"""
