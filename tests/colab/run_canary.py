"""Execute every source notebook on Colab's stack (`make test-colab`); exit 1 if one fails.

Run with the Python of .venv-colab (tests/colab/requirements.txt plus the helpers). Each notebook runs top to
bottom in a kernel of that environment, as a learner's "Run all" would; hidden tests included, since the
source notebooks hold them. The Colab setup cell installs nothing here: it only acts inside google.colab.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]


def execute(path):
    """Run the notebook at `path`; return None, or the error's last lines."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": path.parent}})
    try:
        client.execute()
    except CellExecutionError as error:
        return "\n".join(str(error).splitlines()[-15:])
    return None


def main():
    import keras
    import numpy
    import tensorflow

    print(f"Python {sys.version.split()[0]}, TensorFlow {tensorflow.__version__}, Keras {keras.__version__}, "
          f"NumPy {numpy.__version__}", flush=True)
    failures = []
    for path in sorted((ROOT / "solutions").glob("[0-9]*/[0-9]*.ipynb")):
        start = time.perf_counter()
        error = execute(path)
        print(f"{path.parent.name}: {'FAILED' if error else 'ok'} in {time.perf_counter() - start:.0f} s", flush=True)
        if error:
            failures.append(path.parent.name)
            print(error, flush=True)
    print(f"{len(failures)} notebook(s) failed on Colab's stack: {failures}" if failures else "every notebook ran")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
