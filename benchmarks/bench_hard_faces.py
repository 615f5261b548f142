"""Hard-face check: face rate and CPU seconds per frame of each face detector configuration.

Usage:  nice -n 5 python benchmarks/bench_hard_faces.py --work DIR --part hard|pool [--photos 6] [--clip-frames 12]
Writes benchmarks/results/hard_faces.md (--part hard) or hard_faces_pool.md (--part pool;
the two parts can run side by side). Detection only: nothing is fitted or tuned.

Configurations (FaceConfig): hog = dlib HOG with its fallbacks (fallback "none", the
detector before issue 10), hog+mmod = the same with dlib's CNN as last fallback (the
default now), mmod = the CNN alone (detector "dlib-mmod").

Sets:
- hard photos: real photos of ../shared/data/real/photos whose face plain HOG finds in the
  original, each made hard six ways: dark (gamma 2.4 + sensor noise), darker (gamma 3.2 +
  more noise), small (shrunk so the face is ~56 px high in a 1920x1080 canvas), dark+small,
  tiny (a ~36 px face in 1080p), rolled (head rolled 45 degrees). The face's place is known,
  so a find counts only when its crop box holds the true face centre.
- hard clips: the profile / frame-edge clips of the real pool (every `--clip-frames`).
- dev and the real pool, from the HOG stores the lead made (/work/runs/stores): the frames
  HOG missed are re-run through the CNN (what hog+mmod adds), so the cost is measured on
  exactly those frames. Dev is only MEASURED here (nothing chosen on it).
Every configuration's hard-set crops land in a FaceStore under --work/<config>, to be
checked by eye with `difffake faces DIR/<config>`; the CNN's finds in dev / the real pool
go to --work/pool_mmod_finds.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import cv2
import numpy as np

from difffake.config import FaceConfig
from difffake.faces.crop import box_of, crop_face, shrink, union_box
from difffake.faces.detectors import make_detector
from difffake.faces.mmod import MmodDetector
from difffake.faces.pipeline import detector_for, extract_faces, store_settings
from difffake.faces.store import FaceRecord, FaceStore
from difffake.faces.video import iter_frames

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"
STORES = Path("/work/runs/stores")
CLIPS = ["wyhsirius__LIA__data__ted__driving3.mp4", "wyhsirius__LIA__data__vox__driving3.mov"]
CONFIGS = {
    "hog": FaceConfig(num_frames=1, fallback="none", split_identity=False),
    "hog+mmod": FaceConfig(num_frames=1, fallback="dlib-mmod", split_identity=False),
    "mmod": FaceConfig(num_frames=1, detector="dlib-mmod", fallback="none", split_identity=False),
}
TAGS = ("dark", "darker", "small", "darksmall", "tiny", "rolled")
rng = np.random.default_rng(0)


def darken(rgb, gamma=2.4, noise=4.0):
    dark = 255.0 * (rgb / 255.0) ** gamma + rng.normal(0, noise, rgb.shape)
    return np.clip(dark, 0, 255).astype(np.uint8)


def into_1080p(rgb, box, face_px=56):
    """`rgb` scaled so its face box is `face_px` high, pasted into a grey 1920x1080 frame."""
    s = face_px / max(1.0, box[3] - box[1])
    small = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)[:1080, :1920]
    frame = np.full((1080, 1920, 3), 60, np.uint8)
    x, y = 1200, 500
    h, w = min(small.shape[0], 1080 - y), min(small.shape[1], 1920 - x)
    frame[y:y + h, x:x + w] = small[:h, :w]
    return frame, [box[0] * s + x, box[1] * s + y, box[2] * s + x, box[3] * s + y]


def rolled(rgb, box, degrees=45):
    """The photo rotated about its face centre (the centre stays: the truth box keeps it)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    m = cv2.getRotationMatrix2D((cx, cy), degrees, 1.0)
    return cv2.warpAffine(rgb, m, rgb.shape[1::-1], borderMode=cv2.BORDER_REFLECT), box


def hard_photos(work: Path, n: int) -> list[tuple[Path, list]]:
    """(PNG path, true face box) of the hard variants of `n` real photos."""
    hog = make_detector("dlib-hog", fallback="none", upsample_max=0)
    photos = sorted((REAL / "photos").iterdir())
    out, used = [], 0
    folder = work / "hard_frames"
    folder.mkdir(parents=True, exist_ok=True)
    for path in photos[:: max(1, len(photos) // (3 * n))]:
        bgr = cv2.imread(str(path))
        if bgr is None or max(bgr.shape[:2]) < 200:
            continue
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        boxes, _ = hog.detect_boxes(rgb)
        if len(boxes) != 1:           # one clear face: its place is the truth
            continue
        box = list(boxes[0][0])
        small, sbox = into_1080p(rgb, box)
        tiny, tbox = into_1080p(rgb, box, face_px=36)
        variants = (("dark", darken(rgb), box), ("darker", darken(rgb, 3.2, 8.0), box),
                    ("small", small, sbox), ("darksmall", darken(small), sbox), ("tiny", tiny, tbox),
                    ("rolled", *rolled(rgb, box)))
        for tag, img, b in variants:
            p = folder / f"{path.stem}__{tag}.png"
            cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            out.append((p, b))
        used += 1
        if used == n:
            break
    return out


def run_config(name, cfg, photos, clip_frames, work):
    det = detector_for(cfg)
    store = FaceStore(work / name, store_settings(dataclasses.replace(cfg, num_frames=clip_frames)))
    rows = {}
    for tag in TAGS:
        items = [(p, b) for p, b in photos if p.stem.endswith("__" + tag)]
        hit, cpu = 0, 0.0
        for p, b in items:
            t = time.process_time()
            rec = extract_faces(p, cfg, det, video_id=p.name)
            cpu += time.process_time() - t
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            x0, y0, x1, y1 = rec.boxes[0]
            hit += bool(rec.has_face[0] and x0 <= cx <= x1 and y0 <= cy <= y1)
            store.save(rec)
        rows[f"photos {tag}"] = (hit, len(items), cpu)
    for clip in CLIPS:
        t = time.process_time()
        rec = extract_faces(REAL / "videos" / clip, dataclasses.replace(cfg, num_frames=clip_frames), det,
                            video_id=clip)
        rows[f"clip {clip}"] = (rec.num_faces, rec.num_frames, time.process_time() - t)
        store.save(rec)
    return rows


def pool_misses(store_root: Path, mmod: MmodDetector, out: FaceStore, only_videos: bool, max_videos: int):
    """(frames, HOG faces, HOG misses tried, CNN finds among them, HOG wall s, CNN CPU s, videos tried)."""
    store = FaceStore(store_root)
    frames = faces = finds = tried = 0
    hog_s = mmod_s = 0.0
    touched = 0
    for vid in store.ids():
        if only_videos and not vid.startswith("videos/"):
            continue
        rec = store.load(vid, with_crops=False)
        frames += rec.num_frames
        faces += rec.num_faces
        hog_s += float(rec.meta.get("seconds", 0.0))
        missed = {int(rec.frame_indices[i]) for i in np.flatnonzero(~rec.has_face)}
        if not missed or (max_videos and touched == max_videos):
            continue
        touched += 1
        tried += len(missed)
        got = dict(idx=[], box=[], lm=[], crop=[], score=[])
        for index, rgb in iter_frames(rec.meta["source"], rec.num_frames, {}):
            if index not in missed:
                continue
            t = time.process_time()
            found = mmod.detect(rgb)
            mmod_s += time.process_time() - t
            if not found:
                continue
            face = max(found, key=lambda f: f.area)
            crop, cb, lm = crop_face(rgb, union_box(face.box, box_of(face.landmarks)), 1.3,
                                     landmarks=face.landmarks)
            crop, lm = shrink(crop, lm, 384)
            for k, v in (("idx", index), ("box", cb), ("lm", lm), ("crop", crop), ("score", face.score)):
                got[k].append(v)
        finds += len(got["idx"])
        if got["idx"]:
            n = len(got["idx"])
            out.save(FaceRecord(video_id=f"{store_root.name}/{vid}", frame_indices=np.array(got["idx"]),
                                has_face=np.ones(n, bool), boxes=np.array(got["box"], np.float32),
                                landmarks=np.stack(got["lm"]).astype(np.float32),
                                scores=np.array(got["score"], np.float32), crops=got["crop"],
                                meta=dict(source=rec.meta["source"], stages={"mmod": n})))
    return frames, faces, tried, finds, hog_s, mmod_s, touched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", required=True, help="folder for the hard frames and the crop stores")
    ap.add_argument("--photos", type=int, default=6)
    ap.add_argument("--clip-frames", type=int, default=12)
    ap.add_argument("--part", choices=("hard", "pool"), required=True)
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--pool-videos", type=int, default=0,
                    help="re-run HOG's misses of at most this many videos per store (0: all)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if not REAL.is_dir():
        raise SystemExit(f"{REAL}: missing (needs ../shared/data)")
    work = Path(args.work)
    load = os.getloadavg()[0]
    out = Path(args.out or REPO / "benchmarks" / "results" /
               ("hard_faces.md" if args.part == "hard" else "hard_faces_pool.md"))
    if args.part == "pool":
        return write(out, pool_table(work, load, args.pool_videos))
    photos = hard_photos(work, args.photos)
    print(f"{len(photos)} hard photo variants", flush=True)
    results = {}
    configs = {k: CONFIGS[k] for k in args.configs}
    for name, cfg in configs.items():
        results[name] = run_config(name, cfg, photos, args.clip_frames, work)
        print(name, results[name], flush=True)
    lines = ["# Hard-face check: face rate and CPU seconds per frame", "",
             f"`nice -n 5 python benchmarks/bench_hard_faces.py --work {work} --photos {args.photos} "
             f"--clip-frames {args.clip_frames} --configs {' '.join(configs)}` (load average {load:.1f} on {os.cpu_count()} cores: "
             "CPU seconds by `time.process_time`, wall time would mostly measure the other jobs).", "",
             "Face rate = frames with the face / frames (photos: the crop must hold the true face centre).", "",
             "| set | frames | " + " | ".join(f"{n} rate | {n} s/frame" for n in configs) + " |",
             "|---|---:|" + "---:|---:|" * len(configs)]
    for key in results[args.configs[0]]:
        n = results[args.configs[0]][key][1]
        cells = [f"{results[c][key][0] / n:.2f} ({results[c][key][0]}) | {results[c][key][2] / n:.2f}"
                 for c in configs]
        lines.append(f"| {key} | {n} | " + " | ".join(cells) + " |")
    write(out, lines)


def write(out: Path, lines: list) -> None:
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


def pool_table(work: Path, load: float, max_videos: int) -> list:
    mmod = MmodDetector()
    finds_store = FaceStore(work / "pool_mmod_finds", {"what": "CNN finds among HOG's misses"})
    lines = ["# dev and the real pool: what the CNN fallback adds to HOG", "",
             f"`nice -n 5 python benchmarks/bench_hard_faces.py --work {work} --part pool "
             f"--pool-videos {max_videos}` (load average {load:.1f} on {os.cpu_count()} cores).", "",
             "HOG = the stores the lead made with HOG (`/work/runs/stores`, 32 frames, track); "
             "hog+mmod = HOG's faces + the CNN's finds on HOG's missed frames (of the first `--pool-videos` "
             "videos with misses when set: then a lower bound). HOG s/frame is the stores' own wall time "
             "per frame at prepare time; the CNN's is CPU time (`time.process_time`) here.", "",
             "| set | videos | frames | HOG rate | hog+mmod rate | HOG misses | misses tried (videos) | "
             "CNN finds | HOG s/frame | CNN s per tried frame |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, root, only_videos in (("dev (all)", STORES / "dev", False),
                                     ("real pool videos", STORES / "real", True)):
        if not (root / "settings.json").exists():
            lines.append(f"| {label} | store {root} missing | | | | | | | | |")
            continue
        frames, faces, tried, finds, hog_s, mmod_s, touched = pool_misses(root, mmod, finds_store,
                                                                          only_videos, max_videos)
        vids = sum(1 for v in FaceStore(root).ids() if not only_videos or v.startswith("videos/"))
        lines.append(f"| {label} | {vids} | {frames} | {faces / frames:.3f} | {(faces + finds) / frames:.3f} | "
                     f"{frames - faces} | {tried} ({touched}) | {finds} | {hog_s / frames:.3f} | "
                     f"{mmod_s / max(1, tried):.2f} |")
        print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    main()
