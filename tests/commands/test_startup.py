"""Start-up: the malloc restart only where it pays, and never into code from the current folder."""
import os
import subprocess
import sys

import pytest

from difffake.backbone.malloc import GUARD, MALLOC_ENV, OPT_OUT, pays_off


@pytest.mark.parametrize("args, expected", [
    (["scan", "a.mp4"], False),                       # ONNX Runtime: nothing to gain
    (["scan", "a.mp4", "--engine", "torch"], True),
    (["scan", "a.mp4", "--engine=torch"], True),
    (["scan", "a.mp4", "--device", "cuda"], True),
    (["-v", "train", "--store", "s"], True),
    (["fit", "--backbone", "b"], True),
    (["prepare", "x", "--store", "s"], False),
    ([], False),
])
def test_restart_only_for_torch_work(args, expected):
    assert pays_off(args) is expected


@pytest.mark.skipif(sys.platform != "linux" or sys.version_info < (3, 11), reason="glibc restart, -P")
def test_restart_never_imports_a_difffake_folder_in_the_current_directory(tmp_path):
    fake = tmp_path / "difffake"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text("print('WRONG PACKAGE')\n")
    env = {k: v for k, v in os.environ.items() if k not in (GUARD, OPT_OUT, *MALLOC_ENV)}
    # as the installed entry point starts: the current folder is not on sys.path (-P)
    code = "import sys; sys.argv = ['difffake', 'export', '--help']; from difffake.cli import main; sys.exit(main())"
    out = subprocess.run([sys.executable, "-P", "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "WRONG PACKAGE" not in out.stdout
    assert "backbone.onnx" in out.stdout   # the real `export --help`, after the restart
