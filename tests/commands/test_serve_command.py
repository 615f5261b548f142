"""difffake.commands.serve: its parser and every refusal made before a detector is loaded or a
port is opened (exit 2, one line). The server itself: tests/serve."""
from __future__ import annotations

import pytest
from cli_support import command_parser

from difffake.commands import serve
from difffake.errors import EXIT_USAGE


def _parser():
    return command_parser(serve)


def test_defaults_are_the_safe_ones():
    a = _parser().parse_args([])
    assert (a.host, a.port, a.detector, a.token, a.max_upload) == ("127.0.0.1", 8000, None, None, "2G")
    assert (a.retention_hours, a.workers, a.queue, a.device) == (24.0, 1, 4, "cpu")


def test_help_keeps_the_api_lines_as_written():
    text = _parser().format_help()
    assert text.endswith(serve.EPILOG + "\n")   # RawDescriptionHelpFormatter: the table is not re-wrapped
    assert "  DELETE /api/scans/{id}          delete the result now" in text
    flat = " ".join(text.split())
    assert "(default: $DIFFFAKE_TOKEN if set)" in flat and "(default loopback; any other needs --token)" in flat


@pytest.mark.parametrize("argv, message", [
    (["--port", "http"], "argument --port: invalid int value: 'http'"),
    (["--retention-hours", "a day"], "argument --retention-hours: invalid float value: 'a day'"),
    (["--queue", "1.5"], "argument --queue: invalid int value: '1.5'"),
])
def test_bad_values_exit_2_naming_them(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"difffake serve: error: {message}"


def _refused(argv, capsys) -> str:
    assert serve.run(_parser().parse_args(argv)) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    return captured.err.rstrip("\n")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_a_reachable_host_needs_a_token(host, capsys, monkeypatch):
    monkeypatch.delenv("DIFFFAKE_TOKEN", raising=False)
    assert _refused(["--host", host], capsys) == (
        f"difffake serve: error: --host {host} is reachable from other machines: "
        "give --token (or set DIFFFAKE_TOKEN)")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_token_from_the_flag_or_the_environment_passes_the_host_check(how, capsys, monkeypatch):
    # the next check (a bad --max-upload) refuses, so nothing is loaded or opened
    monkeypatch.delenv("DIFFFAKE_TOKEN", raising=False)
    argv = ["--host", "0.0.0.0", "--max-upload", "lots"]
    if how == "flag":
        argv += ["--token", "s3cret"]
    else:
        monkeypatch.setenv("DIFFFAKE_TOKEN", "s3cret")
    assert _refused(argv, capsys) == ("difffake serve: error: --max-upload: not a size: 'lots' "
                                      "(use e.g. 2G, 500M or a number of bytes)")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2", "::1", "[::1]"])
def test_loopback_hosts_need_no_token(host, capsys, monkeypatch):
    monkeypatch.delenv("DIFFFAKE_TOKEN", raising=False)
    assert _refused(["--host", host, "--max-upload", "0"], capsys) == \
        "difffake serve: error: --max-upload: size must be positive, got '0'"


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--queue", "-1"], ["--retention-hours", "0"]])
def test_worker_queue_and_retention_limits(argv, capsys):
    assert _refused(argv, capsys) == \
        "difffake serve: error: --workers >= 1, --queue >= 0 and --retention-hours > 0"


def test_an_unknown_device_is_a_usage_error_before_anything_else():
    from difffake.errors import UsageError

    with pytest.raises(UsageError, match="--device tpu9: not a device torch knows"):
        serve.run(_parser().parse_args(["--device", "tpu9", "--workers", "0"]))
