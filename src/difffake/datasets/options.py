"""The `KIND,option=value,...:ROOT` options of each dataset reader: checked
names, converted values and the help text `evaluate --help` and the README show.

A list value is written with "+" (methods=Deepfakes+Face2Face), because ","
already separates options. The help text lives next to the check so that a
reader parameter without a line of help fails the tests.
"""
from __future__ import annotations

import inspect

# kind -> option -> one line of help. Every reader parameter but the root is listed.
OPTIONS: dict[str, dict[str, str]] = {
    "ffpp": {
        "compression": "c23 (default), c40, c0 or raw",
        "methods": "Deepfakes+Face2Face+... (list with '+'), or 'all' for all six; "
                   "default the four standard ones",
        "splits": "folder of the official train/val/test.json (or one .json); "
                  "default ROOT/splits or ROOT/dataset/splits when split= is given",
        "split": "train, val or test: keep only that split (needs the split files)",
        "include_originals": "true (default) / false: list the real originals",
        "dataset": "name shown in the tables (default ffpp)",
    },
    "celebdf": {
        "test_list": "the official List_of_testing_videos.txt (1 = REAL, 0 = FAKE); "
                     "default ROOT/List_of_testing_videos.txt",
        "split": "test (the list) or train (every other video)",
        "dataset": "name shown in the tables (default celebdf)",
    },
    "dfo": {
        "ffpp_root": "FF++ root whose youtube originals are the reals (without it: fakes only)",
        "perturbation": "folder under manipulated_videos/ (default end_to_end; e.g. end_to_end_level_3, "
                        "end_to_end_mix_2_distortions, reenact_postprocess)",
        "compression": "compression of the FF++ reals (default c23)",
        "split_lists": "folder of train/val/test.txt (default ROOT/lists/splits)",
        "ffpp_splits": "FF++ split files giving the reals' split",
        "split": "train, val or test: keep only that split",
        "dataset": "name shown in the tables (default deeperforensics)",
    },
    "forgerynet": {
        "list_file": "the video list ('path label [type]', 1 = fake); default the first of "
                     "video_list.txt, Validation/video_list.txt, val_video_list.txt, ...",
        "split": "the split the list describes (default test)",
        "check_exists": "true (default) / false: skip listed videos missing on disk",
        "dataset": "name shown in the tables (default forgerynet)",
    },
    "dfdc": {
        "split": "train, val or test: keep only that split (metadata.json 'split', "
                 "or the folder name of a labels.csv)",
        "dataset": "name shown in the tables (default dfdc / dfdc-preview)",
    },
    "folder": {
        "dataset": "name shown in the tables (default the folder's name)",
    },
    "csv": {
        "split": "keep only rows whose split column is this",
        "dataset": "name shown in the tables (default the CSV's folder name)",
    },
}
OPTIONS["deeperforensics"] = OPTIONS["dfo"]

LIST_OPTIONS = {"methods"}
BOOL_OPTIONS = {"include_originals", "check_exists"}
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def reader_parameters(reader) -> list[str]:
    """Keyword options a reader takes (all but its first, the root)."""
    return list(inspect.signature(reader).parameters)[1:]


def check_options(kind: str, options: dict[str, str]) -> dict:
    """Raw 'key': 'value' strings -> reader keyword arguments; ValueError naming
    the option and the valid ones on a misspelt name or a bad value."""
    valid = OPTIONS.get(kind)
    if valid is None:
        raise ValueError(f"unknown dataset kind {kind!r}: choose from {', '.join(OPTIONS)}")
    out = {}
    for key, value in options.items():
        if key not in valid:
            raise ValueError(f"dataset {kind!r}: unknown option {key!r}; valid options: {', '.join(valid)}")
        if value == "":
            raise ValueError(f"dataset {kind!r}: option {key!r} has no value")
        if key in BOOL_OPTIONS:
            if value.lower() not in _BOOLS:
                raise ValueError(f"dataset {kind!r}: option {key}={value!r} is not true/false")
            out[key] = _BOOLS[value.lower()]
        elif key in LIST_OPTIONS and value != "all":
            out[key] = tuple(v.strip() for v in value.split("+") if v.strip())
        else:
            out[key] = value
        _check_value(kind, key, out[key])
    return out


def _check_value(kind: str, key: str, value) -> None:
    """Values with a closed set of choices are checked here, before any work starts."""
    from .ffpp import ALL_METHODS, COMPRESSIONS
    from .records import _SPLIT_ALIASES

    choices = {"compression": tuple(COMPRESSIONS), "split": tuple(_SPLIT_ALIASES)}.get(key)
    if choices and str(value).lower() not in choices:
        raise ValueError(f"dataset {kind!r}: {key}={value!r} is not one of {', '.join(choices)}")
    if key == "methods" and value != "all":
        unknown = [m for m in value if m not in ALL_METHODS]
        if unknown or not value:
            raise ValueError(f"dataset {kind!r}: methods {'+'.join(unknown) or '(empty)'} unknown; "
                             f"choose from {'+'.join(ALL_METHODS)} or 'all'")


def options_help() -> str:
    """The dataset options as an indented text block (for --help and the README)."""
    lines = ["dataset options (--dataset KIND,opt=value,opt=value:ROOT; list values joined with '+'):"]
    for kind, opts in OPTIONS.items():
        if kind == "deeperforensics":
            continue
        lines.append(f"  {kind}{' (also deeperforensics)' if kind == 'dfo' else ''}:")
        lines += [f"    {name:<18} {text}" for name, text in opts.items()]
    lines += ["  auto:ROOT guesses the kind from the tree.",
              "  examples: ffpp,compression=c40,split=test,splits=FF++/splits:/data/FF++",
              "            ffpp,methods=Deepfakes+Face2Face:/data/FF++   celebdf,split=test:/data/Celeb-DF-v2",
              "            dfdc:/data/dfdc/test   csv:/data/mine/labels.csv"]
    return "\n".join(lines)
