"""The ``cavitylab`` command line.

::

    cavitylab list                                  the recipes, one line each
    cavitylab run NAME [--quick] [--out D] [--seed N]
                                                    run a recipe: table on stdout, PNG + JSON in D
    cavitylab derive MODEL.py [--latex]             print the derived equations of a model file
    cavitylab export MODEL.py -o FILE               write the standalone solver
    cavitylab verify MODEL.py [--examples N] [--seed N]
                                                    property-based checks of the derivation

What ``derive``, ``export`` and ``verify`` do depends on the type of the model, through
:mod:`cookbooks.families`; nothing here knows a family. Every library error
(``derive.ModelError``, ``numerics.CompileError``, a ``ValueError`` from ``graphs``, a model
file that does not load) is reported as one line ``error: ...`` with exit status 2; a
failed ``verify`` check exits with status 1.
"""

import argparse
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]


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
    out = Path(args.out) if args.out else Path("results") / recipe.NAME
    results = recipe.run(quick=args.quick, out=out, seed=args.seed)
    print(recipe.table(results))
    files = results.get("files", {})
    if files:
        print("\nwrote " + ", ".join(str(p) for p in files.values()))
    return 0


def _load(path):
    from .errors import CookbookError
    from .families import family_of
    from .models import load_model

    model = load_model(path)
    try:
        return model, family_of(model)
    except CookbookError as err:
        raise CookbookError(f"{path}: {err}") from None


def _cmd_derive(args):
    model, family = _load(args.model)
    texts = [eqs.latex() if args.latex else str(eqs) for eqs in family.derivations(model)]
    print("\n\n".join(texts))
    return 0


def _cmd_export(args):
    model, family = _load(args.model)
    path = family.export(model, args.output)
    print(path)
    return 0


def _cmd_verify(args):
    from .errors import CookbookError

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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="the recipes, one line each")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("run", help="run a recipe: table on stdout, PNG + JSON in --out")
    p.add_argument("name", metavar="NAME", help="a recipe (see cavitylab list)")
    p.add_argument("--quick", action="store_true", help="small sizes, short runs (under a minute)")
    p.add_argument("--out", metavar="DIR", help="output directory (default results/NAME)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("derive", help="print the derived equations of a model file")
    p.add_argument("model", metavar="MODEL.py", help="Python file that defines model = ...")
    p.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
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
    except (ValueError, OSError) as err:  # ModelError, CompileError, CookbookError, graphs
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
