"""Numbers in a notebook's prose, and whether a cell printed them.

Rule (CONTRIBUTING.md, "Numbers in prose"): every number in a markdown cell is either printed by a code cell of
the same notebook, written as a literal in a code cell (a setting such as `Dense(50)` or `momentum=0.99`), or
listed, as written, in that markdown cell's metadata list "constants" (years, figure numbers, a quoted claim of
the tutorial). Numbers inside `code spans`, fenced code, $math$, HTML tags and link targets are not prose.
A prose number matches a printed one at the prose's own rounding, as a fraction or as a percentage
(0.8537 printed backs "85.4 %", "0.854" and "85 %"), and regardless of sign ("8 epochs earlier" for -8.2).
"""
import math
import re
from dataclasses import dataclass

# A number as people write it: 1,000 / -3.7 / +10.1 / 1e-3 / 85.4 %. A digit glued to letters (Conv2D, 3x100,
# MNIST-1D, 2-50-1) is part of a name, not a number.
NUMBER = re.compile(
    r"(?<![\w.\-−])"
    r"(?P<number>[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+−]?\d+)?)"
    r"(?P<percent>\s?%)?"
    r"(?![\w]|\.\d|-\d)"
)
# In printed text every digit run counts, whatever surrounds it ("0.843-0.851", "seed=3", "8/10").
PRINTED_NUMBER = re.compile(r"(?<![\d.])(?P<number>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)")
NOT_PROSE = [
    re.compile(r"```.*?```", re.S),  # fenced code
    re.compile(r"`[^`]*`"),  # code spans
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"(?<!\\)\$[^$]*?(?<!\\)\$"),  # inline math
    re.compile(r"<[^>]*>"),  # HTML tags and their attributes
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"https?://\S+"),  # bare addresses
    re.compile(r"^\s{0,3}#+ *\d+(?:\.\d+)*\.?", re.M),  # a heading's own number ("## 3. Training")
    re.compile(r"^\s*\d+[.)]\s", re.M),  # a numbered list's item number
]


@dataclass(frozen=True)
class ProseNumber:
    """A number as written in prose: its text, value, decimals shown and whether it was a percentage."""

    text: str
    value: float
    decimals: int
    percent: bool


def _value(text):
    return float(text.replace(",", "").replace("−", "-"))


def _decimals(text):
    mantissa = re.split(r"[eE]", text)[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def prose_numbers(markdown):
    """The ProseNumbers of a markdown cell's text, code, math, tags and links removed."""
    text = markdown
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return [
        ProseNumber(match["number"], _value(match["number"]), _decimals(match["number"]), bool(match["percent"]))
        for match in NUMBER.finditer(text)
    ]


def printed_numbers(text):
    """The absolute values of every number in printed text (an output or a code cell's source)."""
    return {_value(match["number"]) for match in PRINTED_NUMBER.finditer(text)}


def _rounds_to(candidate, number):
    tolerance = 0.5 * 10.0 ** -number.decimals
    return abs(candidate - abs(number.value)) <= tolerance * (1 + 1e-9)


def is_backed(number, printed):
    """True if `number` (a ProseNumber) is one of `printed` at its rounding, as a fraction or a percentage."""
    return any(_rounds_to(value * scale, number) for value in printed for scale in (1.0, 100.0, 0.01))


def _output_text(output):
    if output.output_type == "stream":
        return output.text
    data = output.get("data", {})
    return "\n".join(str(data[kind]) for kind in ("text/plain", "text/markdown", "text/html") if kind in data)


def notebook_printed_numbers(notebook):
    """Every number printed by a code cell, or written as a literal in one (a setting, not a measurement)."""
    texts = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            texts.append(cell.source)
            texts.extend(_output_text(output) for output in cell.get("outputs", []))
    return printed_numbers("\n".join(texts))


def unbacked_numbers(notebook):
    """[(cell index, number text)] of prose numbers that no cell prints and no "constants" list names."""
    printed = notebook_printed_numbers(notebook)
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        constants = {str(value) for value in cell.metadata.get("constants", [])}
        for number in prose_numbers(cell.source):
            if number.text.lstrip("+-−") in constants or number.text in constants:
                continue
            if not math.isfinite(number.value) or not is_backed(number, printed):
                problems.append((index, number.text + ("%" if number.percent else "")))
    return problems
