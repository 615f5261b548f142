"""The backbone run by ONNX Runtime: embeddings + classifier probability without torch.

`backbone.onnx` (written by `difffake export`, see backbone.onnx_graph) is one
graph with input "image" (N, 3, S, S) float32 and outputs "embedding" (N, D)
and "logits" (N, 2). Crops are preprocessed by faces.preprocess, the
function the torch engine uses, so both engines are fed identical pixels.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np

from ..config import BackboneConfig
from ..errors import FileError
from ..faces.preprocess import preprocess_batch
from .meta import read_backbone_json

ONNX_FILE = "backbone.onnx"
INPUT, OUTPUTS = "image", ("embedding", "logits")


def softmax_fake(logits: np.ndarray) -> np.ndarray:
    """P(class 1 = fake) of (N, 2) logits, computed as torch.softmax does (max-shifted)."""
    z = np.asarray(logits, np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e[:, 1] / e.sum(axis=1)).astype(np.float32)


class OnnxBackbone:
    """Same calls as the torch `Backbone` that scanning and the embedding cache need (no `head`,
    no `state_dict`: `fingerprint` hashes the graph file)."""

    engine = "onnx"

    def __init__(self, onnx_path, meta: dict, threads: int | None = None):
        from ..third_party import onnxruntime  # telemetry off: no device id under $HOME
        ort = onnxruntime()

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3   # warnings about unused initialisers are noise here
        # Idle pool threads sleep instead of spinning: a scan embeds while its frames are decoded and
        # searched on the same cores (embed_ahead); alone the network runs as fast (0.23 s / 32 crops).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = Path(onnx_path)
        try:   # on some bad graphs ONNX Runtime prints "EP Error ..." with print(): keep stdout for results
            with contextlib.redirect_stdout(sys.stderr):
                self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:   # ONNX Runtime's errors (InvalidProtobuf, Fail, ...) share no other base
            raise FileError(self.path, f"not a usable ONNX graph ({type(exc).__name__}: {exc})"[:600]) from exc
        names = ([i.name for i in self.session.get_inputs()], [o.name for o in self.session.get_outputs()])
        if names[0] != [INPUT] or names[1][:2] != list(OUTPUTS):
            raise FileError(self.path, f"graph has inputs {names[0]} and outputs {names[1]}; expected "
                                       f"[{INPUT!r}] and {list(OUTPUTS)}")
        self.cfg = BackboneConfig(name=meta["timm_name"], pretrained=meta.get("weights_origin", "none"),
                                  input_size=int(meta["input_size"]), mean=tuple(meta["mean"]),
                                  std=tuple(meta["std"]))
        self.embedding_size = int(meta["embedding_size"])
        self.info = dict(meta.get("training", {}))
        self.sha256: str | None = None   # of the graph file, when the caller verified it already
        self._fingerprint: str | None = None

    @classmethod
    def load(cls, directory, threads: int | None = None) -> OnnxBackbone:
        """From a folder holding backbone.onnx and backbone.json (checksums checked by the caller)."""
        directory = Path(directory)
        meta = read_backbone_json(directory / "backbone.json")
        return cls(directory / ONNX_FILE, meta, threads=threads)

    @classmethod
    def load_verified(cls, directory, model_json: dict, device: str = "cpu",
                      threads: int | None = None) -> OnnxBackbone:
        """The embedder contract (difffake.engines): a checked detector folder, on the CPU."""
        backbone = cls.load(directory, threads=threads)
        backbone.sha256 = (model_json.get("checksums") or {}).get(ONNX_FILE)   # not hashed a second time
        return backbone

    def fingerprint(self) -> str:
        """The embedding cache key: the same graph file always gives the same key, never a torch one's."""
        if self._fingerprint is None:   # on first use only: a scan never needs it
            from ..fileio import sha256_file
            from .fingerprint import onnx_fingerprint
            self._fingerprint = onnx_fingerprint(self.cfg, self.sha256 or sha256_file(self.path))
        return self._fingerprint

    @property
    def input_size(self) -> int:
        return self.cfg.input_size

    def preprocess(self, crops) -> np.ndarray:
        return preprocess_batch(crops, self.input_size, self.cfg.mean, self.cfg.std)

    def embed_and_classify(self, crops, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """((N, D) float32 embeddings, (N,) P(fake)) of RGB uint8 crops, one pass of the graph."""
        crops = list(crops)
        embs, probs = [], []
        for i in range(0, len(crops), batch_size):
            emb, logits = self.session.run(list(OUTPUTS), {INPUT: self.preprocess(crops[i:i + batch_size])})
            embs.append(np.asarray(emb, np.float32))
            probs.append(softmax_fake(logits))
        if not embs:
            return np.zeros((0, self.embedding_size), np.float32), np.zeros(0, np.float32)
        return np.concatenate(embs), np.concatenate(probs)

    def embed_crops(self, crops, batch_size: int = 32) -> np.ndarray:
        return self.embed_and_classify(crops, batch_size)[0]

    def fake_probability(self, crops, batch_size: int = 32) -> np.ndarray:
        return self.embed_and_classify(crops, batch_size)[1]
