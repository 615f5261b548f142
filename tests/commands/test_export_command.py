"""difffake.commands.export: its parser and the line it prints after writing backbone.onnx."""
from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import command_parser, parse_error

from difffake.commands import export


def _parser():
    return command_parser(export)


def test_parser_takes_a_folder_and_an_optional_opset():
    args = _parser().parse_args(["det"])
    assert args.detector == Path("det") and isinstance(args.detector, Path) and args.opset is None
    assert _parser().parse_args(["det", "--opset", "18"]).opset == 18
    text = _parser().format_help()
    assert "detector folder made by `difffake fit`" in text and "ONNX opset (default 17)" in text
    assert export.NAME == "export" and "without torch" in export.HELP


@pytest.mark.parametrize("argv, message", [
    (["det", "--opset", "seventeen"], "argument --opset: invalid int value: 'seventeen'"),
    ([], "the following arguments are required: detector"),
])
def test_bad_arguments_exit_2_naming_them(argv, message, capsys):
    assert parse_error(export, argv, capsys) == (2, f"difffake export: error: {message}")


def test_run_on_a_folder_without_model_json_raises_the_users_mistake(tmp_path):
    from difffake.errors import USER_MISTAKES

    # the writing and its printed parity line: tests/backbone/test_onnx_engine.py (an export takes ~8 s)
    with pytest.raises(USER_MISTAKES) as exc:
        export.run(_parser().parse_args([str(tmp_path / "nowhere")]))
    assert "nowhere" in str(exc.value) and "model.json" in str(exc.value)
    assert not (tmp_path / "nowhere").exists()
