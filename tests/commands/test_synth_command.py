"""difffake.commands.synth: its parser, the line it prints, and its refusals (exit 2, one line).
The sheet's layout and its seed: tests/commands/test_synthesis_cli.py."""
from __future__ import annotations

import cv2
import pytest
from cli_support import command_parser, parse_error

from difffake.commands import synth
from difffake.errors import EXIT_OK, EXIT_USAGE


def _parser():
    return command_parser(synth)


def test_parser_defaults_and_help():
    a = _parser().parse_args(["S"])
    assert (a.store, a.out, a.seed, a.rows_per_type, a.tile, a.max_videos) == ("S", "synth.png", 0, 2, 160, 64)
    text = " ".join(_parser().format_help().split())
    for words in ("output PNG (default synth.png)", "random seed (default 0)", "rows per mask type (default 2)",
                  "tile size in pixels (default 160)", "to pick faces from (default 64)"):
        assert words in text, words


@pytest.mark.parametrize("argv, message", [
    (["S", "--seed", "x"], "argument --seed: invalid int value: 'x'"),
    (["S", "--rows-per-type"], "argument --rows-per-type: expected one argument"),
    ([], "the following arguments are required: store"),
])
def test_bad_arguments_exit_2_naming_them(argv, message, capsys):
    assert parse_error(synth, argv, capsys) == (2, f"difffake synth: error: {message}")


def _run(store, out, *extra):
    return synth.run(_parser().parse_args([str(store), "--out", str(out), "--rows-per-type", "1", "--tile", "32",
                                           *extra]))


def test_run_prints_faces_videos_and_the_sheet_size(tiny_store, tmp_path, capsys):
    out = tmp_path / "made" / "sheet.png"
    assert _run(tiny_store.root, out, "--max-videos", "1") == EXIT_OK
    h, w = cv2.imread(str(out)).shape[:2]
    line = capsys.readouterr().out
    faces = len(tiny_store.load(sorted(tiny_store.ids())[0]).face_positions())
    assert line == f"wrote {out}: {faces} faces from 1 videos, {w}x{h} px\n"   # a video: its face frames


def test_an_out_name_without_png_extension_still_gets_a_png(tiny_store, tmp_path, capsys):
    # cv2.imwrite chose the format by the extension and raised on none: exit 4 and a traceback
    out = tmp_path / "sheet"
    assert _run(tiny_store.root, out, "--max-videos", "1") == EXIT_OK
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.startswith(f"wrote {out}: ")


def test_an_out_that_is_a_folder_is_one_line_and_exit_2(tiny_store, tmp_path, capsys):
    out = tmp_path / "taken.png"
    out.mkdir()
    assert _run(tiny_store.root, out, "--max-videos", "1") == EXIT_USAGE
    assert capsys.readouterr().err == f"difffake synth: error: {out}: could not write the PNG (Is a directory)\n"


def test_a_store_without_faces_says_so(tmp_path, capsys):
    from difffake.config import FaceConfig
    from difffake.faces.pipeline import store_settings
    from difffake.faces.store import FaceStore

    FaceStore(tmp_path / "empty", store_settings(FaceConfig()))
    assert _run(tmp_path / "empty", tmp_path / "s.png") == EXIT_USAGE
    assert capsys.readouterr().err == f"difffake synth: error: {tmp_path / 'empty'}: no faces in the store\n"
    assert not (tmp_path / "s.png").exists()


def test_a_folder_that_is_no_store_says_so(tmp_path, capsys):
    assert _run(tmp_path, tmp_path / "s.png") == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == f"difffake synth: error: {tmp_path}: not a face store (no settings.json)\n"
