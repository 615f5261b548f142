"""benchmarks/ablation.py keeps the rows of detectors it does not re-score (--keep-rows) and shows
the judge on each kind of pseudo-fake twin."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("ablation", ROOT / "benchmarks" / "ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EARLIER = """# title

| detector | score | a | b | c | d | e |
|---|---|---|---|---|---|---|
| old | fused (verdict) | 0.80 / 0.94 | x | x | x | x |
| old | differential | 0.47 / 0.42 | x | x | x | x |
| built-in | fused (verdict) | 0.84 / 0.95 | x | x | x | x |

`python benchmarks/ablation.py --detector old=a --detector built-in=b`
"""


def test_rows_of_detectors_not_scored_again_are_kept_with_their_command(ablation, tmp_path):
    path = tmp_path / "t.md"
    path.write_text(EARLIER)
    lines, commands = ablation.kept_rows(path, {"built-in"})
    assert lines == ["| old | fused (verdict) | 0.80 / 0.94 | x | x | x | x |",
                     "| old | differential | 0.47 / 0.42 | x | x | x | x |"]
    assert commands == ["`python benchmarks/ablation.py --detector old=a --detector built-in=b`"]
    table = ablation.table([], lines)
    assert table.splitlines()[2:] == lines


def test_a_command_whose_detectors_are_all_rescored_is_not_listed_again(ablation, tmp_path):
    path = tmp_path / "t.md"
    path.write_text(EARLIER + '\n`python benchmarks/ablation.py --detector "built-in=c" --engine onnx`\n')
    lines, commands = ablation.kept_rows(path, {"built-in"})
    assert len(lines) == 2   # the old detector's rows, from the first command only
    assert commands == ["`python benchmarks/ablation.py --detector old=a --detector built-in=b`"]
    _, commands = ablation.kept_rows(path, {"built-in", "old"})
    assert commands == []


def test_a_file_without_a_command_line_is_refused(ablation, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("| old | fused | 1 |\n")
    with pytest.raises(SystemExit, match="notes.md: no ablation.py command line"):
        ablation.kept_rows(path, set())


def test_the_pseudo_fake_cell_names_each_kind_of_twin_when_the_judge_held_both(ablation):
    by_kind = {"self-blend": {"fused": {"auc": 0.884}}, "other identity": {"fused": {"auc": 0.8}}}
    assert ablation.kind_note(by_kind, "fused") == " (self-blend 0.88, other identity 0.80)"
    assert ablation.kind_note(by_kind, "single") == "" and ablation.kind_note({}, "fused") == ""
    row = {"detector": "d", "score": "fused (verdict)", "pseudo_auc": 0.85, "pseudo_twin": 0.9,
           "pseudo_kinds": ablation.kind_note(by_kind, "fused"), "dfl_auc": 0.6, "dfl_lo": 0.4, "dfl_hi": 0.8,
           "dfl_twin": 0.5, "ffpp_auc": 0.5, "ffpp_all_above": False, "tpr": 0.1, "fpr": 0.0}
    line = ablation.table([row]).splitlines()[2]
    assert line.startswith("| d | fused (verdict) | 0.85 / 0.90 (self-blend 0.88, other identity 0.80) | 0.60 [")
