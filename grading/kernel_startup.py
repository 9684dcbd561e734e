"""Run by every grading kernel before the notebook (an IPython start-up file of the sandbox's profile).

- exit() and quit() would shut the kernel down, and nbgrader would then lose the whole notebook: they only
  print EXIT_IGNORED instead (`grading.autograde` reports the cell to the student).
- The source of each cell is written to $GRADING_PROGRESS before it runs, so that when a cell kills the
  kernel anyway (os._exit, a crash in compiled code) the grader knows which cell it was.

Start-up files run in the notebook's namespace: everything is defined inside one function, then deleted.
"""
EXIT_IGNORED = "[grading] exit() or quit() was ignored: the kernel keeps running so the rest of the notebook is graded."


def _install_grading_hooks(message):
    import os

    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return

    def note_exit_ignored():
        print(message)

    def record_cell(info):
        with open(os.environ["GRADING_PROGRESS"], "w", encoding="utf-8") as progress:
            progress.write(info.raw_cell)

    shell.ask_exit = note_exit_ignored
    if os.environ.get("GRADING_PROGRESS"):
        shell.events.register("pre_run_cell", record_cell)


if __name__ == "__main__":  # run as the kernel's start-up file, not imported by the grader
    _install_grading_hooks(EXIT_IGNORED)
    del _install_grading_hooks, EXIT_IGNORED
