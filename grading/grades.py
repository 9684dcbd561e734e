"""Export the gradebook to a CSV file with `nbgrader export` (one row per student and assignment).

    python -m grading.grades [--course DIR] [--to grades.csv]
"""
import argparse
import sys
from pathlib import Path

from grading.course import run_nbgrader


def export_grades(course, destination="grades.csv"):
    """Write the CSV with nbgrader's CSV exporter; return its path."""
    course = Path(course).resolve()
    destination = (course / destination).resolve()
    result = run_nbgrader(course, "export", f"--CsvExportPlugin.to={destination}")
    if result.returncode != 0:
        sys.exit(f"nbgrader export failed:\n{result.stdout}\n{result.stderr}")
    return destination


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=".", help="the course directory (default: current directory)")
    parser.add_argument("--to", default="grades.csv", help="the CSV file, relative to the course directory")
    args = parser.parse_args(argv)
    print(export_grades(args.course, args.to))


if __name__ == "__main__":
    main()
