"""`difffake prepare` and `difffake faces`: batches with bad files, resume, settings, workers."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from difffake.cli import main
from difffake.errors import EXIT_INPUT_ERROR, EXIT_OK, EXIT_USAGE
from difffake.faces.contact_sheet import REGIONS, contact_sheet
from difffake.faces.store import FaceStore

BAD = {
    "bad/empty.mp4": "empty file",
    "bad/text.mp4": "cannot be opened as a video",
    "bad/truncated.mp4": "cannot be opened as a video",
    "bad/broken.jpg": "not a readable image",
}


@pytest.fixture()
def dataset(tmp_path, astronaut_rgb, face_video_writer):
    """Good and bad media in nested folders (ids are paths relative to the root)."""
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "bad").mkdir()
    face_video_writer(root / "sub" / "a.mp4", astronaut_rgb, 6, seed=0)
    face_video_writer(root / "b.mp4", astronaut_rgb, 6, seed=1)
    cv2.imwrite(str(root / "sub" / "photo.jpg"), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    writer = cv2.VideoWriter(str(root / "noface.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 64))
    for _ in range(4):
        writer.write(np.full((64, 96, 3), 128, np.uint8))
    writer.release()
    (root / "bad" / "empty.mp4").write_bytes(b"")
    (root / "bad" / "text.mp4").write_text("hello, I am text\n" * 20)
    full = (root / "b.mp4").read_bytes()
    (root / "bad" / "truncated.mp4").write_bytes(full[: len(full) // 3])
    (root / "bad" / "broken.jpg").write_bytes(b"\xff\xd8\xff" + bytes(200))
    (root / "notes.txt").write_text("not media: ignored when walking a folder")
    return root


GOOD = ["b.mp4", "noface.mp4", "sub/a.mp4", "sub/photo.jpg"]


def test_prepare_batch_with_bad_files(dataset, tmp_path, capsys):
    store_dir = tmp_path / "store"
    code = main(["prepare", str(dataset), "--store", str(store_dir), "--frames", "4"])
    assert code == EXIT_INPUT_ERROR
    out = capsys.readouterr().out
    assert "8 inputs" in out and "4 processed, 4 failed" in out and "1 without any face" in out
    store = FaceStore(store_dir)
    assert store.ids() == GOOD  # one bad file never loses the others
    assert store.settings["num_frames"] == 4 and store.settings["policy"] == "track"
    failures = {f["id"]: f for f in json.loads((store_dir / "failures.json").read_text())}
    assert set(failures) == set(BAD)
    for vid, reason in BAD.items():
        assert reason in failures[vid]["reason"], failures[vid]
    assert store.load("noface.mp4").num_faces == 0  # explicit "no face" record
    assert store.load("sub/a.mp4").num_faces == 4
    assert store.load("sub/photo.jpg").num_frames == 1

    # resume: nothing is redone; the failures are retried and listed again
    code = main(["prepare", str(dataset), "--store", str(store_dir), "--frames", "4"])
    captured = capsys.readouterr()
    assert code == EXIT_INPUT_ERROR
    assert "4 already in store" in captured.out and "0 processed" in captured.out
    for vid in BAD:
        assert f"FAILED {dataset / vid}" in captured.err


def test_failure_lines_name_file_and_reason(dataset, tmp_path, capsys):
    main(["prepare", str(dataset / "bad" / "empty.mp4"), str(dataset / "sub" / "photo.jpg"),
          "--store", str(tmp_path / "s")])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("FAILED")]
    assert lines == [f"FAILED {dataset / 'bad' / 'empty.mp4'}: empty file (0 bytes)"]
    assert "1 processed, 1 failed" in captured.out
    assert FaceStore(tmp_path / "s").ids() == ["photo.jpg"]  # single file: id = file name


def test_failure_cleared_once_file_is_fixed(dataset, tmp_path, astronaut_rgb, face_video_writer):
    store_dir = tmp_path / "store"
    main(["prepare", str(dataset / "bad" / "empty.mp4"), "--store", str(store_dir), "--frames", "3"])
    assert [f["id"] for f in json.loads((store_dir / "failures.json").read_text())] == ["empty.mp4"]
    face_video_writer(dataset / "bad" / "empty.mp4", astronaut_rgb, 3, seed=0)
    assert main(["prepare", str(dataset / "bad" / "empty.mp4"), "--store", str(store_dir),
                 "--frames", "3"]) == EXIT_OK
    assert json.loads((store_dir / "failures.json").read_text()) == []


def test_mixed_settings_refused(dataset, tmp_path, capsys):
    store_dir = tmp_path / "store"
    photo = str(dataset / "sub" / "photo.jpg")
    assert main(["prepare", photo, "--store", str(store_dir), "--frames", "4"]) == EXIT_OK
    capsys.readouterr()
    assert main(["prepare", photo, "--store", str(store_dir), "--frames", "8"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(store_dir) in err and "settings" in err and "\n" == err[-1] and err.count("\n") == 1


def test_parallel_workers_give_the_same_store(dataset, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    main(["prepare", str(dataset / "sub"), str(dataset / "b.mp4"), "--store", str(one), "--frames", "4"])
    main(["prepare", str(dataset / "sub"), str(dataset / "b.mp4"), "--store", str(two), "--frames", "4",
          "--workers", "2"])
    s1, s2 = FaceStore(one), FaceStore(two)
    assert s1.ids() == s2.ids() == ["a.mp4", "b.mp4", "photo.jpg"]
    for vid in s1.ids():
        r1, r2 = s1.load(vid), s2.load(vid)
        assert np.array_equal(r1.landmarks, r2.landmarks)
        assert all(np.array_equal(a, b) for a, b in zip(r1.crops, r2.crops))


def test_missing_input_is_a_failure_not_a_crash(tmp_path, capsys):
    code = main(["prepare", str(tmp_path / "nowhere"), "--store", str(tmp_path / "s")])
    assert code == EXIT_INPUT_ERROR
    assert "no such file or folder" in capsys.readouterr().err


# -- contact sheet -----------------------------------------------------------------
def test_faces_command_draws_sheet(tiny_store, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    code = main(["faces", str(tiny_store.root), "--out", str(out), "--per-video", "4", "--tile", "96"])
    assert code == EXIT_OK and out.exists()
    sheet = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    assert sheet.shape[1] == 4 * 96
    assert sheet.shape[0] == 3 * (96 + 18)  # 3 videos, a label strip each
    for _, colour in REGIONS.values():  # every region's dots are drawn
        assert (np.abs(sheet.astype(int) - colour).sum(axis=2) < 30).sum() >= 3


def test_contact_sheet_shows_missing_faces(tiny_store, tmp_path):
    rec = tiny_store.load("astro_0.mp4")
    rec.has_face[:] = False
    rec.crops = [None] * rec.num_frames
    sheet = contact_sheet([rec], per_video=3, tile=64)
    assert sheet.shape == (64 + 18, 3 * 64, 3)
    tiles = sheet[18:]
    assert (tiles == 60).mean() > 0.8  # grey "no face" tiles


def test_faces_command_unknown_id(tiny_store, tmp_path, capsys):
    code = main(["faces", str(tiny_store.root), "--ids", "nope.mp4", "--out", str(tmp_path / "x.png")])
    assert code == EXIT_USAGE and "nope.mp4" in capsys.readouterr().err


# -- one media walker (faces.video.collect_media) and the store-entry source rule ----
def test_collect_media_ids_and_problems(dataset, tmp_path):
    from difffake.datasets.records import MEDIA_EXTENSIONS as RECORD_EXTS
    from difffake.faces.video import MEDIA_EXTENSIONS, collect_media

    assert RECORD_EXTS is MEDIA_EXTENSIONS   # one list, not two that can drift apart
    empty = tmp_path / "empty"
    empty.mkdir()
    photo = dataset / "sub" / "photo.jpg"
    jobs, problems = collect_media([dataset / "sub", photo, empty, tmp_path / "nowhere"])
    assert jobs == [(str(dataset / "sub" / "a.mp4"), "a.mp4"), (str(photo), "photo.jpg")]
    reasons = {p["path"]: p["reason"] for p in problems}
    assert "duplicate id" in reasons[str(photo)]               # 'photo.jpg' twice: reported, first kept
    assert "no video or image files" in reasons[str(empty)]
    assert "no such file" in reasons[str(tmp_path / "nowhere")]
    jobs, _ = collect_media([str(photo)], explicit_id="path")
    assert jobs == [(str(photo), str(photo))]
    with pytest.raises(ValueError):
        collect_media([photo], explicit_id="stem")


def test_entry_from_another_file_is_extracted_again(dataset, tmp_path, astronaut_rgb, caplog):
    """Two roots with the same relative ids into one store: the second must not reuse the first's crops."""
    other = tmp_path / "other"
    other.mkdir()
    writer = cv2.VideoWriter(str(other / "b.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 64))
    for _ in range(4):
        writer.write(np.full((64, 96, 3), 128, np.uint8))   # no face, unlike dataset/b.mp4
    writer.release()
    store_dir = tmp_path / "store"
    assert main(["prepare", str(dataset / "b.mp4"), "--store", str(store_dir), "--frames", "4"]) == EXIT_OK
    assert FaceStore(store_dir).load("b.mp4").num_faces == 4
    with caplog.at_level("WARNING"):
        assert main(["prepare", str(other / "b.mp4"), "--store", str(store_dir), "--frames", "4"]) == EXIT_OK
    rec = FaceStore(store_dir).load("b.mp4")
    assert rec.num_faces == 0 and rec.meta["source"] == str((other / "b.mp4").resolve())
    assert "extracting again" in caplog.text
    # the same file again (given by a relative path) is reused, not redone
    import os
    cwd = os.getcwd()
    try:
        os.chdir(other)
        from difffake.config import FaceConfig
        from difffake.workflows.prepare import prepare
        summary = prepare(["b.mp4"], store_dir, FaceConfig(num_frames=4))
    finally:
        os.chdir(cwd)
    assert summary["skipped_existing"] == 1 and summary["processed"] == 0


def test_failures_file_written_atomically(dataset, tmp_path, monkeypatch):
    import difffake.faces.store_locks as locks

    calls = []
    real = locks.replace_locked
    monkeypatch.setattr(locks, "replace_locked", lambda path, writer: (calls.append(path), real(path, writer)))
    main(["prepare", str(dataset / "bad" / "empty.mp4"), "--store", str(tmp_path / "s")])
    assert calls == [tmp_path / "s" / "failures.json"]
    assert not list((tmp_path / "s").glob("*.tmp")) and not list((tmp_path / "s").glob(".*.tmp"))


def test_entry_with_an_unusable_source_is_extracted_again(dataset, tmp_path):
    """meta.source holding a NUL byte made `prepare` die on Path.resolve (exit 4) while listing its work."""
    store_dir = tmp_path / "store"
    photo = dataset / "sub" / "photo.jpg"
    assert main(["prepare", str(photo), "--store", str(store_dir)]) == EXIT_OK
    store = FaceStore(store_dir)
    rec = store.load("photo.jpg")
    rec.meta["source"] = "/no\x00where"
    store.save(rec)
    assert main(["prepare", str(photo), "--store", str(store_dir)]) == EXIT_OK
    assert FaceStore(store_dir).load("photo.jpg").meta["source"] == str(photo.resolve())
