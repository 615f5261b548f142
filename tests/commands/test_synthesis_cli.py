"""`difffake synth`: a contact sheet PNG, rows grouped by mask type."""
from __future__ import annotations

import cv2
import numpy as np

from difffake.cli import main
from difffake.synthesis.masks import MASK_TYPES
from difffake.synthesis.sheet import COLUMNS


def test_synth_writes_a_sheet_with_a_row_per_type(tiny_store, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    code = main(["synth", str(tiny_store.root), "--out", str(out), "--seed", "1",
                 "--rows-per-type", "2", "--tile", "64"])
    assert code == 0, capsys.readouterr().err
    img = cv2.imread(str(out))
    assert img is not None
    header, sep = 30, 4
    assert img.shape[0] == header + len(MASK_TYPES) * (2 * 64 + sep)
    assert img.shape[1] == 150 + len(COLUMNS) * 64
    # Each row: the fake differs from the real somewhere (columns real=1, fake=3).
    for r in range(len(MASK_TYPES) * 2):
        y = header + (r // 2) * (2 * 64 + sep) + (r % 2) * 64
        real = img[y:y + 64, 150:214].astype(int)
        fake = img[y:y + 64, 150 + 128:150 + 192].astype(int)
        assert np.abs(real - fake).max() > 0, f"row {r}: fake == real"
    # Same seed, same sheet.
    out2 = tmp_path / "again.png"
    main(["synth", str(tiny_store.root), "--out", str(out2), "--seed", "1",
          "--rows-per-type", "2", "--tile", "64"])
    assert np.array_equal(cv2.imread(str(out2)), img)


def test_synth_on_a_missing_store_says_so(tmp_path, capsys):
    code = main(["synth", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png")])
    assert code == 2
    assert "nope" in capsys.readouterr().err
