"""One versions helper: the record every saved model carries."""
import sys

import pytest

from difffake import __version__
from difffake.versions import versions


def test_named_libraries_only_and_always_difffake_and_python():
    v = versions("numpy", "sklearn")
    assert set(v) == {"difffake", "python", "numpy", "sklearn"}
    assert v["difffake"] == __version__
    import numpy
    assert v["numpy"] == numpy.__version__


def test_an_imported_module_gives_its_own_build_tag():
    import torch  # torch.__version__ carries "+cpu" / "+cu130", the metadata may not
    assert versions("torch")["torch"] == torch.__version__


def test_reading_versions_imports_nothing():
    import subprocess
    code = ("import sys; from difffake.versions import versions; v = versions();"
            "print(any(m in sys.modules for m in ('sklearn', 'torch', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_unknown_library_is_named():
    with pytest.raises(ValueError, match="'tensorflow'"):
        versions("tensorflow")
