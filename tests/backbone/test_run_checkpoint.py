"""backbone.run_checkpoint: the backbone of an unfinished training run (best checkpoint, else latest state)."""
import copy
import dataclasses
import json

import pytest
import torch

from difffake.backbone.checkpoints import save_model_state, save_training_state
from difffake.backbone.model import Backbone
from difffake.backbone.run_checkpoint import describe, find_checkpoint, load_checkpoint_backbone
from difffake.config import BackboneConfig
from difffake.errors import FileError

CFG = BackboneConfig(pretrained="lite0-package", input_size=32, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))


@pytest.fixture(scope="module")
def trained():
    """A backbone whose weights differ from any fresh one's (its head is set by hand)."""
    model = Backbone(dataclasses.replace(CFG, pretrained="none"), load_weights=False).eval()
    with torch.no_grad():
        model.head.weight.copy_(torch.arange(model.head.weight.numel(), dtype=torch.float32)
                                .reshape(model.head.weight.shape) / 1000)
        model.head.bias.copy_(torch.tensor([0.25, -0.75]))
    return model


def _run(tmp_path, best=(), history=2, step=300, config=None):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    backbone = dataclasses.asdict(CFG) if config is None else config
    (run / "config.json").write_text(json.dumps({"backbone": backbone, "preset": "cpu"}))
    (run / "last.json").write_text(json.dumps({"step": step, "history": [{}] * history, "best": list(best)}))
    return run


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_no_checkpoint_without_last_json_config_or_weights(tmp_path):
    assert find_checkpoint(tmp_path / "nowhere") is None
    run = _run(tmp_path)
    assert find_checkpoint(run) is None                      # no best list, no last.safetensors
    (run / "last.safetensors").write_bytes(b"x")
    (run / "config.json").unlink()
    assert find_checkpoint(run) is None                      # not a run folder without config.json


def test_the_first_best_entry_whose_file_exists_is_taken(tmp_path, trained):
    best = [{"epoch": 4, "val_auc": 0.91, "path": "checkpoints/epoch_004.safetensors"},   # deleted
            {"epoch": 2, "val_auc": 0.87, "path": "checkpoints/epoch_002.safetensors"}]
    run = _run(tmp_path, best=best, history=5, step=750)
    save_model_state(run / best[1]["path"], trained, {"epoch": 2})
    (run / "last.safetensors").write_bytes(b"not used")
    path, kind, facts = find_checkpoint(run)
    assert (path, kind) == (run / "checkpoints" / "epoch_002.safetensors", "best")
    assert facts == {"step": 750, "epochs_done": 5, "epoch": 2, "val_auc": 0.87}
    assert describe(path, kind, facts) == (f"its best checkpoint {path} (epoch 2, validation AUC 0.8700; "
                                           f"5 epochs, step 750)")


def test_a_best_entry_outside_checkpoints_is_ignored(tmp_path, trained):
    run = _run(tmp_path, best=[{"epoch": 1, "val_auc": 0.9, "path": "../elsewhere.safetensors"},
                               {"epoch": 1, "val_auc": 0.9, "path": "last.safetensors"}], history=0, step=12)
    save_model_state(tmp_path / "elsewhere.safetensors", trained, {})
    (run / "last.safetensors").write_bytes(b"x")
    path, kind, facts = find_checkpoint(run)
    assert (path, kind, facts) == (run / "last.safetensors", "latest", {"step": 12, "epochs_done": 0})
    assert describe(path, kind, facts) == (f"its latest state {path} (step 12, 0 epochs done: "
                                           f"no validated checkpoint yet)")


@pytest.mark.parametrize("text, reason", [("{broken", "unreadable (JSONDecodeError: "),
                                          ("[1]", "expected a JSON object")])
def test_a_damaged_last_json_is_a_file_error_naming_it(tmp_path, text, reason):
    run = _run(tmp_path)
    (run / "last.json").write_text(text)
    with pytest.raises(FileError) as info:
        find_checkpoint(run)
    assert info.value.path == str(run / "last.json") and info.value.reason.startswith(reason)


def test_best_checkpoint_loads_with_identical_tensors_and_says_where_from(tmp_path, trained):
    best = [{"epoch": 3, "val_auc": 0.8, "path": "checkpoints/epoch_003.safetensors"}]
    run = _run(tmp_path, best=best, history=3, step=90)
    save_model_state(run / best[0]["path"], trained, {"epoch": 3})
    found = find_checkpoint(run)
    model = load_checkpoint_backbone(run, *found)
    assert _same_weights(model, trained) and not model.training
    assert not _same_weights(Backbone(dataclasses.replace(CFG, pretrained="none"), load_weights=False), trained)
    assert model.cfg == CFG                       # the run's settings, pretrained origin included
    assert model.info == {"run_dir": str(run), "unfinished_run": True, "checkpoint": str(found[0]),
                          "checkpoint_kind": "best", "step": 90, "epochs_done": 3, "epoch": 3, "val_auc": 0.8}


def test_latest_state_loads_the_model_tensors_beside_the_optimizers(tmp_path, trained):
    run = _run(tmp_path, history=1, step=40)
    trained = copy.deepcopy(trained)               # the step below changes its weights
    optimizer = torch.optim.SGD(trained.parameters(), lr=0.1, momentum=0.9)
    trained.zero_grad()
    trained.head(torch.ones(1, trained.embedding_size)).sum().backward()
    optimizer.step()                               # momentum buffers: opt.* tensors in the file
    optimizer.zero_grad()
    save_training_state(run / "last", trained, optimizer, {"step": 40, "history": [{}], "best": []})
    found = find_checkpoint(run)
    assert found[1] == "latest"
    model = load_checkpoint_backbone(run, *found)
    assert _same_weights(model, trained)
    assert model.info["checkpoint_kind"] == "latest" and model.info["step"] == 40


def test_a_corrupt_checkpoint_is_a_file_error_naming_it(tmp_path, trained):
    best = [{"epoch": 1, "val_auc": 0.7, "path": "checkpoints/epoch_001.safetensors"}]
    run = _run(tmp_path, best=best)
    path = run / best[0]["path"]
    save_model_state(path, trained, {})
    path.write_bytes(path.read_bytes()[:5000])     # cut short
    with pytest.raises(FileError) as info:
        load_checkpoint_backbone(run, *find_checkpoint(run))
    assert info.value.path == str(path)
    assert info.value.reason.startswith("cannot load as a tf_efficientnet_lite0 backbone (")


def test_weights_of_another_architecture_are_refused(tmp_path, trained):
    best = [{"epoch": 1, "val_auc": 0.7, "path": "checkpoints/epoch_001.safetensors"}]
    run = _run(tmp_path, best=best)
    state = {k: v for k, v in trained.state_dict().items() if not k.startswith("head.")}
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in state.items()}, str(run / best[0]["path"]))
    with pytest.raises(FileError, match=r'(?s)backbone \(RuntimeError: .*Missing key\(s\) in state_dict: "head.weight"'):
        load_checkpoint_backbone(run, *find_checkpoint(run))


@pytest.mark.parametrize("config, reason", [
    ({"name": "tf_efficientnet_lite0"}, "no complete 'backbone' settings"),
    ("tf_efficientnet_lite0", "no complete 'backbone' settings"),
    ({**dataclasses.asdict(CFG), "colour": 1}, "unknown setting 'colour' in backbone"),
])
def test_run_settings_must_describe_the_backbone(tmp_path, trained, config, reason):
    best = [{"epoch": 1, "val_auc": 0.7, "path": "checkpoints/epoch_001.safetensors"}]
    run = _run(tmp_path, best=best, config=config)
    save_model_state(run / best[0]["path"], trained, {})
    with pytest.raises(FileError) as info:
        load_checkpoint_backbone(run, *find_checkpoint(run))
    assert info.value.path == str(run / "config.json") and info.value.reason.startswith(reason)
