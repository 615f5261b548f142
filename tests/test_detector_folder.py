"""Bad detector folders whose checksums match: refused with exit 2 and a message naming the file and the
reason (scan, serve, Detector.load), and no file outside the folder is ever read (issue 12, point 2).
Also `--device` that torch cannot use here: exit 2 naming the device and the fix (point 3)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from detector_folder_support import (
    copy_default,
    edit_json,
    edit_npz_meta,
    npz_arrays,
    rechecksum,
    sha256,
    write_npz,
)

from difffake.detector import Detector, DetectorFileError, DetectorFolderError


def _npz(name, change):
    def tamper(folder):
        arrays = npz_arrays(folder / name)
        change(arrays)
        write_npz(folder / name, arrays)
    return tamper


def _truncate(name, keep=0.5):
    def tamper(folder):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: int(len(data) * keep)])
    return tamper


def _garbage(name):
    def tamper(folder):
        (folder / name).write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return tamper


def _json(name, edit):
    return lambda folder: edit_json(folder / name, edit)


def _set(path, value):
    def edit(data):
        *head, last = path
        for key in head:
            data = data[key]
        data[last] = value
    return edit


def _drop(path):
    def edit(data):
        *head, last = path
        for key in head:
            data = data[key]
        del data[last]
    return edit


# (id, tamper, engine, file named in the message, reason fragment)
CASES = [
    ("npz-pickle", _npz("density.npz", lambda a: a.__setitem__("est_weights", np.array([{"x": 1}], object))),
     "auto", "density.npz", "pickled Python objects"),
    ("npz-truncated", _truncate("density.npz"), "auto", "density.npz", "not a complete .npz"),
    ("npz-truncated-tail", _truncate("density.npz", 0.999), "auto", "density.npz", "density.npz: unusable"),
    ("npz-wrong-shape", _npz("density.npz", lambda a: a.__setitem__("est_means", a["est_means"][:, :5])),
     "auto", "density.npz", "unusable"),
    ("npz-wrong-dtype", _npz("density.npz", lambda a: a.__setitem__("est_weights", a["est_weights"].astype(str))),
     "auto", "density.npz", "finite real numbers"),
    ("npz-nan", _npz("density_single.npz", lambda a: a["est_means"].__setitem__((0, 0), np.nan)),
     "auto", "density_single.npz", "finite real numbers"),
    ("npz-missing-array", _npz("density.npz", lambda a: a.pop("est_precisions_cholesky")),
     "auto", "density.npz", "needs arrays ['est_precisions_cholesky']"),
    ("npz-missing-meta", _npz("density.npz", lambda a: a.pop("meta")), "auto", "density.npz", "no 'meta'"),
    ("npz-meta-not-json", _npz("density.npz", lambda a: a.__setitem__("meta", np.array("{not json"))),
     "auto", "density.npz", "JSONDecodeError"),
    ("npz-meta-missing-key", lambda f: edit_npz_meta(f / "density.npz", _drop(["info", "dim_in"])),
     "auto", "density.npz", "dim_in"),
    ("npz-config-wrong-type", lambda f: edit_npz_meta(f / "density.npz", _set(["anomaly_config", "max_pairs"], "x")),
     "auto", "density.npz", "anomaly_config.max_pairs"),
    ("safetensors-truncated", _truncate("backbone.safetensors"), "torch", "backbone.safetensors", "safetensors"),
    ("safetensors-garbage", _garbage("backbone.safetensors"), "torch", "backbone.safetensors", "safetensors"),
    ("onnx-truncated", _truncate("backbone.onnx"), "onnx", "backbone.onnx", "ONNX"),
    ("onnx-garbage", _garbage("backbone.onnx"), "onnx", "backbone.onnx", "ONNX"),
    ("backbone-json-bad", lambda f: (f / "backbone.json").write_text("{"), "auto", "backbone.json", "not valid JSON"),
    ("backbone-json-huge-input", _json("backbone.json", _set(["input_size"], 10 ** 6)),
     "auto", "backbone.json", "input_size"),
    ("backbone-json-missing-key", _json("backbone.json", _drop(["mean"])), "torch", "backbone.json", "mean"),
    ("model-json-threshold-text", _json("model.json", _set(["scorer", "calibrations", "fused", "threshold"], "x")),
     "auto", "model.json", "could not convert"),
    ("model-json-missing-key", _json("model.json", _drop(["calibration", "scores"])),
     "auto", "model.json", "missing key 'scores'"),
    ("model-json-fusion-shape", _json("model.json", _set(["scorer", "fusion", "weights"], [1.0])),
     "auto", "model.json", "fusion"),
    ("model-json-face-config", _json("model.json", _set(["face_config", "num_frames"], "many")),
     "auto", "model.json", "face_config.num_frames"),
    ("model-json-basis", _json("model.json", _set(["scorer", "basis"], "magic")), "auto", "model.json", "basis"),
    ("model-json-checksums-list", _json("model.json", _set(["checksums"], ["density.npz"])),
     "auto", "model.json", "'checksums' must map"),
    ("model-json-not-utf8", lambda f: (f / "model.json").write_bytes(b"\xf8\xc7{"), "auto", "model.json",
     "unreadable"),   # found by the fuzzer (tests/fuzz_crashes/detector_folder/crash-model-json-not-utf8)
    ("identity-json-not-utf8", lambda f: (f / "identity.json").write_bytes(b"\xf8\xc7{"), "auto", "identity.json",
     "unreadable"),
    ("identity-json-bad", lambda f: (f / "identity.json").write_text("[1, 2"), "auto", "identity.json", "unreadable"),
    ("identity-json-order", _json("identity.json", _set(["same_max"], 9.0)), "auto", "identity.json", "same_max"),
]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "gray.png"
    cv2.imwrite(str(path), np.full((64, 64, 3), 128, np.uint8))
    return path


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "difffake", *args], capture_output=True, text=True,
                          timeout=timeout)


def _refused(out, file, reason):
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    line = [ln for ln in out.stderr.splitlines() if ln.startswith("difffake: error:")]
    assert line and file in line[0] and reason in line[0], out.stderr[-2000:]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_content_with_matching_checksum_is_refused_by_scan(case, tmp_path, image):
    _, tamper, engine, file, reason = case
    folder = copy_default(tmp_path / "det")
    tamper(folder)
    rechecksum(folder)
    out = _cli("scan", "--detector", str(folder), "--engine", engine, str(image))
    _refused(out, f"{folder}/{file}", reason)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("npz-pickle", "onnx-garbage", "model-json-basis",
                                                                 "safetensors-truncated")], ids=lambda c: c[0])
def test_bad_content_raises_detector_folder_error_from_python(case, tmp_path):
    _, tamper, engine, file, reason = case
    folder = copy_default(tmp_path / "det")
    tamper(folder)
    rechecksum(folder)
    with pytest.raises(DetectorFolderError) as info:
        Detector.load(folder, engine=engine)
    assert info.value.path == str(folder / file) and reason in info.value.reason


def test_serve_refuses_a_bad_folder_at_start_up(tmp_path):
    folder = copy_default(tmp_path / "det")
    _npz("density.npz", lambda a: a.__setitem__("est_weights", np.array([{"x": 1}], object)))(folder)
    rechecksum(folder)
    out = _cli("serve", "--detector", str(folder), "--port", "1", timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert f"{folder}/density.npz" in out.stderr and "pickled" in out.stderr


# ------------------------------------------------------------------ files outside the folder
def _outside(tmp_path):
    """A file outside the detector folder, with the bytes of a real density (so its checksum can match)."""
    outside = tmp_path / "secret" / "density.npz"
    outside.parent.mkdir()
    outside.write_bytes((copy_default(tmp_path / "src") / "density.npz").read_bytes())
    return outside


def _plant_entry(folder, name, digest):
    edit_json(folder / "model.json", lambda card: card["checksums"].__setitem__(name, digest))


def _escapes(tmp_path):
    """(id, folder) of folders whose model.json makes the loader look at `outside`."""
    outside = _outside(tmp_path)
    digest = sha256(outside)
    out = []
    for kind in ("dotdot", "absolute", "symlink", "symlinked-card", "etc"):
        folder = copy_default(tmp_path / f"det-{kind}")
        if kind == "dotdot":
            _plant_entry(folder, os.path.relpath(outside, folder), digest)
        elif kind == "absolute":
            _plant_entry(folder, str(outside), digest)
        elif kind == "symlink":   # a listed name that is a symlink out of the folder
            (folder / "density.npz").unlink()
            (folder / "density.npz").symlink_to(outside)
        elif kind == "symlinked-card":
            real = outside.parent / "model.json"
            real.write_bytes((folder / "model.json").read_bytes())
            (folder / "model.json").unlink()
            (folder / "model.json").symlink_to(real)
            outside = real
        else:   # the example
            _plant_entry(folder, "../../../etc/hostname", "0" * 64)
        out.append((kind, folder, outside))
    return out


def test_listed_paths_outside_the_folder_are_refused_and_never_read(tmp_path):
    """In-process with an audit hook: no open() of the outside file during Detector.load."""
    opened = []
    watched = set()

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if path in watched:
                opened.append(path)

    sys.addaudithook(hook)   # cannot be removed; it only records paths in `watched`
    for kind, folder, outside in _escapes(tmp_path):
        watched.clear()
        watched.update({os.path.realpath(outside), "/etc/hostname"})
        opened.clear()
        with pytest.raises(DetectorFileError) as info:
            Detector.load(folder)
        assert "outside the detector folder" in info.value.reason, (kind, str(info.value))
        assert opened == [], f"{kind}: read {opened}"


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "symlinked-card", "etc"])
def test_listed_paths_outside_the_folder_exit_2_from_the_cli(kind, tmp_path, image):
    folder = dict((k, f) for k, f, _ in _escapes(tmp_path))[kind]
    out = _cli("scan", "--detector", str(folder), str(image))
    _refused(out, str(folder), "outside the detector folder")


def test_the_shipped_detector_still_loads_and_probes_cleanly():
    det = Detector.load()
    assert det.path is not None and det.identity_calibration is not None
    assert json.loads((det.path / "model.json").read_text())["checksums"]


# ------------------------------------------------------------------ --device
def _no_cuda() -> bool:
    import torch
    return not torch.cuda.is_available()


@pytest.mark.skipif(not _no_cuda(), reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("command,device", [("scan", "cuda"), ("scan", "cuda:1"), ("scan", "nonsense"),
                                            ("serve", "cuda"), ("train", "cuda")])
def test_device_torch_cannot_use_exits_2_naming_it_and_the_fix(command, device, tmp_path, image):
    args = {"scan": [str(image)], "serve": ["--port", "1"],
            "train": ["--store", str(tmp_path / "store"), "--out", str(tmp_path / "run")]}[command]
    out = _cli(command, "--device", device, *args, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert f"--device {device}" in out.stderr and "--device cpu" in out.stderr, out.stderr[-2000:]
    assert not (tmp_path / "run").exists()


def test_required_files_name_the_density_file_the_model_writes():
    from difffake.anomaly.model import DENSITY_FILE
    from difffake.detector_folder import REQUIRED_FILES
    assert DENSITY_FILE in REQUIRED_FILES
