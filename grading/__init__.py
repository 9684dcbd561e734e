"""Instructor tools around nbgrader, run as `python -m grading.<command>` (see "For instructors" in README.md).

- repair:    give a submitted notebook back the nbgrader metadata of the release (stripped by editors,
             duplicated or retyped cells, deleted cells), with a report in plain words;
- autograde: repair, then `nbgrader autograde` each submission in its own sandbox with a memory limit
             and a time budget, JOBS at a time, and merge the sandboxes' gradebooks into the course's;
- feedback:  `nbgrader generate_feedback`, with hidden test code removed and the grading report on top;
- grades:    `nbgrader export` of the gradebook to a CSV file.
"""
