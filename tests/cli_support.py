"""Run the real `difffake` command on this checkout's source (the CLI tests' one way to do it)."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_difffake(*args, env_extra=None, timeout=300) -> subprocess.CompletedProcess:
    """`python -m difffake ARGS` with src/ first on the path, stdin closed, output captured."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "difffake", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def command_parser(module):
    """The argparse parser a commands/ module builds, under its `difffake NAME` prog."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"difffake {module.NAME}")
    module.add_arguments(parser)
    return parser


def parse_error(module_or_parser, argv, capsys) -> tuple[int, str]:
    """(exit code, last stderr line) of parsing argv that the parser (a commands/ module's, or
    the one given) refuses."""
    import pytest

    parser = (command_parser(module_or_parser) if hasattr(module_or_parser, "add_arguments")
              else module_or_parser)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(argv)
    return exc.value.code, capsys.readouterr().err.strip().splitlines()[-1]
