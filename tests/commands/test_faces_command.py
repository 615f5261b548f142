"""difffake.commands.faces: its parser, its refusals (one line, exit 2) and the line it prints."""
from __future__ import annotations

import cv2
import pytest
from cli_support import command_parser, parse_error

from difffake.commands import faces
from difffake.errors import EXIT_OK, EXIT_USAGE


def _parser():
    return command_parser(faces)


def test_parser_defaults_and_help():
    args = _parser().parse_args(["S"])
    assert (args.store, args.ids, args.out, args.max_videos, args.per_video, args.tile) == \
        ("S", None, "faces.png", 8, 6, 128)
    args = _parser().parse_args(["S", "--ids", "a.mp4", "b.mp4", "--tile", "64", "--per-video", "2"])
    assert args.ids == ["a.mp4", "b.mp4"] and (args.tile, args.per_video) == (64, 2)
    text = _parser().format_help()
    for words in ("output PNG (default faces.png)", "rows (videos) at most (default 8)",
                  "frames per row (default 6)", "tile size in pixels (default 128)"):
        assert words in text


@pytest.mark.parametrize("argv, message", [
    (["S", "--tile", "big"], "argument --tile: invalid int value: 'big'"),
    (["S", "--max-videos", "1.5"], "argument --max-videos: invalid int value: '1.5'"),
    (["S", "--ids"], "argument --ids: expected at least one argument"),
    ([], "the following arguments are required: store"),
])
def test_bad_arguments_exit_2_naming_them(argv, message, capsys):
    assert parse_error(faces, argv, capsys) == (2, f"difffake faces: error: {message}")


def test_run_draws_the_chosen_ids_and_prints_the_sheet_size(tiny_store, tmp_path, capsys):
    out = tmp_path / "new" / "folder" / "sheet.png"   # parents are made
    args = _parser().parse_args([str(tiny_store.root), "--ids", "astro_2.mp4", "astro_0.mp4",
                                 "--max-videos", "1", "--per-video", "3", "--tile", "64", "--out", str(out)])
    assert faces.run(args) == EXIT_OK
    sheet = cv2.imread(str(out))
    assert sheet.shape == (64 + 18, 3 * 64, 3)   # one row (--max-videos 1), a label strip on top
    assert capsys.readouterr().out == f"wrote {out}: 1 videos x 3 frames (192x82 px)\n"


def test_run_names_every_missing_id(tiny_store, tmp_path, capsys):
    args = _parser().parse_args([str(tiny_store.root), "--ids", "astro_0.mp4", "x.mp4", "y/z.mp4",
                                 "--out", str(tmp_path / "s.png")])
    assert faces.run(args) == EXIT_USAGE
    assert capsys.readouterr().err == \
        f"difffake faces: error: {tiny_store.root}: not in the store: x.mp4, y/z.mp4\n"
    assert not (tmp_path / "s.png").exists()


def test_run_on_an_empty_store_says_so(tmp_path, capsys):
    from difffake.config import FaceConfig
    from difffake.faces.pipeline import store_settings
    from difffake.faces.store import FaceStore

    FaceStore(tmp_path / "empty", store_settings(FaceConfig()))
    assert faces.run(_parser().parse_args([str(tmp_path / "empty"), "--out", str(tmp_path / "s.png")])) == EXIT_USAGE
    assert capsys.readouterr().err == f"difffake faces: error: {tmp_path / 'empty'}: the store is empty\n"


def test_run_on_a_folder_that_is_no_store_says_so(tmp_path, capsys):
    assert faces.run(_parser().parse_args([str(tmp_path), "--out", str(tmp_path / "s.png")])) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("difffake faces: error: ") and str(tmp_path) in err and err.count("\n") == 1
    assert err.endswith("not a face store (no settings.json)\n"), err
    assert not (tmp_path / "s.png").exists()


def test_an_out_name_without_png_extension_still_gets_a_png(tiny_store, tmp_path, capsys):
    # cv2.imwrite chose the format by the extension and raised on none: exit 4 and a traceback
    out = tmp_path / "sheet"
    args = _parser().parse_args([str(tiny_store.root), "--max-videos", "1", "--per-video", "2", "--tile", "32",
                                 "--out", str(out)])
    assert faces.run(args) == EXIT_OK
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cv2.imread(str(out)).shape == (32 + 18, 2 * 32, 3)
    assert capsys.readouterr().out == f"wrote {out}: 1 videos x 2 frames (64x50 px)\n"


@pytest.mark.parametrize("where", ["a_folder", "under_a_file"])
def test_an_out_that_cannot_be_written_is_one_line_and_exit_2(where, tiny_store, tmp_path, capsys):
    if where == "a_folder":
        out = tmp_path / "taken.png"
        out.mkdir()
        reason = "Is a directory"
    else:
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "sheet.png"
        reason = "File exists"
    args = _parser().parse_args([str(tiny_store.root), "--max-videos", "1", "--out", str(out)])
    assert faces.run(args) == EXIT_USAGE   # was an OSError traceback, exit 4
    assert capsys.readouterr().err == f"difffake faces: error: {out}: could not write the PNG ({reason})\n"
