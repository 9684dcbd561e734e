"""README's results table is the notebooks' printed one (tools/readme_results.py, bn_course.results)."""
import nbformat
import numpy as np
import pandas as pd
import pytest

from bn_course.results import result_rows, results_table
from bn_course.study import Study

import readme_results


def small_study(epochs=20):
    """Two configs x 4 seeds; 'slow' never stays above the threshold with seed 3 (a censored run)."""
    times = {"baseline": [10, 12, 11, 13], "slow": [14, 15, 16, np.nan]}
    accuracy = {"baseline": [0.84, 0.85, 0.83, 0.84], "slow": [0.82, 0.83, 0.81, 0.79]}
    runs = pd.DataFrame([
        {"config": config, "seed": seed, "train_accuracy": accuracy[config][seed],
         "test_accuracy": accuracy[config][seed], "epoch_to_threshold": times[config][seed],
         "epoch_staying_above": times[config][seed]}
        for config in times for seed in range(4)
    ])
    curves = {config: {"val_accuracy": np.zeros((4, epochs))} for config in times}
    return Study(runs=runs, curves=curves, threshold=0.8)


def test_a_row_counts_censored_runs_and_compares_paired_by_seed():
    (row,) = result_rows(small_study(), {"slow": "slow one"}, notebook=9)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:3] == ["slow one", "9", "4"]
    # restricted mean: the censored run counts as 20 epochs, (14 + 15 + 16 + 20) / 4 = 16.25
    assert cells[3].startswith("16.2") and cells[3].endswith(", 3/4")
    assert cells[4].startswith("vs the baseline: +4.8")  # (4 + 3 + 5 + 7) / 4 = 4.75
    assert cells[5].startswith("0.812")


def test_the_header_writes_the_threshold_as_the_course_does():
    header = results_table(small_study(), {"baseline": "baseline"}, notebook=2).data.splitlines()[0]
    assert "stays >= 80 % (restricted mean" in header  # "80 %", with a space, as everywhere in the course


def test_unknown_configs_are_refused():
    with pytest.raises(ValueError, match="does not have"):
        result_rows(small_study(), {"nonexistent": "x"}, notebook=1)


def executed_notebook(table):
    cell = nbformat.v4.new_code_cell("display(table)", metadata={"tags": ["readme-results"]})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": table})]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [cell]
    return notebook


def test_tables_of_several_notebooks_merge_under_one_header():
    study = small_study()
    first = results_table(study, {"baseline": "baseline"}, notebook=2).data
    second = results_table(study, {"slow": "slow"}, notebook=3).data
    merged = readme_results.merged_table([executed_notebook(first), executed_notebook(second)])
    lines = merged.splitlines()
    assert lines[1] == first.splitlines()[1] and len(lines) == 4
    assert "(the reference)" in lines[2] and lines[3].startswith("| slow | 3 |")
    with pytest.raises(ValueError, match="share one header"):
        readme_results.merged_table([executed_notebook(first), executed_notebook("| other |\n|---|\n| row |")])


def test_each_difference_names_the_reference_of_its_own_notebook():
    """Notebook 3 compares with its own baseline (not a row of its table); notebook 9 with its BN-after network,
    the row its table marks "(the reference)": the header may no longer say every difference is from the
    baseline, and each cell says from what."""
    study = small_study()
    own_baseline = results_table(study, {"slow": "slow"}, notebook=3).data
    other_reference = results_table(study, {"slow": "09's reference", "baseline": "faster"}, notebook=9,
                                    baseline="slow").data
    header, _, third, reference, ninth = readme_results.merged_table(
        [executed_notebook(own_baseline), executed_notebook(other_reference)]).splitlines()
    assert "difference from the baseline" not in header
    assert "| difference from the reference named in the cell (same notebook), paired by seed" in header
    assert "| vs the baseline: +4.8 (" in third
    assert reference.startswith("| 09's reference | 9 |") and "| (the reference) |" in reference
    assert "| vs 09's reference: -4.8 (" in ninth


def test_only_the_part_between_the_markers_is_replaced():
    readme = f"intro\n{readme_results.START}\nold table\n{readme_results.END}\noutro\n"
    assert readme_results.with_table(readme, "new") == f"intro\n{readme_results.START}\nnew\n{readme_results.END}\noutro\n"
    with pytest.raises(ValueError, match="marker"):
        readme_results.with_table("no markers", "new")


def test_readme_holds_the_table_the_notebooks_print():
    assert readme_results.main(["--check"]) == 0, "README.md's results table is out of date: run `make readme`"
