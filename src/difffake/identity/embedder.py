"""Identity descriptors: dlib's face-recognition ResNet (128-d) on the face store's crops.

The face pipeline already found 68 landmarks per face frame (in crop pixels), so
the descriptor is computed from a dlib.full_object_detection built from them:
no second detection pass. dlib aligns the face to a 150 px chip itself.

The model file `dlib_face_recognition_resnet_model_v1.dat` ships in the
`face-recognition-models` package (located by path, as faces/detect.py does).
On this project's CPU one descriptor costs 50-130 ms (dlib's wheel has no
BLAS), about as much as detecting the face: so only `max_frames` face frames
per video, evenly spread, get a descriptor. The others, and faces smaller than
`min_face_px`, get a row of NaN, keeping the contract "one row per face frame"
of every embedder (and of the embedding cache).
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from ..faces.detect import models_dir

MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
DESCRIPTOR_SIZE = 128


def spread_positions(n: int, k: int | None) -> np.ndarray:
    """`k` evenly spread positions in range(n) (all when k is None or >= n)."""
    if k is None or k >= n:
        return np.arange(n, dtype=np.int64)
    if k <= 0:
        return np.zeros(0, np.int64)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


def face_heights_px(record) -> np.ndarray:
    """Per sampled frame: landmark box height (brows to chin) in SOURCE-frame pixels; NaN without a face.

    Crops may have been shrunk for the store: the crop box (frame pixels) over the
    crop's width gives the factor back.
    """
    out = np.full(record.num_frames, np.nan)
    for i in record.face_positions():
        lm = np.asarray(record.landmarks[i], np.float64)
        height = float(lm[:, 1].max() - lm[:, 1].min())
        crop = record.crops[i]
        box = np.asarray(record.boxes[i], np.float64)
        if crop is not None and np.all(np.isfinite(box)) and crop.shape[1] > 0:
            height *= (box[2] - box[0]) / crop.shape[1]
        out[i] = height
    return out


class DlibIdentityEmbedder:
    """128-d identity descriptors; distance < ~0.6 is dlib's usual "same person"."""

    name = "dlib-face-id"
    embedding_size = DESCRIPTOR_SIZE

    def __init__(self, max_frames: int | None = 8, min_face_px: float = 40.0, padding: float = 0.25):
        import dlib  # here, so that `difffake --help` stays fast

        self._dlib = dlib
        self.model_path = models_dir() / MODEL_FILE
        if not self.model_path.is_file():
            raise FileNotFoundError(f"{self.model_path}: face-recognition model missing from "
                                    "face-recognition-models")
        self._net = dlib.face_recognition_model_v1(str(self.model_path))
        self.max_frames = max_frames
        self.min_face_px = float(min_face_px)
        self.padding = float(padding)

    def settings(self) -> dict:
        return {"name": self.name, "max_frames": self.max_frames, "min_face_px": self.min_face_px,
                "padding": self.padding, "model": MODEL_FILE}

    def fingerprint(self) -> str:
        """The embedding-cache key: model file bytes + settings."""
        digest = hashlib.sha256(json.dumps(self.settings(), sort_keys=True).encode())
        with open(self.model_path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def usable_positions(self, record, max_frames: int | None | str = "default") -> np.ndarray:
        """Face-frame rows (0..num_faces-1) that get a descriptor: big enough, evenly spread."""
        k = self.max_frames if max_frames == "default" else max_frames
        heights = face_heights_px(record)[record.face_positions()]
        big = np.flatnonzero(heights >= self.min_face_px)
        return big[spread_positions(len(big), k)]

    def descriptor(self, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        dlib = self._dlib
        img = np.ascontiguousarray(crop, dtype=np.uint8)
        h, w = img.shape[:2]
        points = [dlib.point(int(round(float(x))), int(round(float(y)))) for x, y in landmarks]
        shape = dlib.full_object_detection(dlib.rectangle(0, 0, w - 1, h - 1), points)
        chip = dlib.get_face_chip(img, shape, 150, self.padding)
        return np.asarray(self._net.compute_face_descriptor(chip), np.float32)

    def embed_record(self, record, max_frames: int | None | str = "default") -> np.ndarray:
        """(num_faces, 128) float32, one row per face frame in order; NaN rows were not computed.

        `max_frames`: descriptors at most (None: every big-enough face; default: the embedder's).
        """
        faces = record.face_positions()
        out = np.full((len(faces), DESCRIPTOR_SIZE), np.nan, np.float32)
        for row in self.usable_positions(record, max_frames):
            i = faces[row]
            if record.crops[i] is None:
                raise ValueError(f"{record.video_id}: record was loaded without crops")
            out[row] = self.descriptor(record.crops[i], record.landmarks[i])
        return out
