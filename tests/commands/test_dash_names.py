"""difffake.commands.dash_names: a file name starting with '-' is named in the parser's error,
with the two fixes; every other error keeps argparse's own message."""
from __future__ import annotations

import argparse

from cli_support import parse_error

from difffake.commands.dash_names import _dash_name, explain_dash_names


def _parser(command: str = "scan") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"difffake {command}")
    p.add_argument("inputs", nargs="+")
    p.add_argument("--store")
    p.add_argument("-q", action="store_true")
    explain_dash_names(p, command)
    return p


def _error(parser, args, capsys) -> str:
    code, line = parse_error(parser, args, capsys)
    assert code == 2
    return line


def test_a_dash_media_name_alone_is_named_with_both_fixes(capsys):
    # argparse's own message would be "the following arguments are required: inputs"
    assert _error(_parser("prepare"), ["-clip.mp4", "--store", "s"], capsys) == (
        "difffake prepare: error: '-clip.mp4' is read as an option, not a file name: "
        "use `difffake prepare -- -clip.mp4` or ./-clip.mp4")


def test_a_dash_media_name_after_a_good_input_is_named_too(capsys):
    # argparse's own message would be "unrecognized arguments: -Photo.JPG"
    err = _error(_parser("scan"), ["real.mp4", "-Photo.JPG"], capsys)
    assert err == ("difffake scan: error: '-Photo.JPG' is read as an option, not a file name: "
                   "use `difffake scan -- -Photo.JPG` or ./-Photo.JPG")


def test_an_existing_dash_file_without_a_media_extension_is_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "-notes").write_text("x")
    monkeypatch.chdir(tmp_path)
    err = _error(_parser(), ["a.mp4", "-notes"], capsys)
    assert "'-notes' is read as an option" in err and "`difffake scan -- -notes`" in err


def test_other_errors_keep_argparse_messages(capsys):
    assert _error(_parser(), ["a.mp4", "--bogus"], capsys) == \
        "difffake scan: error: unrecognized arguments: --bogus"
    assert _error(_parser(), ["--store", "s"], capsys) == \
        "difffake scan: error: the following arguments are required: inputs"


def test_double_dash_and_dot_slash_parse_the_dash_name_as_a_file():
    p = _parser()
    assert p.parse_args(["--", "-clip.mp4"]).inputs == ["-clip.mp4"]
    assert p.parse_args(["./-clip.mp4", "b.mp4", "-q"]).inputs == ["./-clip.mp4", "b.mp4"]
    ns, extras = p.parse_known_args(["a.mp4", "--bogus"])   # not a file: left to the caller
    assert ns.inputs == ["a.mp4"] and extras == ["--bogus"]


def test_what_counts_as_a_dash_name(tmp_path, monkeypatch):
    p = _parser()
    assert _dash_name("-clip.mp4", p) and _dash_name("-x.PNG", p)
    for arg in ("clip.mp4", "-", "--", "-q", "--store", "--store=x.mp4", "-5", "--bogus"):
        assert not _dash_name(arg, p), arg
    monkeypatch.chdir(tmp_path)
    assert not _dash_name("-data", p)
    (tmp_path / "-data").mkdir()
    assert _dash_name("-data", p)   # an existing folder counts, whatever its name
