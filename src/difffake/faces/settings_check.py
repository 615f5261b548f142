"""Does a face store hold crops made the way a preset makes them?

A backbone trained on crops of other face settings than its run records is a
silent mismatch. Compared: the settings that decide what a stored crop is,
which face (policy), its box (detector, crop_scale) and its resolution
(store_max_side); the presets differ in the policy. Not compared: how many
frames a video gives (num_frames, which `prepare --frames` sets on purpose)
and how hard the search tries (fallback, upsampling, ROI search, identity
split; stores older than a setting record its old value, see faces.store).
"""
from __future__ import annotations

import dataclasses
import json

from ..config import FaceConfig, section_from_dict

COMPARED = ("policy", "detector", "crop_scale", "store_max_side")


def _plain(value):
    return json.loads(json.dumps(value))   # tuples as lists, as stored


def face_settings_diff(stored: dict, wanted: FaceConfig) -> dict:
    """{setting: (store's value, wanted value)} for the crop-defining settings that differ.

    Settings the store does not record are not compared (hand-made or very old stores).
    """
    want = _plain(dataclasses.asdict(wanted))
    return {k: (stored[k], want[k]) for k in sorted(want)
            if k in COMPARED and k in stored and _plain(stored[k]) != want[k]}


def describe_diff(diff: dict, wanted: str = "preset") -> str:
    return ", ".join(f"{k} {a!r} (store) vs {b!r} ({wanted})" for k, (a, b) in diff.items())


def face_config_of(stored: dict) -> FaceConfig:
    """The FaceConfig a store's settings.json describes (unknown keys left out, missing ones default)."""
    return section_from_dict(FaceConfig, stored, "face store settings", unknown="drop")
