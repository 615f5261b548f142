"""difffake.commands.prepare: its parser (with the Ray group and the '-name' explanation),
--frames checked before any work, and the summary it prints. Batches, resume and failures:
tests/workflows/test_prepare.py."""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from cli_support import command_parser, parse_error

from difffake.commands import prepare
from difffake.errors import EXIT_OK, EXIT_USAGE


def _parser():
    return command_parser(prepare)


def test_parser_defaults():
    a = _parser().parse_args(["v.mp4", "dir", "--store", "S"])
    assert (a.inputs, a.store, a.frames, a.workers, a.preset) == (["v.mp4", "dir"], "S", None, 1, "cpu")
    assert (a.ray, a.actors, a.dry_run) == (None, None, False)
    assert _parser().parse_args(["v", "--store", "S", "--ray"]).ray == "local"
    assert _parser().parse_args(["v", "--store", "S", "--ray", "auto", "--actors", "3"]).actors == 3


def test_help_lists_exit_codes_and_the_ray_group():
    text = " ".join(_parser().format_help().split())
    assert "exit codes: 0 every input stored; 2 bad arguments or a store made with other settings; 3 some " \
           "inputs could not be read (each listed as 'FAILED path: reason' on stderr and in " \
           "STORE/failures.json), the others were stored" in text
    assert "Ray (distributed):" in text and "--dry-run" in text and "--out" not in text
    assert "(default: the preset's, cpu 32, paper 40)" in text


@pytest.mark.parametrize("argv, message", [
    (["v.mp4"], "the following arguments are required: --store"),
    (["--store", "S"], "the following arguments are required: ROOT_OR_FILE"),
    (["v.mp4", "--store", "S", "--preset", "gpu"], "argument --preset: invalid choice: 'gpu'"),
    (["v.mp4", "--store", "S", "--workers", "two"], "argument --workers: invalid int value: 'two'"),
    (["-clip.mp4", "--store", "S"],
     "'-clip.mp4' is read as an option, not a file name: use `difffake prepare -- -clip.mp4` or ./-clip.mp4"),
])
def test_bad_arguments_exit_2_naming_them(argv, message, capsys):
    code, line = parse_error(prepare, argv, capsys)
    assert code == 2 and line.startswith(f"difffake prepare: error: {message}")


@pytest.mark.parametrize("frames", ["0", "-3"])
def test_frames_below_1_is_refused_before_the_store_is_made(frames, tmp_path, capsys):
    args = _parser().parse_args([str(tmp_path / "v.mp4"), "--store", str(tmp_path / "S"), "--frames", frames])
    assert prepare.run(args) == EXIT_USAGE
    assert capsys.readouterr().err == "difffake prepare: error: --frames must be >= 1\n"
    assert not (tmp_path / "S").exists()


SUMMARY = re.compile(r"prepare: (\d+) inputs, (\d+) already in store, (\d+) processed, (\d+) failed; "
                     r"(\d+) frames, (\d+) with a face \((\d+\.\d)%\); (\d+) without any face; "
                     r"\d+\.\d s \(\d+\.\d frames/s, (\d+) workers\)")


@pytest.fixture(scope="module")
def photos(tmp_path_factory, astronaut_rgb):
    folder = tmp_path_factory.mktemp("photos")
    cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "grey.png"), np.full((96, 128, 3), 128, np.uint8))
    return folder


def test_summary_line_and_the_no_face_list(photos, tmp_path, capsys):
    store = tmp_path / "S"
    args = _parser().parse_args([str(photos / "face.png"), str(photos / "grey.png"), "--store", str(store)])
    assert prepare.run(args) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2, out
    m = SUMMARY.fullmatch(out[0])
    assert m, out[0]
    assert m.groups() == ("2", "0", "2", "0", "2", "1", "50.0", "1", "1")   # a photo is one frame
    assert out[1] == "no face in: grey.png"
    # again: both found in the store, nothing processed, no frame counted
    assert prepare.run(args) == EXIT_OK
    m = SUMMARY.fullmatch(capsys.readouterr().out.splitlines()[0])
    assert m and m.groups()[:7] == ("2", "2", "0", "0", "0", "0", "0.0")


def test_face_search_is_recorded_and_a_store_keeps_its_own(photos, tmp_path, capsys):
    import json

    store = tmp_path / "S"
    near = [str(photos / "face.png"), "--store", str(store), "--face-search", "near"]
    assert prepare.run(_parser().parse_args(near)) == EXIT_OK
    assert json.loads((store / "settings.json").read_text())["roi_search"] is True
    capsys.readouterr()
    whole = near[:-1] + ["whole"]
    assert prepare.run(_parser().parse_args(whole)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"difffake prepare: error: {store}: face store was made with settings") and "'roi_search': True" in err
    assert _parser().parse_args(["v", "--store", "S"]).face_search is None   # the preset decides
