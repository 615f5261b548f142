"""difffake.faces.store_entry: the shape contract of one face store entry, checked on load."""
from __future__ import annotations

import json

import numpy as np
import pytest

from difffake.faces.store_entry import REQUIRED, check_arrays


def entry(n: int = 3, **changes) -> dict:
    """The arrays of a valid entry of `n` frames (as FaceStore.save writes them), with `changes`."""
    arrays = {
        "frame_indices": np.arange(n, dtype=np.int64),
        "has_face": np.array([True, False, True][:n] + [True] * max(0, n - 3)),
        "boxes": np.zeros((n, 4), np.float32),
        "landmarks": np.zeros((n, 68, 2), np.float32),
        "scores": np.ones(n, np.float32),
        "frame_size": np.array([256, 320], np.int64),
        "segment": np.array([0, -1, 0][:n], np.int64),
        "meta": np.array(json.dumps({"video_id": "a.mp4", "source": "/data/a.mp4", "fps": 25.0})),
    }
    arrays.update(changes)
    return arrays


def reason(arrays) -> str:
    with pytest.raises(ValueError) as err:
        check_arrays(arrays)
    return str(err.value)


def test_a_valid_entry_gives_its_meta():
    assert check_arrays(entry()) == {"video_id": "a.mp4", "source": "/data/a.mp4", "fps": 25.0}
    no_segment = entry()
    del no_segment["segment"]   # entries written before identity segments
    assert check_arrays(no_segment)["video_id"] == "a.mp4"
    assert check_arrays(entry(meta=np.array("{}"))) == {}


def test_missing_arrays_are_named():
    assert REQUIRED == ("frame_indices", "has_face", "boxes", "landmarks", "scores", "frame_size", "meta")
    arrays = entry()
    del arrays["boxes"], arrays["meta"]
    assert reason(arrays) == "missing arrays boxes, meta"


@pytest.mark.parametrize("changes, expected", [
    ({"has_face": np.array([1.0, 0.0, 1.0])}, "has_face must be a 1-d bool array, not float64 (3,)"),
    ({"has_face": np.ones((3, 1), bool)}, "has_face must be a 1-d bool array, not bool (3, 1)"),
    ({"frame_indices": np.arange(3, dtype=np.float64)}, "frame_indices has dtype float64, expected kind 'iu'"),
    ({"frame_indices": np.arange(4)}, "frame_indices has shape (4,), expected (3,)"),
    ({"boxes": np.zeros((3, 5), np.float32)}, "boxes has shape (3, 5), expected (3, 4)"),
    ({"landmarks": np.zeros((4, 68, 2), np.float32)}, "landmarks has shape (4, 68, 2), expected (3, 68, 2)"),
    ({"landmarks": np.zeros((3, 68, 2), np.int32)}, "landmarks has dtype int32, expected kind 'f'"),
    ({"scores": np.ones(2, np.float32)}, "scores has shape (2,), expected (3,)"),
    ({"frame_size": np.array([256.0, 320.0])}, "frame_size has dtype float64, expected kind 'iu'"),
    ({"frame_size": np.array([3, 256, 320])}, "frame_size has shape (3,), expected (2,)"),
    ({"segment": np.zeros(2, np.int64)}, "segment has shape (2,), expected (3,)"),
    ({"meta": np.array([b"{}"])}, "meta must be one JSON string"),
    ({"meta": np.array(["{}", "{}"])}, "meta must be one JSON string"),
    ({"meta": np.array("[1, 2]")}, "meta must be a JSON object, not list"),
    ({"meta": np.array('{"video_id": 7}')}, "meta.video_id must be a string"),
    ({"meta": np.array('{"source": null}')}, "meta.source must be a string"),
])
def test_each_broken_part_is_said(changes, expected):
    assert reason(entry(**changes)) == expected


def test_bad_json_in_meta_is_a_value_error():
    with pytest.raises(json.JSONDecodeError, match="Expecting property name enclosed in double quotes"):
        check_arrays(entry(meta=np.array("{not json")))
    assert issubclass(json.JSONDecodeError, ValueError)   # FaceStore.load turns it into a FileError


def test_an_entry_without_frames_is_valid():
    assert check_arrays(entry(0, has_face=np.zeros(0, bool))) == {
        "video_id": "a.mp4", "source": "/data/a.mp4", "fps": 25.0}
