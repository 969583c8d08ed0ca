"""The ``cavitylab`` command line.

::

    cavitylab list                                  the recipes, one line each
    cavitylab run NAME [--quick] [--out D] [--seed N] [--workers N | --scheduler ADDR]
                   [--checkpoint DIR] [--quiet]
                                                    run a recipe: table on stdout, PNG + JSON in D
    cavitylab derive MODEL.py [--latex] [--only NAME]
                                                    print the derived equations of a model file
    cavitylab export MODEL.py -o FILE               write the standalone solver
    cavitylab verify MODEL.py [--examples N] [--seed N]
                                                    property-based checks of the derivation

What ``derive``, ``export`` and ``verify`` do depends on the type of the model, through
:mod:`cookbooks.families`; nothing here knows a family.

Errors: a :class:`derive.CavitylabError` (a bad model, bad input, a kernel that does not
compile, a model file that does not load, an output path that cannot be written) is
reported as one line ``error: ...`` with exit status 2 (``--traceback`` shows the trace);
any other exception is a bug and shows as one. A failed ``verify`` check exits with
status 1.
"""

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

from derive.errors import CavitylabError
from numerics import progress as numerics_progress
from numerics.sweep import sweep_defaults

from .errors import CookbookError

__all__ = ["main", "build_parser"]


def _version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cavitylab")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown (not installed)"


@contextlib.contextmanager
def _dask_executor(address, timeout=10):
    """A ``concurrent.futures`` executor on an existing Dask scheduler, or a clear error."""
    try:
        import distributed
    except ImportError:
        raise CookbookError(
            "--scheduler needs Dask's distributed package: pip install 'cavitylab[dask]'"
        ) from None
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as err:
        raise CookbookError(
            f"--scheduler {address}: no Dask scheduler answered within {timeout} s "
            f"({type(err).__name__}: {' '.join(str(err).split())})"
        ) from None
    try:
        yield client.get_executor()
    finally:
        client.close()


def _writable_dir(path, what):
    """Create ``path`` if needed and check that a file can be written in it, before any work."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".cavitylab-check-"):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise CookbookError(f"{what} {str(path)!r} is not a writable directory: {reason}") from None
    return path


def _one_line(err):
    text = " ".join(str(err).split())
    return text or type(err).__name__


def _cmd_list(args):
    from .registry import recipes

    known = recipes()
    width = max(map(len, known))
    for name, module in known.items():
        print(f"{name.ljust(width)}  {module.SUMMARY}")
    return 0


def _cmd_run(args):
    from .registry import get_recipe

    recipe = get_recipe(args.name)
    out = _writable_dir(args.out if args.out else Path("results") / recipe.NAME, "--out")
    checkpoint = _writable_dir(args.checkpoint, "--checkpoint") if args.checkpoint else None
    if args.workers is not None and args.workers < 1:
        raise CookbookError(f"--workers must be at least 1, got {args.workers}")
    with contextlib.ExitStack() as stack:
        executor = args.workers if args.workers and args.workers > 1 else None
        if args.scheduler:
            executor = stack.enter_context(_dask_executor(args.scheduler))
        stack.enter_context(numerics_progress.quiet(args.quiet))
        stack.enter_context(sweep_defaults(executor=executor, checkpoint_dir=checkpoint))
        results = recipe.run(quick=args.quick, out=out, seed=args.seed)
    print(recipe.table(results))
    files = results.get("files", {})
    if files:
        print("\nwrote " + ", ".join(str(p) for p in files.values()))
    return 0


def _load(path):
    from .families import family_of
    from .models import load_model

    model = load_model(path)
    try:
        return model, family_of(model)
    except CookbookError as err:
        raise CookbookError(f"{path}: {err}") from None


def _cmd_derive(args):
    model, family = _load(args.model)
    steps = family.steps(model)
    if args.only is not None:
        known = [key for key, _, _ in steps]
        if args.only not in known:
            raise CookbookError(
                f"--only {args.only!r}: no such derivation for {family.name}; "
                f"choose one of {', '.join(known)}"
            )
        steps = [step for step in steps if step[0] == args.only]
    texts = []
    for k, (key, title, derive_one) in enumerate(steps, 1):
        print(f"[{k}/{len(steps)}] deriving {title} ({key}) ...", file=sys.stderr, flush=True)
        eqs = derive_one()
        if eqs is None:  # not applicable to this model (the step says why on stderr)
            continue
        texts.append(eqs.latex() if args.latex else str(eqs))
    print("\n\n".join(texts))
    return 0


def _cmd_export(args):
    output = Path(args.output)
    if output.suffix != ".py":
        raise CookbookError(f"-o {args.output!r}: the solver is a Python module; end it in .py")
    _writable_dir(output.parent if str(output.parent) else Path("."), "the directory of -o")
    model, family = _load(args.model)
    path = family.export(model, output)
    print(path)
    return 0


def _cmd_verify(args):
    if args.examples < 1:
        raise CookbookError(f"--examples must be at least 1, got {args.examples}")
    model, family = _load(args.model)
    if family.verify is None:
        raise CookbookError(
            f"no property checks yet for {family.name} "
            f"({type(model).__name__}); derive and export work"
        )
    failed = 0
    for check in family.verify(model, examples=args.examples, seed=args.seed):
        print(check, flush=True)
        failed += check.passed is False
    return 1 if failed else 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cavitylab",
        description="Derive mean-field and cavity equations of a model symbolically, compile "
        "them, and check them against simulation.",
    )
    parser.add_argument("--version", action="version", version=f"cavitylab {_version()}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the full traceback of an error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="the recipes, one line each")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("run", help="run a recipe: table on stdout, PNG + JSON in --out")
    p.add_argument("name", metavar="NAME", help="a recipe (see cavitylab list)")
    p.add_argument("--quick", action="store_true", help="small sizes, short runs (under a minute)")
    p.add_argument("--out", metavar="DIR", help="output directory (default results/NAME)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--workers", type=int, metavar="N", help="run the recipe's sweeps on N local processes"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the sweeps on an existing Dask scheduler (tcp://HOST:PORT)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="stream each sweep's points to DIR/<sweep>.jsonl; rerun to resume",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("derive", help="print the derived equations of a model file")
    p.add_argument("model", metavar="MODEL.py", help="Python file that defines model = ...")
    p.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
    p.add_argument(
        "--only",
        metavar="NAME",
        help="one derivation by its short name (mf, bp, rs, tap; denoisers, se, phi, errors; ...)",
    )
    p.set_defaults(func=_cmd_derive)

    p = sub.add_parser("export", help="write the standalone solver of a model file")
    p.add_argument("model", metavar="MODEL.py", help="Python file that defines model = ...")
    p.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="the solver module to write (.py)"
    )
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("verify", help="property-based checks of the derivation (hypothesis)")
    p.add_argument("model", metavar="MODEL.py", help="Python file that defines model = ...")
    p.add_argument(
        "--examples",
        type=int,
        default=20,
        metavar="N",
        help="hypothesis examples per check (default 20)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="hypothesis seed, for reproducible draws (default 0)"
    )
    p.set_defaults(func=_cmd_verify)
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from numerics.threads import limit_blas_threads

    limit_blas_threads()  # one BLAS thread: two spin against each other on two cores
    try:
        return args.func(args)
    except CavitylabError as err:  # bad input of any layer; anything else is a bug
        if args.traceback or os.environ.get("CAVITYLAB_TRACEBACK"):
            raise
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
