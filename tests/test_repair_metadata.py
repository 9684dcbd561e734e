"""Repair removes notebook-level metadata that breaks nbconvert, as Colab writes it, and says so."""
import copy

import nbformat
import pytest
from nbconvert import HTMLExporter

from course import ROOT, notebook_path, read_notebook
from grading.repair import WIDGET_STATE, repair_notebook

ASSIGNMENT = "02-baseline"


@pytest.fixture(scope="module")
def release():
    return read_notebook(notebook_path(ROOT, "notebooks", ASSIGNMENT))


def with_widgets(release, widgets):
    """The release with notebook-level widget metadata and one printed output, as a learner's run leaves it."""
    notebook = copy.deepcopy(release)
    notebook.metadata["widgets"] = widgets
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "100%|##########| 10/10"})]
    return notebook


def html(notebook):
    """nbconvert's HTML page, rendered as nbgrader's feedback renders a file (the resources name it)."""
    body, _ = HTMLExporter().from_notebook_node(notebook, resources={"metadata": {"name": ASSIGNMENT, "path": "."}})
    return body


def test_colab_widgets_without_state_break_nbconvert_until_repaired(release):
    colab = with_widgets(release, {WIDGET_STATE: {"version_major": 2, "version_minor": 0}})
    with pytest.raises(KeyError, match="state"):
        html(colab)
    repaired, repairs = repair_notebook(colab, release)
    assert "widgets" not in repaired.metadata
    assert [r.kind for r in repairs] == ["notebook_metadata"] and "Your answers were not changed" in repairs[0].message
    assert "10/10" in html(repaired)


def test_well_formed_widget_state_is_kept(release):
    good = with_widgets(release, {WIDGET_STATE: {"state": {}, "version_major": 2, "version_minor": 0}})
    repaired, repairs = repair_notebook(good, release)
    assert repaired.metadata["widgets"] == good.metadata["widgets"] and repairs == []
