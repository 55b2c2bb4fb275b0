"""The ``bptt`` command: a click group whose subcommands load lazily.

Keeping heavy imports (SymPy, matplotlib, Jinja) inside the subcommands keeps
``bptt --help`` fast.  Other packages add subcommands through the
``bptt.commands`` entry-point group (``derive`` never imports ``quiz``).
"""
from __future__ import annotations

import importlib
import sys

import click

from . import __version__

# name -> "module:attribute"; help text shown without importing the module.
COMMANDS = {
    "derive": ("derive.commands:derive_cmd", "Derive Jacobians and BPTT gradients of a cell, step by step."),
    "grad": ("derive.commands:grad_cmd", "Gradients of a PyTorch-layout RNN/LSTM/GRU or a cell file."),
    "init": ("derive.cmd_init:init_cmd", "Write random RNN/LSTM/GRU weights in PyTorch state_dict layout."),
    "flow": ("derive.cmd_flow:flow_cmd", "Gradient-flow experiments: norm decay, clipping, activation slopes."),
    "check": ("derive.cmd_check:check_cmd", "Gradient check: symbolic vs numpy vs central differences vs torch."),
}


def _plugins() -> dict:
    """Commands other packages add: an entry point names a subcommand or a table like COMMANDS."""
    from importlib.metadata import entry_points
    out = {}
    for ep in entry_points(group="bptt.commands"):
        if ep.name in COMMANDS:
            continue
        if ep.name.endswith("-table"):
            out.update({k: v for k, v in ep.load().items() if k not in COMMANDS})
        else:
            out[ep.name] = (ep.value, "")
    return out


class LazyGroup(click.Group):
    """Resolve subcommands on first use."""

    def _table(self):
        return {**COMMANDS, **_plugins()}

    def list_commands(self, ctx):
        return sorted(self._table())

    def get_command(self, ctx, name):
        target = self._table().get(name)
        if target is None:
            return None
        module, attr = target[0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        rows = [(n, h or "") for n, (_, h) in sorted(self._table().items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bptt")
def cli():
    """bptt: derive, check and practise backpropagation through time."""


def main(argv=None):
    """Console entry point: bad input becomes one line on stderr and exit code 2."""
    from .errors import BpttError
    try:
        rv = cli.main(args=argv, prog_name="bptt", standalone_mode=False)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
    except BpttError as err:
        click.echo(f"bptt: error: {err}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("bptt: aborted", err=True)
        sys.exit(130)
    except click.UsageError as err:
        cmd = err.ctx.command_path if err.ctx else "bptt"
        click.echo(f"bptt: error: {err.format_message()}; see '{cmd} --help'", err=True)
        sys.exit(2)
    except click.ClickException as err:
        click.echo(f"bptt: error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:  # a bug, not bad input: one line unless debugging
        import os
        if os.environ.get("BPTT_DEBUG"):
            raise
        click.echo(f"bptt: internal error: {type(err).__name__}: {err} "
                   "(rerun with BPTT_DEBUG=1 for the traceback and please report it)", err=True)
        sys.exit(70)


if __name__ == "__main__":
    main()
