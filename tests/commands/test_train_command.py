"""difffake.commands.train: its parser, how the flags become the run's Config (preset or the
run's own config.json with --resume), the resume command it prints, and its refusal lines.
Training itself: tests/workflows/test_train_workflow.py."""
from __future__ import annotations

import dataclasses
import json
import shlex

import pytest
from cli_support import command_parser, parse_error

from difffake.commands import train
from difffake.config import preset
from difffake.errors import EXIT_USAGE


def _parser():
    return command_parser(train)


def _args(*extra, out="RUN"):
    return _parser().parse_args(["--store", "S", "--out", str(out), *extra])


def test_parser_defaults():
    a = _args()
    assert (a.store, a.out, a.preset, a.device, a.resume, a.force) == (["S"], "RUN", "cpu", "auto", False, False)
    assert all(getattr(a, k) is None for k in ("epochs", "lr", "pretrained", "workers", "threads", "split", "init"))
    assert _args("--store", "S2").store == ["S", "S2"]


def test_help_lists_exit_codes():
    text = " ".join(_parser().format_help().split())
    assert text.endswith("exit codes: 0 trained and exported; 2 bad arguments, weights not on this machine (see "
                         "--pretrained), or a store made with other face settings than the preset (see --force); "
                         "130 / 143 stopped by SIGINT / SIGTERM after saving a resumable state at a step boundary "
                         "(the command to resume is printed; `fit` takes the unfinished run)")


@pytest.mark.parametrize("argv, message", [
    (["--out", "R"], "the following arguments are required: --store"),
    (["--store", "S", "--out", "R", "--device", "gpu"], "argument --device: invalid choice: 'gpu'"),
    (["--store", "S", "--out", "R", "--preset", "fast"], "argument --preset: invalid choice: 'fast'"),
    (["--store", "S", "--out", "R", "--lr", "1e-3x"], "argument --lr: invalid float value: '1e-3x'"),
    (["--store", "S", "--out", "R", "--epochs", "2.5"], "argument --epochs: invalid int value: '2.5'"),
    (["--store", "S", "--out", "R", "--other-identity", "1.5"], "argument --other-identity: 1.5 is not a share"),
    (["--store", "S", "--out", "R", "--other-identity", "half"], "argument --other-identity: invalid share value"),
])
def test_bad_arguments_exit_2_naming_them(argv, message, capsys):
    code, line = parse_error(train, argv, capsys)
    assert code == 2 and line.startswith(f"difffake train: error: {message}")


def test_no_overrides_give_the_preset(tmp_path):
    assert train.build_config(_args(out=tmp_path / "run")) == preset("cpu")
    assert train.build_config(_args("--preset", "paper", out=tmp_path / "run")) == preset("paper")


def test_every_override_lands_in_its_field_and_nothing_else_moves(tmp_path):
    cfg = train.build_config(_args(
        "--epochs", "3", "--batch-size", "8", "--lr", "0.01", "--val-fraction", "0.3", "--workers", "2",
        "--seed", "7", "--val-fraction-photos", "0.1", "--steps-per-epoch", "0", "--no-sam",
        "--input-size", "96", "--pretrained", "none", "--domain-aug", "0.25", "--other-identity", "0.5",
        out=tmp_path / "run"))
    base = preset("cpu")
    assert cfg.train == dataclasses.replace(base.train, epochs=3, batch_size=8, lr=0.01, val_fraction=0.3,
                                            num_workers=2, seed=7, val_fraction_photos=0.1,
                                            steps_per_epoch=None, use_sam=False)
    assert cfg.backbone == dataclasses.replace(base.backbone, input_size=96, pretrained="none")
    assert cfg.synth == dataclasses.replace(base.synth, p_domain=0.25, p_other_identity=0.5)
    assert (cfg.faces, cfg.anomaly, cfg.preset) == (base.faces, base.anomaly, "cpu")
    assert train.build_config(_args("--steps-per-epoch", "40", out=tmp_path)).train.steps_per_epoch == 40


def test_lite2_package_brings_its_architecture_and_arch_overrides_it(tmp_path):
    lite2 = train.build_config(_args("--pretrained", "lite2-package", out=tmp_path)).backbone
    assert (lite2.name, lite2.pretrained) == ("tf_efficientnet_lite2", "lite2-package")
    assert lite2.input_size == preset("cpu").backbone.input_size          # the size stays the preset's
    named = train.build_config(_args("--pretrained", "none", "--arch", "resnet18", out=tmp_path)).backbone
    assert (named.name, named.pretrained) == ("resnet18", "none")


def test_resume_starts_from_the_runs_own_config(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    saved = dataclasses.replace(preset("paper"), train=dataclasses.replace(preset("paper").train, epochs=2))
    (run / "config.json").write_text(json.dumps(saved.to_dict()))
    cfg = train.build_config(_args("--resume", "--lr", "0.5", out=run))   # --preset cpu is ignored
    assert cfg == dataclasses.replace(saved, train=dataclasses.replace(saved.train, lr=0.5))
    assert train.build_config(_args(out=run)) == preset("cpu")   # without --resume the file is not read


def test_resume_command_repeats_what_the_run_needs(tmp_path):
    args = _args("--store", "my faces/b", "--device", "cpu", "--workers", "0", "--threads", "2",
                 "--epochs", "9", "--lr", "0.1", out="runs/first run")
    line = train.resume_command(args)
    assert line == ("difffake train --store S --store 'my faces/b' --out 'runs/first run' --resume "
                    "--device cpu --workers 0 --threads 2")
    assert shlex.split(line)[2:] == ["--store", "S", "--store", "my faces/b", "--out", "runs/first run", "--resume",
                                     "--device", "cpu", "--workers", "0", "--threads", "2"]
    assert train.resume_command(_args()) == "difffake train --store S --out RUN --resume"   # auto: left out
    resumed = _parser().parse_args(shlex.split(line)[2:])   # the printed line parses back to the same run
    assert (resumed.store, resumed.out, resumed.resume, resumed.workers) == (args.store, args.out, True, 0)


def test_a_refused_store_is_one_error_line_and_exit_2(tmp_path, capsys):
    args = _args("--device", "cpu", out=tmp_path / "run")
    args.store = [str(tmp_path / "no_store")]
    assert train.run(args) == EXIT_USAGE
    errors = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
    assert errors == [f"difffake train: error: {tmp_path / 'no_store'}: not a face store (no settings.json)"]
    assert not (tmp_path / "run" / "config.json").exists()
