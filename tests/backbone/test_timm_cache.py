"""backbone.timm_cache: timm's pretrained weights found in the local caches only (never a download)."""
import pytest

from difffake.backbone.timm_cache import HUB_FILES, candidate_files

NAME = "tf_efficientnet_lite0"
REPO_FOLDER = "models--timm--tf_efficientnet_lite0.in1k"     # timm's hf_hub_id, as the hub cache names it
LEGACY = "tf_efficientnet_lite0-0aa007d2.pth"                  # the file name of timm's legacy url


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Empty Hugging Face and torch hub caches in tmp_path (env vars only)."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "hf", tmp_path / "torch" / "hub" / "checkpoints"


def _hub_snapshot(hf, commit="0123abcd"):
    folder = hf / REPO_FOLDER
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    snap = folder / "snapshots" / commit
    snap.mkdir(parents=True)
    return snap


def test_empty_caches_find_nothing_and_say_where_they_looked(caches):
    hf, legacy = caches
    found, looked = candidate_files(NAME)
    assert found == []
    assert looked == [str(hf / REPO_FOLDER / "snapshots" / "<main>" / "model.safetensors"),
                      str(hf / REPO_FOLDER / "snapshots" / "<main>" / "pytorch_model.bin"),
                      str(legacy / LEGACY)]
    assert HUB_FILES == ("model.safetensors", "pytorch_model.bin")


def test_hub_cache_files_are_found_best_first(caches):
    hf, _ = caches
    snap = _hub_snapshot(hf)
    (snap / "pytorch_model.bin").write_bytes(b"weights")
    assert candidate_files(NAME)[0] == [snap / "pytorch_model.bin"]
    (snap / "model.safetensors").write_bytes(b"weights")
    assert candidate_files(NAME)[0] == [snap / "model.safetensors", snap / "pytorch_model.bin"]


def test_a_cached_absence_or_another_revision_is_not_a_hit(caches):
    hf, _ = caches
    snap = _hub_snapshot(hf, commit="aaaa")
    (snap / "model.safetensors").write_bytes(b"weights")
    (hf / REPO_FOLDER / "refs" / "main").write_text("bbbb")          # main moved on; its snapshot is not here
    assert candidate_files(NAME)[0] == []
    (hf / REPO_FOLDER / "snapshots" / "bbbb").mkdir()
    (hf / REPO_FOLDER / ".no_exist" / "bbbb").mkdir(parents=True)
    (hf / REPO_FOLDER / ".no_exist" / "bbbb" / "model.safetensors").write_text("")
    (hf / REPO_FOLDER / "snapshots" / "bbbb" / "pytorch_model.bin").write_bytes(b"weights")
    assert candidate_files(NAME)[0] == [hf / REPO_FOLDER / "snapshots" / "bbbb" / "pytorch_model.bin"]


def test_torch_hub_legacy_checkpoint_is_found_after_the_hub_files(caches):
    hf, legacy = caches
    legacy.mkdir(parents=True)
    (legacy / LEGACY).write_bytes(b"weights")
    assert candidate_files(NAME)[0] == [legacy / LEGACY]
    snap = _hub_snapshot(hf)
    (snap / "model.safetensors").write_bytes(b"weights")
    assert candidate_files(NAME)[0] == [snap / "model.safetensors", legacy / LEGACY]


def test_a_folder_named_like_a_weights_file_is_not_found(caches):
    _, legacy = caches
    (legacy / LEGACY).mkdir(parents=True)
    assert candidate_files(NAME)[0] == []


@pytest.mark.parametrize("env, where", [
    ({"HF_HOME": "home_hf"}, "home_hf/hub"),
    ({"XDG_CACHE_HOME": "xdg"}, "xdg/huggingface/hub"),
    ({"HOME": "user"}, "user/.cache/huggingface/hub"),
    ({"HF_HUB_CACHE": "direct", "HF_HOME": "home_hf"}, "direct"),
])
def test_the_hub_cache_folder_follows_the_environment(tmp_path, monkeypatch, env, where):
    for var in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for var, value in env.items():
        monkeypatch.setenv(var, str(tmp_path / value))
    _, looked = candidate_files(NAME)
    assert looked[0] == str(tmp_path / where / REPO_FOLDER / "snapshots" / "<main>" / "model.safetensors")


def test_a_model_without_pretrained_weights_says_so(caches):
    assert candidate_files("no_such_model_xyz") == ([], ["timm has no pretrained weights for 'no_such_model_xyz'"])
