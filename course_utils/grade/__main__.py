"""Command line: ``python -m course_utils.grade SUBMISSIONS_DIR --assignment NN --out OUT_DIR``.

``python -m course_utils.grade gradescope --assignment NN --out autograder.zip`` builds a Gradescope autograder
instead (:mod:`~course_utils.grade.gradescope`); a submissions folder named ``gradescope`` is ``./gradescope``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_utils.grade import gradescope
from course_utils.grade.batch import EnvironmentProblem, grade_batch
from course_utils.grade.rubric import NoRubric
from course_utils.grade.runner import Limits
from course_utils.grade.sandbox import SandboxUnavailable

ROOT = Path(__file__).resolve().parents[2]


def build_gradescope(argv) -> int:
    """``gradescope --assignment NN --out autograder.zip``: write the Gradescope autograder zip."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade gradescope",
                                     description="Build a Gradescope autograder zip (setup.sh, run_autograder, the "
                                     "pinned requirements, course_utils and the released notebook) for one assignment.")
    gradescope.add_options(parser)
    parser.add_argument("--out", required=True, type=Path, help="the zip to write (e.g. autograder.zip)")
    args = parser.parse_args(argv)
    try:
        out = gradescope.build(args.assignment, args.out, timeout=args.timeout, budget=args.budget,
                               memory_gb=args.memory_gb)
    except (NoRubric, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}: upload it on the assignment's Configure Autograder page (base image Ubuntu 22.04)")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["gradescope"]:
        return build_gradescope(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade",
                                     description="Grade a folder of submitted notebooks of one assignment.",
                                     epilog="To build a Gradescope autograder instead: python -m course_utils.grade "
                                     "gradescope --assignment NN --out autograder.zip")
    parser.add_argument("submissions", type=Path, help="folder of NAME.ipynb files (or NAME/ folders, one notebook)")
    parser.add_argument("--assignment", required=True, help="two digits: grades against exercises/NN_*.ipynb")
    parser.add_argument("--out", required=True, type=Path, help="where grades.csv and NAME/ results go")
    parser.add_argument("--exercises", type=Path, default=ROOT / "exercises", help="folder of released notebooks")
    parser.add_argument("--workers", type=int, default=2, help="submissions graded at once (default 2)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per cell or test (default 60)")
    parser.add_argument("--budget", type=float, default=600, help="seconds per submission (default 600)")
    parser.add_argument("--memory-gb", type=float, default=3,
                        help="memory of one submission's sandbox, all its processes together (default 3)")
    parser.add_argument("--max-notebook-mb", type=float, default=20, help="bigger submitted files are refused (20)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="grade without the bubblewrap sandbox (recorded in grades.csv and every feedback.md)")
    parser.add_argument("--kernel-user", metavar="ACCOUNT",
                        help="with --no-sandbox and a grader running as root: run every kernel as this "
                        "unprivileged account (it cannot then read, signal or overwrite the grader)")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.kernel_user and not args.no_sandbox:
        parser.error("--kernel-user is for --no-sandbox: the sandbox already keeps kernels away from the grader")
    limits = Limits(cell_timeout=args.timeout, budget=args.budget, memory_bytes=int(args.memory_gb * (1 << 30)),
                    sandbox=not args.no_sandbox, max_notebook_bytes=int(args.max_notebook_mb * (1 << 20)),
                    kernel_user=args.kernel_user)
    try:
        grade_batch(args.submissions, args.assignment, args.out, exercises=args.exercises, workers=args.workers,
                    limits=limits)
    except (NoRubric, FileNotFoundError, SandboxUnavailable, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except EnvironmentProblem as error:
        print(f"environment error (nobody was graded): {error}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
