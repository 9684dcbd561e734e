"""Repair a submitted notebook against the released one, so that nbgrader can grade it.

nbgrader finds graded cells only through their `nbgrader` cell metadata. Editors strip or rewrite it (Colab
saves notebooks without cell ids and can drop unknown metadata), and students delete, duplicate or retype
cells; a correct answer in such a notebook scores 0, or nbgrader stops with a misleading error. For every
cell of the release that has nbgrader metadata, `repair_notebook` finds the submission's cell:

1. by the grade id in the cell's own metadata (of duplicates the most plausible is kept, the other copies
   become ordinary cells);
2. by the cell id;
3. by content: a locked cell by its text, an answer cell by the release's lines other than the stub;
4. by position: the only unclaimed cell where the release cell should be.

The matched cell gets the release's metadata and cell type back. A release cell that matches nothing is put
back from the release (nbgrader then restores a test cell's code, hidden tests included, from its gradebook).
Notebook-level metadata that would break the feedback page (widget state without `state`) is removed.
Each change is a `Repair`, described for the student. Run `python -m grading.repair SUBMISSION RELEASE` to
see what would change.
"""
import argparse
import copy
import difflib
from dataclasses import dataclass

import nbformat
from nbgrader import utils as nbgrader_utils

STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError", "YOUR ANSWER HERE")
CONTENT_THRESHOLD = 0.6  # share of an answer cell's given lines (or text similarity) needed to match by content


@dataclass
class Repair:
    kind: str  # metadata | duplicate | cell_type | edited | restored | unknown_cell | notebook_metadata
    cell: str  # the grade id concerned
    message: str  # for the student


def grading_metadata(cell):
    """The cell's nbgrader metadata if it is usable (a dict with a grade id), else None."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str) else None


def _lines(source):
    return [line.strip() for line in source.splitlines() if line.strip()]


def _same_text(a, b):
    return _lines(a) == _lines(b)


def _given_lines(release_cell):
    """The lines of a release answer cell that the student is expected to keep (e.g. the `def` line)."""
    return [line for line in _lines(release_cell.source) if not any(stub in line for stub in STUB_LINES)]


def content_score(release_cell, cell):
    """How well `cell` matches `release_cell` by content, from 0 to 1."""
    if nbgrader_utils.is_solution(release_cell):
        given = _given_lines(release_cell)
        present = set(_lines(cell.source))
        return sum(line in present for line in given) / len(given) if given else 0.0
    if _same_text(release_cell.source, cell.source):
        return 1.0
    matcher = difflib.SequenceMatcher(None, release_cell.source, cell.source, autojunk=False)
    return matcher.ratio() if matcher.quick_ratio() >= CONTENT_THRESHOLD else 0.0


def _plausibility(release_cell, cell):
    """Which of several cells claiming the same grade id to keep: an unedited locked cell, a worked answer."""
    if nbgrader_utils.is_solution(release_cell):
        return 0 if _same_text(release_cell.source, cell.source) else 1
    return 1 if _same_text(release_cell.source, cell.source) else 0


def _make_ordinary(cell):
    for key in ("nbgrader", "deletable", "editable"):
        cell.metadata.pop(key, None)


def _match_by_metadata(cells, release, matches, repairs):
    claims = {}
    for index, cell in enumerate(cells):
        meta = grading_metadata(cell)
        if meta is None:
            if "nbgrader" in cell.metadata:
                _make_ordinary(cell)
            continue
        if meta["grade_id"] not in release:
            _make_ordinary(cell)
            repairs.append(Repair("unknown_cell", meta["grade_id"], f"A cell named `{meta['grade_id']}` is not part of "
                                  "the assignment; it was run as an ordinary cell."))
            continue
        claims.setdefault(meta["grade_id"], []).append(index)
    for grade_id, indices in claims.items():
        keep = max(indices, key=lambda i: (_plausibility(release[grade_id], cells[i]), -i))
        matches[grade_id] = keep
        for index in indices:
            if index != keep:
                _make_ordinary(cells[index])
        if len(indices) > 1:
            which = "first" if keep == indices[0] else "complete"
            repairs.append(Repair("duplicate", grade_id, f"The cell `{grade_id}` appeared {len(indices)} times; the "
                                  f"{which} one was graded and the other copies were run as ordinary cells."))


def _match_by_id(cells, release, matches):
    claimed = set(matches.values())
    by_id = {cell.get("id"): index for index, cell in enumerate(cells) if cell.get("id")}
    for grade_id, release_cell in release.items():
        index = by_id.get(release_cell.get("id"))
        if grade_id not in matches and index is not None and index not in claimed and grading_metadata(cells[index]) is None:
            matches[grade_id] = index
            claimed.add(index)


def _match_by_content(cells, release, matches):
    for grade_id, release_cell in release.items():
        if grade_id in matches:
            continue
        claimed = set(matches.values())
        candidates = [i for i in range(len(cells)) if i not in claimed and grading_metadata(cells[i]) is None]
        identical = [i for i in candidates if _same_text(release_cell.source, cells[i].source)]
        if identical and not nbgrader_utils.is_solution(release_cell):
            matches[grade_id] = identical[0]
            continue
        scored = [(content_score(release_cell, cells[i]), -i) for i in candidates]
        if scored and max(scored)[0] >= CONTENT_THRESHOLD:
            matches[grade_id] = -max(scored)[1]


def _gap(order, matches, grade_id):
    """The submission indices (low, high) of the matched release cells just before and after `grade_id`."""
    position = order.index(grade_id)
    before = [matches[g] for g in order[:position] if g in matches]
    after = [matches[g] for g in order[position + 1:] if g in matches]
    return (before[-1] if before else -1), (after[0] if after else None)


def _match_by_position(cells, release, matches):
    order = list(release)
    gaps = {g: _gap(order, matches, g) for g in order if g not in matches}
    claimed = set(matches.values())
    for grade_id, (low, high) in gaps.items():
        high = len(cells) if high is None else high
        free = [i for i in range(low + 1, high) if i not in claimed and grading_metadata(cells[i]) is None]
        alone = [g for g, gap in gaps.items() if gap == gaps[grade_id]] == [grade_id]
        if alone and len(free) == 1:
            matches[grade_id] = free[0]
            claimed.add(free[0])


def _set_cell_type(cell, cell_type):
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _restore(cell, release_cell, repairs):
    grade_id = grading_metadata(release_cell)["grade_id"]
    meta = grading_metadata(cell)
    if meta != grading_metadata(release_cell):
        repairs.append(Repair("metadata", grade_id, ""))
    if cell.cell_type != release_cell.cell_type:
        repairs.append(Repair("cell_type", grade_id, f"The cell `{grade_id}` had been changed from {cell.cell_type} to "
                              f"{release_cell.cell_type}; it was changed back before grading."))
        _set_cell_type(cell, release_cell.cell_type)
    # nbgrader runs its own copy of a locked cell (a test cell is locked too), whatever the student wrote
    if nbgrader_utils.is_locked(release_cell) and release_cell.cell_type == "code" and not _same_text(release_cell.source, cell.source):
        repairs.append(Repair("edited", grade_id, f"The cell `{grade_id}` is read-only but had been edited; the "
                              "original was run for grading."))
    for key in ("nbgrader", "deletable", "editable"):
        if key in release_cell.metadata:
            cell.metadata[key] = copy.deepcopy(release_cell.metadata[key])
    cell["id"] = release_cell.get("id")


def _missing_message(release_cell, grade_id):
    if nbgrader_utils.is_solution(release_cell):
        return (f"Your answer cell `{grade_id}` was missing; it was put back empty, so the tests of that exercise "
                "cannot pass.")
    if nbgrader_utils.is_grade(release_cell):
        return f"The test cell `{grade_id}` was missing; it was put back before grading."
    return f"The cell `{grade_id}` of the assignment was missing; it was put back before grading."


def _insert_missing(cells, release, matches, repairs):
    inserts = {}
    anchor = -1
    for grade_id, release_cell in release.items():
        if grade_id in matches:
            anchor = matches[grade_id]
            continue
        inserts.setdefault(anchor, []).append(copy.deepcopy(release_cell))
        if release_cell.cell_type == "code" or nbgrader_utils.is_grade(release_cell):
            repairs.append(Repair("restored", grade_id, _missing_message(release_cell, grade_id)))
    result = list(inserts.get(-1, []))
    for index, cell in enumerate(cells):
        result.append(cell)
        result.extend(inserts.get(index, []))
    return result


def _unique_ids(cells):
    seen = set()
    for index, cell in enumerate(cells):
        if not cell.get("id") or cell["id"] in seen:
            cell["id"] = f"cell-{index}"
            while cell["id"] in seen:
                cell["id"] += "-copy"
        seen.add(cell["id"])


def _summarise_metadata(repairs):
    """One sentence for all cells whose metadata was restored, instead of one per cell."""
    restored = [r.cell for r in repairs if r.kind == "metadata"]
    others = [r for r in repairs if r.kind != "metadata"]
    if not restored:
        return others
    message = (f"The grading information (nbgrader metadata) of {len(restored)} cell(s) was missing or changed, as "
               "editors such as Colab can do; it was restored from the released notebook by matching the cells' ids, "
               "content and position. Your answers were not changed.")
    return [Repair("metadata", ", ".join(restored), message), *others]


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _normalise_notebook_metadata(notebook, repairs):
    """Drop notebook-level widget metadata that nbconvert cannot render (Colab saves `widgets` without `state`).

    Widget state only redraws progress bars and sliders; grading never needs it, and with it malformed nbconvert
    fails on the feedback page."""
    widgets = notebook.metadata.get("widgets")
    if widgets is None:
        return
    state = widgets.get(WIDGET_STATE) if isinstance(widgets, dict) else None
    if not isinstance(state, dict) or not isinstance(state.get("state"), dict):
        del notebook.metadata["widgets"]
        repairs.append(Repair("notebook_metadata", "", "The notebook's saved widget information (written by editors such "
                              "as Colab) was incomplete; it was removed so that your feedback page can be drawn. Your "
                              "answers were not changed."))


def repair_notebook(submission, release):
    """Return (repaired copy of `submission`, list of `Repair`) given the released notebook."""
    notebook = copy.deepcopy(submission)
    release_cells = {grading_metadata(cell)["grade_id"]: cell for cell in release.cells if grading_metadata(cell)}
    cells = notebook.cells
    for cell in cells:
        cell.setdefault("metadata", nbformat.NotebookNode())
    matches, repairs = {}, []
    _match_by_metadata(cells, release_cells, matches, repairs)
    _match_by_id(cells, release_cells, matches)
    _match_by_content(cells, release_cells, matches)
    _match_by_position(cells, release_cells, matches)
    for grade_id, index in matches.items():
        _restore(cells[index], release_cells[grade_id], repairs)
    notebook.cells = _insert_missing(cells, release_cells, matches, repairs)
    _normalise_notebook_metadata(notebook, repairs)
    notebook.nbformat, notebook.nbformat_minor = 4, max(notebook.get("nbformat_minor", 0), 5)
    _unique_ids(notebook.cells)
    return notebook, _summarise_metadata(repairs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission")
    parser.add_argument("release")
    parser.add_argument("-o", "--output", help="write the repaired notebook here")
    args = parser.parse_args(argv)
    notebook, repairs = repair_notebook(nbformat.read(args.submission, as_version=4), nbformat.read(args.release, as_version=4))
    for repair in repairs:
        print(f"[{repair.kind}] {repair.message}")
    if not repairs:
        print("nothing to repair")
    if args.output:
        nbformat.write(notebook, args.output)


if __name__ == "__main__":
    main()
