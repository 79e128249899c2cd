"""The ``ganforge`` command: a module per subcommand (train, sample, eval, translate, bench,
runs, plot, export, app), each with its ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

from ganforge.errors import GanforgeError
from ganforge.version import __version__


def commands() -> dict[str, ModuleType]:
    """The subcommands' modules. Imported when a command line is read, inside :func:`main`'s
    error handling: they load torch, and a Ctrl-C meanwhile is an interrupt, not a
    traceback."""
    from ganforge.cli import app, bench, export, plot, runs, sample, train, translate
    from ganforge.cli import eval as evaluate

    return {"train": train, "sample": sample, "eval": evaluate, "translate": translate,
            "bench": bench, "runs": runs, "plot": plot, "export": export,
            "app": app}


LIGHT_COMMANDS = ("runs", "plot")


def light_parser(argv: Sequence[str]) -> argparse.ArgumentParser | None:
    """The parser of a command that needs no torch (``runs``, ``plot``), built without
    importing the others, so it answers at once; None for the rest."""
    if not argv or argv[0] not in LIGHT_COMMANDS:
        return None
    parser = argparse.ArgumentParser(prog="ganforge")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _light_module(argv[0]).add_parser(sub)
    return parser


def _light_module(name: str) -> ModuleType:
    from ganforge.cli import plot, runs

    return {"runs": runs, "plot": plot}[name]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganforge", description="Train and sample generative adversarial networks.")
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands().values():
        command.add_parser(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"ganforge: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command. Every failure a user can cause or meet ends in one line on stderr and a
    non-zero exit code: 2 for an error, 130 for Ctrl-C (128 + the signal, as shells report
    it), 141 when the reader of stdout went away (`ganforge ... | head`)."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            argv = list(sys.argv[1:] if argv is None else argv)
            light = light_parser(argv)
            if light is not None:
                return _light_module(argv[0]).run(light.parse_args(argv))
            args = build_parser().parse_args(argv)
            return commands()[args.command].run(args)
    except GanforgeError as e:
        print(f"ganforge: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganforge: interrupted (Ctrl-C)", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit; point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except OSError as e:
        # The machine's limits (a full disk, a read-only folder, a path through a file): the
        # file and the reason, not a traceback.
        where = f"{e.filename}: " if e.filename else ""
        print(f"ganforge: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2

