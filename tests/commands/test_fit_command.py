"""difffake.commands.fit: its parser (required flags, defaults, choices, aliases) and how the
flags become the AnomalyConfig of the fit. The fit itself: tests/workflows, tests/commands/test_exit_codes.py."""
from __future__ import annotations

import dataclasses

import pytest
from cli_support import command_parser, parse_error

from difffake.anomaly.densities import density_names
from difffake.commands import fit
from difffake.config import AnomalyConfig

REQUIRED = ["--backbone", "B", "--store", "S", "--out", "D"]


def _parser():
    return command_parser(fit)


def _args(*extra):
    return _parser().parse_args([*REQUIRED, *extra])


def test_defaults_of_the_workflow_options():
    a = _args()
    assert (a.backbone, a.store, a.out) == ("B", ["S"], "D")
    assert (a.split_by, a.calibration, a.folds, a.pseudo_seed, a.note) == ("group", None, 5, 0, "")
    assert (a.no_fusion, a.no_degraded, a.no_exclude, a.allow_small_calibration) == (False,) * 4
    assert a.basis is None and a.cache is None and a.ids_file is None and a.cal_ids_file is None
    assert a.other_identity_twins == 0.0 and _args("--other-identity-twins", "0.5").other_identity_twins == 0.5


def test_store_repeats_and_split_by_group_is_an_alias():
    a = _args("--store", "S2", "--split-by", "video")
    assert a.store == ["S", "S2"] and a.split_by == "video"
    assert _args("--split-by", "video", "--split-by-group").split_by == "group"


def test_no_flags_give_the_default_anomaly_config():
    assert fit.anomaly_config(_args()) == AnomalyConfig()


def test_every_model_flag_lands_in_its_field():
    cfg = fit.anomaly_config(_args(
        "--combine", "abs", "--density", "knn", "--pairing", "consecutive", "--gmm-covariance", "diag",
        "--gmm-components", "2", "--knn-k", "7", "--video-reduce", "trimmed", "--target-fpr", "0.1",
        "--seed", "3", "--calibration-fraction", "0.25", "--pca", "16"))
    want = dataclasses.replace(AnomalyConfig(), combine="abs", density="knn", pairing="consecutive",
                               gmm_covariance="diag", gmm_components=2, knn_k=7, video_reduce="trimmed",
                               target_fpr=0.1, seed=3, calibration_fraction=0.25, pca_dims=16)
    assert cfg == want


def test_pca_0_means_no_pca_and_an_unset_pca_keeps_the_default():
    assert fit.anomaly_config(_args("--pca", "0")).pca_dims is None
    assert fit.anomaly_config(_args()).pca_dims == AnomalyConfig().pca_dims == 32
    assert fit.anomaly_config(_args("--seed", "0")).seed == 0   # an explicit 0 is kept, not dropped


def test_density_choices_are_the_registered_densities(capsys):
    for name in density_names():
        assert fit.anomaly_config(_args("--density", name)).density == name
    with pytest.raises(SystemExit) as exc:
        _args("--density", "bogus")
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("difffake fit: error: argument --density: invalid choice: 'bogus'")
    assert all(name in err for name in density_names())


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: --backbone, --store, --out"),
    (["--backbone", "B", "--out", "D"], "the following arguments are required: --store"),
    ([*REQUIRED, "--folds", "five"], "argument --folds: invalid int value: 'five'"),
    ([*REQUIRED, "--target-fpr", "5%"], "argument --target-fpr: invalid float value: '5%'"),
    ([*REQUIRED, "--other-identity-twins", "2"], "argument --other-identity-twins: 2 is not a share in [0, 1]"),
])
def test_bad_arguments_exit_2_naming_them(argv, message, capsys):
    assert parse_error(fit, argv, capsys) == (2, f"difffake fit: error: {message}")


@pytest.mark.parametrize("flag, value, choices", [
    ("--calibration", "bootstrap", ("crossfit", "holdout")),
    ("--basis", "votes", ("fused", "differential", "classifier")),
    ("--split-by", "person", ("group", "video")),
    ("--combine", "mul", ("abs", "sub", "sq", "cube", "single")),
])
def test_a_bad_choice_exits_2_listing_the_choices(flag, value, choices, capsys):
    with pytest.raises(SystemExit) as exc:
        _args(flag, value)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    head = f"difffake fit: error: argument {flag}: invalid choice: '{value}' (choose from "
    assert err.startswith(head), err
    assert [c.strip("'") for c in err[len(head):-1].split(", ")] == list(choices)   # quoting varies by Python


def test_help_states_the_defaults():
    text = " ".join(_parser().format_help().split())
    for words in ("crossfit (default)", "(default 0.3)", "default sq", "Gaussian mixture (default)",
                  "(default 3)", "(default 5)", "(default 0.05)", "alias of --split-by group"):
        assert words in text, words
