"""nbgrader configuration: the repository root is the course directory.

solutions/<assignment>/<assignment>.ipynb  -> source notebooks (full solutions, hidden tests)
notebooks/<assignment>/<assignment>.ipynb  -> released student notebooks (generated, committed for Colab)
submitted/, autograded/, feedback/         -> the instructor's working directories (git-ignored)
"""
import os
import sys

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "batchnorm-hands-on"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Only notebooks are part of an assignment; anything else a student adds is ignored when collecting.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Training cells take seconds; a student's endless loop must still end. Per cell, in seconds.
c.Execute.timeout = 300
# Grading is unattended: a kernel that dies (e.g. out of memory) is reported, not retried forever.
c.Execute.interrupt_on_timeout = True
# A cell stopped by the time-out (or a kernel slow to answer the interrupt) must not make nbgrader throw away
# the whole notebook: nbclient's default raises after 4 s without output and nbgrader then scores nothing.
c.Execute.raise_on_iopub_timeout = False

# TensorFlow and Keras may still write warnings to stderr; nbgrader would score such a test cell 0.
# Any stderr stream is dropped from graded output (errors are not streams and still count).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"

# Keep feedback and graded copies readable when a cell prints without end.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# Feedback, however it is generated (`make feedback`, or formgrader's "generate feedback" button), hides the
# code and tracebacks of hidden tests and puts the grading report on top (grading/feedback.py).
sys.path.append(c.CourseDirectory.root)  # so that nbgrader, wherever it is started, imports `grading`
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "grading.feedback.HideHiddenTests",
    "grading.feedback.GradingNotes",
]
c.GradingNotes.course = c.CourseDirectory.root

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"Replace this line with your code.\")"
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
