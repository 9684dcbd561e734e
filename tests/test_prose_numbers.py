"""Every number in a notebook's prose is printed by one of its cells (tests/prose_numbers.py has the rule)."""
import copy

import nbformat
import pytest

from course import ASSIGNMENTS, ROOT, notebook_path, read_notebook
from prose_numbers import is_backed, prose_numbers, unbacked_numbers


def test_prose_numbers_are_read_as_written():
    text = (
        "BN reaches 80 % at epoch 16.4 (−3.7 to +10.1), a 2-50-1 MLP with Conv2D on MNIST-1D; 1,000 points, "
        "eps 1e-3. `Dense(50)` and $x_{12}$ and <img src='a7.png'> and [link](https://x.org/9) are not prose.\n"
        "## 3. A heading\n1. first item"
    )
    assert [(n.text, n.percent) for n in prose_numbers(text)] == [
        ("80", True), ("16.4", False), ("−3.7", False), ("+10.1", False), ("1,000", False), ("1e-3", False),
    ]


@pytest.mark.parametrize(
    "prose, printed, backed",
    [
        ("85.4 %", 0.8537, True),  # a fraction printed, a percentage written
        ("0.854", 0.8537, True),
        ("85 %", 0.8537, True),
        ("0.85", 0.8537, True),
        ("0.86", 0.8537, False),
        ("8 epochs", -8.2, True),  # a signed difference told in words
        ("9 epochs", -8.2, False),
        ("16.4", 16.46, False),
    ],
)
def test_a_prose_number_is_backed_at_its_own_rounding(prose, printed, backed):
    (number,) = prose_numbers(prose)
    assert is_backed(number, {abs(printed)}) is backed


def _backed_decimal_number(notebook):
    """(cell index, text) of the first prose number with decimals that the notebook prints."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            for number in prose_numbers(cell.source):
                if number.decimals >= 1 and number.text not in cell.metadata.get("constants", []):
                    return index, number.text
    pytest.skip("no decimal number in this notebook's prose")


def test_a_planted_mismatch_is_found():
    notebook = read_notebook(notebook_path(ROOT, "solutions", "03-bn-after"))
    index, text = _backed_decimal_number(notebook)
    planted = copy.deepcopy(notebook)
    planted.cells[index].source = planted.cells[index].source.replace(text, "0.123457", 1)
    assert (index, "0.123457") in unbacked_numbers(planted)
    planted.cells.append(nbformat.v4.new_markdown_cell("It ends at 97.531 % accuracy."))
    assert (len(planted.cells) - 1, "97.531%") in unbacked_numbers(planted)


def test_a_constant_listed_in_the_cell_metadata_is_accepted():
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell("Ioffe and Szegedy (2015), Figure 1."))
    assert unbacked_numbers(notebook) == [(0, "2015"), (0, "1")]
    notebook.cells[0].metadata["constants"] = ["2015", "1"]
    assert unbacked_numbers(notebook) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_number_in_the_prose_is_printed_by_a_cell(assignment):
    notebook = read_notebook(notebook_path(ROOT, "solutions", assignment))
    unbacked = unbacked_numbers(notebook)
    assert not unbacked, (
        f"numbers in the prose of {assignment} that no cell prints (cell index, number): {unbacked}. Print the "
        "measurement in a cell, or list a constant (a setting, a year, a quoted claim) in the markdown cell's "
        'metadata, e.g. {"constants": ["2015"]}'
    )
