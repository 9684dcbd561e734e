"""The course's results table: one row per configuration, as a notebook shows it and the README collects it.

A notebook displays its rows with `results_table(study, ...)` in a code cell tagged `readme-results`;
`python -m tools.readme_results` (run by `make readme`) copies the rows of every notebook into README.md, so
that the README's figures are the notebooks' printed ones, never typed.
"""
from IPython.display import Markdown

SPEED_MARGIN_EPOCHS = 3
HEADER = (
    "| configuration | notebook | seeds | epochs until test accuracy stays >= {percent:g} % (restricted mean, "
    "95 % CI; runs that got there) | difference from the reference named in the cell (same notebook), paired by "
    "seed (95 % CI): decision, margin "
    "±{margin:g} epochs | final test accuracy (mean, 95 % CI) |\n|---|---|---:|---|---|---|"
)


def _interval(mean, low, high, digits):
    return f"{mean:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def result_rows(study, labels, *, notebook, baseline="baseline", margin=SPEED_MARGIN_EPOCHS):
    """Markdown table rows (a list of str), one per config in `labels`.

    - study: a `bn_course.study.Study`; its primary speed metric is used (`Study.summary`), censored at the
      last epoch; `baseline` must be one of its configs (the paired comparison's reference). Its row reads
      "(the reference)"; every other difference cell names it, "vs <its label>: ...", or "vs the <baseline>"
      when `labels` gives it no row (notebooks 3-5 compare with their own baseline without showing it), so a
      table that merges several notebooks' rows (README) says what each difference is from.
    - labels: dict config -> the label the table shows, e.g. {"bn_after": "BN after the ReLU"}.
    - notebook: the notebook's number, shown in the row.
    - margin: the practical-difference margin of the speed comparison, in epochs.
    Raises ValueError for a config the study does not have.
    """
    summary = study.summary()
    missing = [config for config in labels if config not in summary.index]
    if missing:
        raise ValueError(f"labels names configs the study does not have: {missing}; it has {list(summary.index)}.")
    reference = labels.get(baseline, f"the {baseline}")
    rows = []
    for config, label in labels.items():
        row = summary.loc[config]
        speed = _interval(row["speed_mean"], row["speed_ci_low"], row["speed_ci_high"], 1)
        n_runs = int(row["n_runs"])
        speed += f", {int(row['speed_n_reached'])}/{n_runs}"
        if config == baseline:
            difference = "(the reference)"
        else:
            comparison = study.compare(baseline, config, margin=margin)
            difference = (f"vs {reference}: {comparison.mean_difference:+.1f} ({comparison.ci_low:+.1f} to {comparison.ci_high:+.1f}):"
                          f" {comparison.decision}")
        accuracy = _interval(row["test_accuracy_mean"], row["test_accuracy_ci_low"], row["test_accuracy_ci_high"], 3)
        rows.append(f"| {label} | {notebook} | {n_runs} | {speed} | {difference} | {accuracy} |")
    return rows


def results_table(study, labels, *, notebook, baseline="baseline", margin=SPEED_MARGIN_EPOCHS):
    """The header and `result_rows(...)` as an IPython Markdown object, for a notebook cell to display."""
    header = HEADER.format(percent=study.threshold * 100, margin=margin)  # the course writes "80 %", not "80%"
    rows = result_rows(study, labels, notebook=notebook, baseline=baseline, margin=margin)
    return Markdown("\n".join([header, *rows]))
