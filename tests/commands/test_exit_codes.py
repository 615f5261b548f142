"""Every user mistake, driven through the real command line (`python -m difffake ...` in a
subprocess): exit 2, ONE line on stderr that names the file or flag and the reason, and
no traceback. Exit 4 is for bugs only (src/difffake/errors.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import run_difffake

import difffake
from difffake.errors import EXIT_USAGE

REPO = Path(__file__).resolve().parents[2]
SHIPPED = Path(difffake.__file__).resolve().parent / "models" / "default"


def difffake_cli(*args, env_extra=None, timeout=300):
    """(exit code, stderr lines) of `python -m difffake ARGS` run on this checkout's source."""
    proc = run_difffake(*args, env_extra=env_extra, timeout=timeout)
    return proc.returncode, proc.stderr.splitlines()


def assert_user_mistake(code, lines, *named):
    """Exit 2; exactly one error line, the last one, naming every string in `named`."""
    text = "\n".join(lines)
    assert "Traceback" not in text, text
    assert code == EXIT_USAGE, f"exit {code}, stderr:\n{text}"
    errors = [ln for ln in lines if "error:" in ln]
    assert len(errors) == 1 and lines[-1] == errors[0], f"want one error line, got:\n{text}"
    for word in named:
        assert word in errors[0], f"{word!r} not named in {errors[0]!r}"


@pytest.fixture(scope="module")
def photo(tmp_path_factory, astronaut_rgb):
    from PIL import Image

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(astronaut_rgb).save(path)
    return path


# --- evaluate: dataset specs and roots ---

def test_evaluate_missing_dataset_root(tmp_path):
    code, lines = difffake_cli("evaluate", "--dataset", f"ffpp:{tmp_path / 'no_such_root'}",
                               "--out", tmp_path / "out")
    assert_user_mistake(code, lines, "no_such_root", "not a folder")


def test_evaluate_unknown_dataset_kind(tmp_path):
    code, lines = difffake_cli("evaluate", "--dataset", f"bogus:{tmp_path}", "--out", tmp_path / "out")
    assert_user_mistake(code, lines, "bogus", "unknown dataset kind")


def test_evaluate_dataset_spec_without_root(tmp_path):
    code, lines = difffake_cli("evaluate", "--dataset", "nocolon", "--out", tmp_path / "out")
    assert_user_mistake(code, lines, "nocolon", "KIND:ROOT")


def test_evaluate_unknown_dataset_option(tmp_path):
    code, lines = difffake_cli("evaluate", "--dataset", f"ffpp,wrongopt=1:{tmp_path}", "--out", tmp_path / "out")
    assert_user_mistake(code, lines, "wrongopt", "unknown option")


def test_evaluate_missing_csv_list(tmp_path):
    code, lines = difffake_cli("evaluate", "--dataset", f"csv:{tmp_path / 'labels.csv'}", "--out", tmp_path / "out")
    assert_user_mistake(code, lines, "labels.csv", "not found")


def test_evaluate_variants_with_a_detector_whose_fit_stores_are_gone(tmp_path, synthetic_folder_dataset):
    # the shipped detector's model.json names the stores it was fitted on, which are not here
    code, lines = difffake_cli("evaluate", "--detector", SHIPPED, "--dataset", f"folder:{synthetic_folder_dataset}",
                               "--out", tmp_path / "out", "--variants", "sq:gmm", "--bootstrap", "10")
    assert_user_mistake(code, lines, "model.json")


# --- fit: backbone, stores, id files ---

def test_fit_missing_backbone_folder(tmp_path, tiny_store):
    code, lines = difffake_cli("fit", "--backbone", tmp_path / "no_backbone", "--store", tiny_store.root,
                               "--out", tmp_path / "det")
    assert_user_mistake(code, lines, "no_backbone", "no backbone.json")


def test_fit_backbone_without_weights(tmp_path, tiny_store):
    folder = tmp_path / "backbone"
    folder.mkdir()
    (folder / "backbone.json").write_text((SHIPPED / "backbone.json").read_text())
    code, lines = difffake_cli("fit", "--backbone", folder, "--store", tiny_store.root, "--out", tmp_path / "det")
    assert_user_mistake(code, lines, "backbone.safetensors", "missing")


def test_fit_missing_store(tmp_path):
    code, lines = difffake_cli("fit", "--backbone", SHIPPED, "--store", tmp_path / "no_store",
                               "--out", tmp_path / "det")
    assert_user_mistake(code, lines, "no_store", "not a face store")


def test_fit_missing_ids_file(tmp_path, tiny_store):
    code, lines = difffake_cli("fit", "--backbone", SHIPPED, "--store", tiny_store.root, "--out", tmp_path / "det",
                               "--ids-file", tmp_path / "ids.txt")
    assert_user_mistake(code, lines, "ids.txt", "cannot read id list")


def test_fit_ids_file_not_json(tmp_path, tiny_store):
    ids = tmp_path / "split.json"
    ids.write_text("{not json")
    code, lines = difffake_cli("fit", "--backbone", SHIPPED, "--store", tiny_store.root, "--out", tmp_path / "det",
                               "--ids-file", ids)
    assert_user_mistake(code, lines, "split.json", "not valid JSON")


def test_fit_ids_file_without_train_list(tmp_path, tiny_store):
    ids = tmp_path / "split.json"
    ids.write_text(json.dumps({"val": ["astro_0.mp4"]}))
    code, lines = difffake_cli("fit", "--backbone", SHIPPED, "--store", tiny_store.root, "--out", tmp_path / "det",
                               "--ids-file", ids)
    assert_user_mistake(code, lines, "split.json", "'train'")


def test_fit_ids_file_matching_no_video(tmp_path, tiny_store):
    ids = tmp_path / "ids.txt"
    ids.write_text("not_in_the_store.mp4\n")
    code, lines = difffake_cli("fit", "--backbone", SHIPPED, "--store", tiny_store.root, "--out", tmp_path / "det",
                               "--ids-file", ids)
    assert_user_mistake(code, lines, "only 0 real videos")


def test_fit_cal_ids_file_with_crossfit(tmp_path, tiny_store):
    ids = tmp_path / "cal.txt"
    ids.write_text("astro_0.mp4\n")
    code, lines = difffake_cli("fit", "--backbone", SHIPPED, "--store", tiny_store.root, "--out", tmp_path / "det",
                               "--no-exclude", "--calibration", "crossfit", "--cal-ids-file", ids)
    assert_user_mistake(code, lines, "--cal-ids-file", "--calibration holdout")


def test_fit_groups_file_missing(tmp_path, tiny_store):
    from difffake.cli import build_parser

    fit = build_parser()._subparsers._group_actions[0].choices["fit"]
    if not any("--groups" in a.option_strings for a in fit._actions):
        pytest.skip("fit has no --groups option yet (issue 9 adds it)")
    code, lines = difffake_cli("fit", "--backbone", SHIPPED, "--store", tiny_store.root, "--out", tmp_path / "det",
                               "--groups", tmp_path / "groups.csv")
    assert_user_mistake(code, lines, "groups.csv")


# --- train: weights ---

def test_train_timm_weights_not_on_this_machine(tmp_path, tiny_store):
    # empty caches and no network: the weights are missing, and difffake never downloads them
    home = {"HF_HOME": str(tmp_path / "hf"), "TORCH_HOME": str(tmp_path / "torch"),
            "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code, lines = difffake_cli("train", "--store", tiny_store.root, "--out", tmp_path / "run",
                               "--pretrained", "timm", env_extra=home)
    assert_user_mistake(code, lines, "not on this machine", "--pretrained")


def test_train_missing_weights_file(tmp_path, tiny_store):
    code, lines = difffake_cli("train", "--store", tiny_store.root, "--out", tmp_path / "run",
                               "--pretrained", tmp_path / "weights.safetensors")
    assert_user_mistake(code, lines, "weights.safetensors", "not found")


def test_train_resume_config_with_unknown_key(tmp_path, tiny_store):
    from difffake.config import Config

    if not _rejects_unknown_keys(Config):
        pytest.skip("Config.from_dict still drops unknown keys (issue 9 makes it reject them)")
    run = tmp_path / "run"
    run.mkdir()
    config = Config().to_dict()
    config["train"]["no_such_key"] = 1
    (run / "config.json").write_text(json.dumps(config))
    code, lines = difffake_cli("train", "--store", tiny_store.root, "--out", run, "--resume")
    assert_user_mistake(code, lines, "no_such_key")


def _rejects_unknown_keys(config_class) -> bool:
    try:
        config_class.from_dict({"train": {"no_such_key": 1}})
    except Exception:   # noqa: BLE001 - whichever error it raises, the command must still exit 2
        return True
    return False


# --- scan and prepare: flag values, detector folders, extras ---

def test_scan_one_frame(photo):
    code, lines = difffake_cli("scan", "--frames", "1", photo)
    assert_user_mistake(code, lines, "--frames", "at least 2")


def test_scan_missing_detector_folder(tmp_path, photo):
    code, lines = difffake_cli("scan", "--detector", tmp_path / "no_detector", photo)
    assert_user_mistake(code, lines, "no_detector", "not a detector folder")


def test_scan_detector_folder_without_model(tmp_path, photo):
    code, lines = difffake_cli("scan", "--detector", tmp_path, photo)
    assert_user_mistake(code, lines, "model.json", "not a detector folder")


def test_scan_unknown_device(photo):
    code, lines = difffake_cli("scan", "--device", "bogus", photo)
    assert_user_mistake(code, lines, "--device bogus")


def test_scan_ray_without_ray(tmp_path, photo):
    # Ray made unimportable in the child: --ray must say which extra brings it
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    code = ("import sys; sys.modules['ray'] = None\n"
            "from difffake.cli import main\n"
            f"sys.exit(main(['scan', '--ray', '--out', {str(tmp_path / 'rows.jsonl')!r}, {str(photo)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert_user_mistake(proc.returncode, proc.stderr.splitlines(), "--ray", 'difffake[ray]')


def test_serve_missing_detector_folder(tmp_path):
    code, lines = difffake_cli("serve", "--detector", tmp_path / "no_detector", "--port", "0")
    assert_user_mistake(code, lines, "no_detector", "not a detector folder")


def test_faces_missing_store(tmp_path):
    code, lines = difffake_cli("faces", tmp_path / "no_store", "--out", tmp_path / "sheet.png")
    assert_user_mistake(code, lines, "no_store", "not a face store")


def test_export_missing_detector_folder(tmp_path):
    code, lines = difffake_cli("export", tmp_path / "no_detector")
    assert_user_mistake(code, lines, "no_detector", "model.json")


def test_every_user_mistake_class_exits_2():
    """The error classes raised for users' mistakes are the ones cli.py maps to exit 2."""
    from difffake.backbone.export import BackboneFileError
    from difffake.backbone.weights import WeightsError, WeightsUnavailable
    from difffake.datasets.records import DatasetError
    from difffake.detector_folder import DetectorFolderError
    from difffake.distributed.runtime import RayNotInstalled
    from difffake.errors import USER_MISTAKES, ConfigError, DifffakeError, MediaError
    from difffake.faces.store import NotAFaceStore

    for cls in (DatasetError, WeightsError, WeightsUnavailable, ConfigError, RayNotInstalled, NotAFaceStore,
                DetectorFolderError, BackboneFileError, MediaError):
        assert issubclass(cls, USER_MISTAKES), cls
    assert not issubclass(DifffakeError, USER_MISTAKES)   # raised bare it is a bug: exit 4


def test_prepare_zero_frames(tmp_path, photo):
    code, lines = difffake_cli("prepare", "--frames", "0", "--store", tmp_path / "store", photo)
    assert_user_mistake(code, lines, "--frames", ">= 1")
