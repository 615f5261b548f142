"""difffake.evaluation.outputs: the files an evaluation writes (tables, unscored.csv, videos.csv, ROC PNGs)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from difffake.datasets.records import VideoRecord
from difffake.evaluation.outputs import (
    FIT_NOTE,
    HEADERS,
    UNSCORED_RULE,
    plot_rocs,
    safe_name,
    write_table,
    write_unscored,
    write_videos,
)
from difffake.evaluation.protocols import COLUMNS, Subset, VideoItem


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def items() -> list[VideoItem]:
    def item(vid, label, method, **kw):
        rec = VideoRecord(Path("/data") / vid, vid, label, method, "ds", compression=kw.pop("comp", None),
                          group=kw.pop("group", None))
        return VideoItem(rec, "ds-1", **kw)
    return [item("r/a.mp4", "real", "real", comp="c23", group="a"),
            item("r/b.mp4", "real", "real", status="no_face"),
            item("f/a_x.mp4", "fake", "Swap", group="a", in_detector_fit=True),
            item("f/c.mp4", "fake", "Swap", status="error", reason="/data/f/c.mp4: moov atom not found"),
            item("f/d.mp4", "fake", "Swap")]


def test_write_table_csv_has_every_column_markdown_only_filled_ones(tmp_path):
    rows = [{"dataset": "ds", "protocol": "all", "method": "Swap", "n_real": 2, "n_fake": 3, "auc": 0.75,
             "n_detector_fit": 1, "ap": None},
            {"dataset": "ds", "protocol": "all", "method": "x|y", "n_real": 0, "n_fake": 1, "auc": None}]
    md, csv_path = write_table(rows, tmp_path / "out", "table", "my title", notes=[UNSCORED_RULE, FIT_NOTE])
    assert (md, csv_path) == (tmp_path / "out/table.md", tmp_path / "out/table.csv")
    table = read_rows(csv_path)
    assert table[0] == COLUMNS
    assert dict(zip(COLUMNS, table[1]))["auc"] == "0.75" and dict(zip(COLUMNS, table[1]))["ap"] == ""
    assert csv_path.read_bytes().count(b"\r\n") == 3
    lines = md.read_text().splitlines()
    assert lines[0] == "# my title"
    # the columns holding a value, in COLUMNS order; auc and n_no_face always; display headers from HEADERS
    assert lines[2] == "| dataset | protocol | method | n_real | n_fake | n_no_face | AUC (true) | " \
                       "n in detector's own fit/cal videos |"
    assert lines[4] == "| ds | all | Swap | 2 | 3 | – | 0.750 | 1 |"   # floats to 3 places
    assert lines[5] == "| ds | all | x\\|y | 0 | 1 | – | – | – |"
    assert lines[-2:] == [f"- {UNSCORED_RULE}", f"- {FIT_NOTE}"]
    assert HEADERS["paper_binarised_auc"] == "paper's binarised AUC (optimistic)"


def test_write_unscored_lists_every_unscored_video_per_variant(items, tmp_path):
    statuses = ["ok", "no_face", "ok", "error", "ok"]
    scored = {"detector": (np.zeros(5), statuses), "sq:knn": (np.zeros(5), ["ok", "no_face", "ok", "ok", "error"])}
    path = write_unscored(items, scored, tmp_path)
    assert path == tmp_path / "unscored.csv"
    assert read_rows(path) == [
        ["variant", "dataset", "video_id", "label", "method", "status", "reason"],
        ["detector", "ds-1", "r/b.mp4", "real", "real", "no_face", "fewer face frames than the model needs"],
        ["detector", "ds-1", "f/c.mp4", "fake", "Swap", "error", "/data/f/c.mp4: moov atom not found"],
        ["sq:knn", "ds-1", "r/b.mp4", "real", "real", "no_face", "fewer face frames than the model needs"],
        ["sq:knn", "ds-1", "f/d.mp4", "fake", "Swap", "error", ""],   # scored by the other variant
    ]


def test_write_videos_one_row_per_video_with_every_scorer(items, tmp_path):
    scored = {"detector": (np.array([0.1234567, np.nan, 2.5, np.nan, 1e-7]), ["ok", "no_face", "ok", "error", "ok"]),
              "classifier": (np.array([0.5, np.nan, np.inf, np.nan, 1.0]), ["ok", "no_face", "ok", "error", "ok"])}
    path = write_videos(items, scored, tmp_path)
    assert read_rows(path) == [
        ["dataset", "video_id", "label", "method", "compression", "group", "detector_fit_video",
         "score[detector]", "score[classifier]", "status[detector]", "status[classifier]"],
        ["ds-1", "r/a.mp4", "real", "real", "c23", "a", "0", "0.123457", "0.5", "ok", "ok"],
        ["ds-1", "r/b.mp4", "real", "real", "", "", "0", "", "", "no_face", "no_face"],
        ["ds-1", "f/a_x.mp4", "fake", "Swap", "", "a", "1", "2.5", "", "ok", "ok"],   # inf: no number
        ["ds-1", "f/c.mp4", "fake", "Swap", "", "", "0", "", "", "error", "error"],
        ["ds-1", "f/d.mp4", "fake", "Swap", "", "", "0", "1e-07", "1", "ok", "ok"],
    ]


def test_plot_rocs_one_png_per_dataset(items, tmp_path):
    pytest.importorskip("matplotlib")
    scored = {"detector": (np.array([0.1, 0.0, 0.9, 0.0, 0.8]), ["ok", "no_face", "ok", "error", "ok"])}
    subsets = [Subset("ds-1", "all", "all", "", real=[0, 1], fake=[2, 3, 4]),
               Subset("ds-1", "all", "only fakes", "", real=[], fake=[2, 4]),        # one class: no curve
               Subset("other/set", "all", "all", "", real=[0], fake=[4])]
    paths = plot_rocs(subsets, items, scored, tmp_path, "detector")
    assert paths == [tmp_path / "roc_ds-1.png", tmp_path / "roc_other_set.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        import cv2
        image = cv2.imread(str(path))
        assert image.shape == (550, 550, 3)   # 5 x 5 inches at 110 dpi


def test_safe_name():
    assert safe_name("ffpp-FF++-c23-1a2b3c") == "ffpp-FF_-c23-1a2b3c"
    assert safe_name("a b/c\\d:é.e_f") == "a_b_c_d_.e_f"
    assert safe_name("plain-name_1.0") == "plain-name_1.0"
