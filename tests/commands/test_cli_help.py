"""The command as people meet it: help text on every option, a top-level help that says what
the tool does, no third-party log lines by default, -v for more and -q for less."""
from __future__ import annotations

import argparse
import re

import pytest
from cli_support import run_difffake

from difffake.cli import SUBCOMMANDS, build_parser


def difffake_cli(*args, env_extra=None, timeout=300):
    """(exit code, stdout, stderr) of `python -m difffake ARGS` run on this checkout's source."""
    proc = run_difffake(*args, env_extra=env_extra, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def _parsers(parser, name="difffake"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_of_every_subcommand_has_help():
    parsers = dict(_parsers(build_parser()))
    assert set(SUBCOMMANDS) <= {name.split()[-1] for name in parsers}, "a subcommand did not load"
    missing = [f"{name}: {'/'.join(action.option_strings) or action.dest}"
               for name, parser in parsers.items() for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction) and not action.help]
    assert not missing, "options without help text:\n" + "\n".join(missing)


def test_top_level_help_opens_with_what_the_tool_does():
    code, out, err = difffake_cli("--help")
    assert code == 0, err
    usage, _, rest = out.partition("\n\n")
    description = rest[:rest.index("positional arguments")]
    assert usage.startswith("usage: difffake")
    assert description.startswith("difffake tells whether a video or photo of a face is a deepfake")
    assert "difffake scan VIDEO" in description
    assert "difffake.commands" not in out and "subcommand lives in" not in out   # not the module docstring
    examples = out[out.index("examples:"):]
    for name in ("scan", "serve", "prepare", "train", "fit", "evaluate"):
        assert f"difffake {name} " in examples, f"no example of `difffake {name}`"


def test_evaluate_help_lists_every_dataset_kind():
    from difffake.datasets import READERS

    code, out, _ = difffake_cli("evaluate", "--help")
    assert code == 0
    kinds = out[out.index("dataset options"):]
    for kind in READERS:   # a heading "  kind:" / "  kind (also ...):", or named as an alias
        assert re.search(rf"^  {kind}[ :]|also {kind}\b", kinds, re.M), f"{kind} not listed in evaluate --help"


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory, astronaut_rgb):
    from PIL import Image

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(astronaut_rgb).save(path)
    return path


@pytest.mark.parametrize("kind", ["image", "video"])
def test_scan_report_prints_no_matplotlib_line_with_a_fresh_font_cache(kind, tmp_path, astronaut_png,
                                                                       synthetic_videos):
    # A fresh MPLCONFIGDIR makes matplotlib build its font cache and log "generated new
    # fontManager" (INFO) when the report draws its figures (the video's do; the photo gets no score).
    media = astronaut_png if kind == "image" else sorted(synthetic_videos.glob("*.mp4"))[0]
    report = tmp_path / "R.html"
    code, _, err = difffake_cli("scan", media, "--report", report,
                                env_extra={"MPLCONFIGDIR": str(tmp_path / "fresh_mpl")})
    assert code == (3 if kind == "image" else 0), err   # the photo: one frame, too few for pairs
    assert report.is_file() and report.stat().st_size > 1000
    assert (tmp_path / "fresh_mpl").is_dir() or kind == "image", "matplotlib was not used: the test proves nothing"
    noisy = [ln for ln in err.splitlines() if "matplotlib" in ln.lower() or "fontmanager" in ln.lower()
             or "font cache" in ln.lower()]
    assert not noisy, noisy


@pytest.fixture(scope="module")
def truncated_video(tmp_path_factory, synthetic_videos):
    src = sorted(synthetic_videos.glob("*.mp4"))[0].read_bytes()
    path = tmp_path_factory.mktemp("truncated") / "cut.mp4"
    path.write_bytes(src[: len(src) // 3])   # no moov atom: FFmpeg says so at debug level
    return path


def test_verbose_turns_on_debug_lines(truncated_video):
    code, _, quiet_err = difffake_cli("scan", truncated_video)
    assert code == 3, quiet_err
    assert not [ln for ln in quiet_err.splitlines() if ln.startswith("DEBUG")], quiet_err
    code, _, err = difffake_cli("-v", "scan", truncated_video)
    assert code == 3, err
    assert any(ln.startswith("DEBUG ffmpeg") for ln in err.splitlines()), err   # difffake's own debug line


def test_quiet_removes_info_lines(tmp_path):
    # `train` says how many DataLoader workers it uses (INFO) before it opens the store
    args = ("train", "--store", tmp_path / "no_store", "--out", tmp_path / "run")
    code, _, err = difffake_cli(*args)
    assert code == 2
    assert any(ln.startswith("INFO ") for ln in err.splitlines()), err
    code, _, err = difffake_cli("-q", *args)
    assert code == 2
    assert not [ln for ln in err.splitlines() if ln.startswith("INFO ")], err
    assert err.strip().endswith("not a face store (no settings.json)"), err   # errors stay
