"""difffake.commands.ray_runner: the --ray flags, the checks made before any Ray instance starts
(exit 2 and one line), and the summary line. Runs on a real cluster: tests/distributed."""
from __future__ import annotations

import argparse

import pytest

from difffake.cli import build_parser
from difffake.commands import ray_runner
from difffake.errors import EXIT_USAGE


def _group(out=False, dry_run=True):
    p = argparse.ArgumentParser(prog="difffake x")
    ray_runner.add_ray_arguments(p, out=out, dry_run=dry_run)
    [group] = [g for g in p._action_groups if g.title == "Ray (distributed)"]
    return p, sorted(a.dest for a in group._group_actions)


def test_which_flags_each_command_gets():
    assert _group()[1] == ["actors", "dry_run", "ray"]                       # prepare
    assert _group(out=True)[1] == ["actors", "dry_run", "out", "ray"]        # scan
    assert _group(dry_run=False)[1] == ["actors", "ray"]                     # evaluate
    p, _ = _group(out=True)
    a = p.parse_args([])
    assert (a.ray, a.actors, a.dry_run, a.out) == (None, None, False, None)
    assert p.parse_args(["--ray"]).ray == "local"
    assert p.parse_args(["--ray", "10.0.0.1:6379"]).ray == "10.0.0.1:6379"
    assert ray_runner.RAY_HELP in " ".join(p.format_help().split())
    assert 'pip install "difffake[ray]"' in ray_runner.RAY_HELP


def test_a_bad_actor_count_exits_2_naming_the_flag(capsys):
    p, _ = _group()
    with pytest.raises(SystemExit) as exc:
        p.parse_args(["--ray", "--actors", "many"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        "difffake x: error: argument --actors: invalid int value: 'many'"


def test_summary_line(capsys):
    s = {"written": 7, "log": "/r/rows.jsonl", "ok": 5, "no_face": 1, "error": 1, "skipped_already_written": 2,
         "actors": 3, "actors_replaced": 1, "videos_per_minute": 12.345}
    ray_runner._print_summary("ray scan", s)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("ray scan: 7 rows written to /r/rows.jsonl (5 ok, 1 no face, 1 error), 2 already "
                            "there; 3 actors (1 replaced), 12.3 videos/min\n")


def _scan_args(*argv):
    return build_parser().parse_args(["scan", *argv])


@pytest.fixture
def with_ray():
    pytest.importorskip("ray", reason='needs Ray: pip install "difffake[ray]"')


def test_zero_actors_is_refused(with_ray, tmp_path, capsys):
    args = _scan_args("--ray", "--actors", "0", "--out", str(tmp_path / "r.jsonl"), "x.mp4")
    assert ray_runner.run_scan(args) == EXIT_USAGE
    assert capsys.readouterr().err == "difffake: error: --actors must be at least 1\n"
    prep = build_parser().parse_args(["prepare", "x.mp4", "--store", str(tmp_path / "S"), "--ray", "--actors", "0"])
    assert prep._run(prep) == EXIT_USAGE
    assert capsys.readouterr().err == "difffake: error: --actors must be at least 1\n"
    assert not (tmp_path / "S").exists() and not (tmp_path / "r.jsonl").exists()


def test_scan_on_ray_needs_out(with_ray, capsys):
    assert ray_runner.run_scan(_scan_args("x.mp4", "--ray")) == EXIT_USAGE
    assert capsys.readouterr().err == "difffake: error: scan --ray needs --out RESULTS.jsonl (or .parquet)\n"


def test_scan_on_ray_refuses_the_local_only_outputs(with_ray, tmp_path, capsys):
    args = _scan_args("--ray", "--json", "--report", str(tmp_path / "r.html"), "--out", f"{tmp_path}/", "x.mp4")
    assert ray_runner.run_scan(args) == EXIT_USAGE
    assert capsys.readouterr().err == \
        "difffake: error: --report, --json cannot be combined with --ray (its rows go to --out)\n"
    assert args.out == str(tmp_path / "results.jsonl")   # a folder given to --out gets the default name
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_out_is_a_usage_error_before_ray_starts(with_ray, tmp_path):
    from difffake.errors import UsageError

    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match=r"--out .*file/r\.jsonl: .*file is a file, not a folder"):
        ray_runner.run_scan(_scan_args("--ray", "--out", str(tmp_path / "file" / "r.jsonl"), "x.mp4"))


def test_evaluate_on_ray_checks_the_actor_count_first(with_ray, tmp_path, capsys):
    args = build_parser().parse_args(["evaluate", "--dataset", f"folder:{tmp_path / 'nowhere'}",
                                      "--out", str(tmp_path / "o"), "--ray", "--actors", "-1"])
    assert ray_runner.prepare_datasets(args, [("folder", str(tmp_path / "nowhere"), {})], None) == EXIT_USAGE
    assert capsys.readouterr().err == "difffake: error: --actors must be at least 1\n"
