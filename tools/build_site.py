"""Build the rendered course: one static HTML page per notebook and an index (`make site`, offline).

    python tools/build_site.py [--out build/site]

A page is made from the *executed source* notebook, so that it shows the prose, the figures and the outputs of
the demonstrations, with what only an instructor may see taken out by nbgrader's own preprocessors:
`ClearSolutions` (solution code and written answers become the student's stub), `ClearHiddenTests` (hidden
test code goes) and `ClearMarkScheme`; the outputs of solution and graded test cells are dropped too (they may
print an answer). nbconvert renders the result with the JupyterLab template, images with alt text
(the cell's metadata "alt", else a description built from the cell). Pages work offline: no require.js, and
MathJax 3 copied next to the pages from `--mathjax DIR` (the `es5` folder of the npm package, which `make site`
fetches, pinned); without it the pages load the same MathJax from its CDN, and the build says so.
"""
import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions
from nbgrader.utils import is_grade, is_solution

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "site_templates"
COLAB_BADGE = re.compile(r'<img src="https://colab\.research\.google\.com/assets/colab-badge\.svg"[^>]*>')
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml-full.js"


def _figure_description(cell, notebook_title):
    """Alt text for the figures of `cell`: its metadata "alt", else its first comment, else a generic one."""
    if cell.metadata.get("alt"):
        return str(cell.metadata["alt"])
    comments = [line.lstrip("# ").strip() for line in cell.source.splitlines() if line.strip().startswith("#")]
    described = next((comment for comment in comments if comment), None)
    return f"Figure from {notebook_title}: {described}" if described else f"Figure from {notebook_title}"


def student_view(notebook):
    """A copy of the executed source `notebook` without solutions, hidden tests, mark schemes, or the outputs of
    solution and graded test cells; each code cell records the alt text of its figures in metadata "alt"."""
    notebook = nbformat.from_dict(notebook)
    resources = ResourcesDict()
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()):
        notebook, resources = preprocessor.preprocess(notebook, resources)
    title = notebook_title(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            # The badge is an image on Colab's server; on a page read offline a text link serves as well.
            cell.source = COLAB_BADGE.sub("Open in Colab", cell.source)
        if cell.cell_type != "code":
            continue
        if is_solution(cell) or is_grade(cell):
            cell.outputs = []
        cell.metadata["alt"] = _figure_description(cell, title)
    return notebook


def notebook_title(notebook):
    """The first markdown heading of `notebook`, without its # marks; "Untitled" if it has none."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#+\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    return "Untitled"


def local_mathjax(out, mathjax_dir):
    """Copy MathJax's es5 folder `mathjax_dir` into `out`/mathjax and return the pages' relative URL of it; the
    CDN's URL when `mathjax_dir` is None or missing."""
    if not mathjax_dir or not (Path(mathjax_dir) / "tex-chtml-full.js").is_file():
        print(f"No MathJax folder given (--mathjax): the pages load MathJax from {MATHJAX_CDN}")
        return MATHJAX_CDN
    shutil.copytree(mathjax_dir, Path(out) / "mathjax", dirs_exist_ok=True)
    return "mathjax/tex-chtml-full.js"


def render(notebook, mathjax_url=MATHJAX_CDN):
    """HTML of `notebook` with the course template (JupyterLab's, with alt text on images, without require.js,
    MathJax 3 from `mathjax_url`)."""
    exporter = HTMLExporter(template_name="course", extra_template_basedirs=[str(TEMPLATES)], mathjax_url=mathjax_url)
    body, _ = exporter.from_notebook_node(notebook)
    return body


def index_page(pages):
    """The index: a list of (file name, title) links."""
    items = "\n".join(f'<li><a href="{html.escape(name)}">{html.escape(title)}</a></li>' for name, title in pages)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>Batch Normalization, hands-on"
        "</title></head>\n<body><main><h1>Batch Normalization, hands-on</h1>\n<p>The course's notebooks, rendered "
        "with their figures and demonstration outputs. The exercises are left for you: open a notebook in Colab "
        "or JupyterLab to do them.</p>\n<ol>\n" + items + "\n</ol></main></body></html>\n"
    )


def build(out, root=ROOT, mathjax_dir=None):
    """Write one page per source notebook of course `root` and index.html into `out`, with MathJax from
    `mathjax_dir` (see `local_mathjax`); return the page paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mathjax_url = local_mathjax(out, mathjax_dir)
    pages = []
    for path in sorted((Path(root) / "solutions").glob("[0-9]*/[0-9]*.ipynb")):
        notebook = student_view(nbformat.read(path, as_version=4))
        name = f"{path.stem}.html"
        (out / name).write_text(render(notebook, mathjax_url))
        pages.append((name, notebook_title(notebook)))
    (out / "index.html").write_text(index_page(pages))
    return [out / name for name, _ in pages]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "site"), help="output folder (default build/site)")
    parser.add_argument("--mathjax", help="MathJax 3's es5 folder, copied next to the pages (default: its CDN)")
    args = parser.parse_args(argv)
    pages = build(args.out, mathjax_dir=args.mathjax)
    print(f"{len(pages)} pages and index.html written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
