"""Run the atheris fuzz targets in scripts/fuzz/targets/, each in its own process, for a bounded time.

    PYTHONPATH=src python scripts/fuzz/run.py --target all --seconds 600 --out benchmarks/results/fuzz.md

A target is a module with `one_input(data: bytes)` and `SEEDS` (or `seeds()`): the
bytes go to ONE entry point; difffake's own errors (DifffakeError) are expected
answers, any other exception is a crash. libFuzzer stops at the first crash, so
the runner restarts the target on the same corpus until its time is used up.
Crash inputs are kept in tests/fuzz_crashes/<target>/ (tests/test_fuzz.py replays
them); each must become a fix, a corpus file and a test.
Needs the `test` extra (atheris). Prints a Markdown table; --out writes it to a file.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TARGETS = HERE / "targets"
CRASHES = REPO / "tests" / "fuzz_crashes"
PER_INPUT_TIMEOUT_S = 60      # one input taking longer is reported as a hang
MAX_CRASHES = 20              # per target and run: past that it is one bug found over and over
RSS_LIMIT_MB = 8192           # torch + the detector take ~1.5 GB; more than this is a finding


def target_names() -> list[str]:
    return sorted(p.stem for p in TARGETS.glob("*.py") if not p.name.startswith("_"))


def load_target(name: str):
    """The target module (imported from its file: scripts/ is not a package)."""
    import importlib.util

    path = TARGETS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"fuzz_target_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def seeds_of(module) -> list[bytes]:
    seeds = module.seeds() if hasattr(module, "seeds") else getattr(module, "SEEDS", [])
    return [bytes(s) for s in seeds]


# ------------------------------------------------------------------ the child: one atheris process
def child(name: str, seconds: int, corpus: Path, crashes: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["difffake"]):   # coverage of difffake's own code
        module = load_target(name)
        from difffake.errors import DifffakeError

    def test_one_input(data: bytes) -> None:
        try:
            module.one_input(data)
        except DifffakeError:
            pass   # an expected, well-formed refusal

    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}", f"-artifact_prefix={crashes}/",
                   "-print_final_stats=1", f"-timeout={PER_INPUT_TIMEOUT_S}", f"-rss_limit_mb={RSS_LIMIT_MB}",
                   "-report_slow_units=100000", str(corpus)], test_one_input)
    atheris.Fuzz()


# ------------------------------------------------------------------ the parent
def run_target(name: str, seconds: float, corpus_root: Path | None, crashes_root: Path) -> dict:
    crashes = crashes_root / name
    crashes.mkdir(parents=True, exist_ok=True)
    corpus = (corpus_root / name) if corpus_root else Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds_of(load_target(name))):
        (corpus / f"seed-{i:03d}").write_bytes(seed)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"),
                                                                     os.environ.get("PYTHONPATH")]))}
    start, runs, found, errors, tail = time.monotonic(), 0, [], [], ""
    while (left := seconds - (time.monotonic() - start)) >= 1:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--seconds", str(int(left)),
               "--corpus", str(corpus), "--crashes", str(crashes)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=left + 180)
            out, code = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:   # libFuzzer's own clock did not stop it
            out = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
            code = "timeout"
        runs += executed(out)
        # the same crash found again after a restart is written to the same file name
        new = [Path(m) for m in re.findall(r"Test unit written to (\S+)", out)]
        found += [p for p in new if p not in found]
        tail = out[-6000:]
        if new:
            print(f"--- {name}: {', '.join(p.name for p in new)}\n{tail}", file=sys.stderr)
        if code == 0 or len(found) >= MAX_CRASHES:
            break
        if not new:   # failed without an input to blame: the harness itself is broken
            errors.append(f"exit {code}")
            print(f"--- {name}: the fuzzer failed without a crash input (exit {code})\n{tail}", file=sys.stderr)
            break
    return {"target": name, "runs": runs, "seconds": round(time.monotonic() - start, 1),
            "crashes": len(found), "files": [str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)
                                             for p in found], "errors": errors, "corpus": len(list(corpus.iterdir()))}


def executed(output: str) -> int:
    """Inputs run, from libFuzzer's final stats (or its last status line when it stopped at a crash)."""
    stat = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
    if stat:
        return int(stat[-1])
    lines = re.findall(r"^#(\d+)\s", output, flags=re.MULTILINE)
    return int(lines[-1]) if lines else 0


def table(rows: list[dict], seconds: float) -> str:
    lines = ["| target | runs | seconds | crashes | corpus | crash files |", "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        files = ", ".join(f"`{f}`" for f in r["files"]) or ("harness failed: " + "; ".join(r["errors"])
                                                            if r["errors"] else "-")
        lines.append(f"| {r['target']} | {r['runs']} | {r['seconds']} | {r['crashes']} | {r['corpus']} | {files} |")
    head = (f"Fuzzing (atheris, libFuzzer) for {seconds:g} s per target on {platform.node() or 'this machine'} "
            f"({os.cpu_count()} cores), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n"
            f"Command: `python scripts/fuzz/run.py {' '.join(sys.argv[1:])}`\n")
    return head + "\n" + "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="all", help=f"one of {', '.join(target_names())}, or all")
    p.add_argument("--seconds", type=float, default=60.0, help="time per target")
    p.add_argument("--corpus", type=Path, default=None, help="keep each target's corpus in DIR/<target>")
    p.add_argument("--crashes", type=Path, default=CRASHES, help="crash inputs go to DIR/<target>/")
    p.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, int(args.seconds), args.corpus, args.crashes)
        return 0
    names = target_names() if args.target == "all" else [args.target]
    unknown = [n for n in names if n not in target_names()]
    if unknown:
        p.error(f"unknown target {unknown[0]!r}: choose one of {', '.join(target_names())} or all")
    rows = [run_target(n, args.seconds, args.corpus, args.crashes) for n in names]
    text = table(rows, args.seconds)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 1 if any(r["crashes"] or r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
