"""Calibrate the identity check on REAL videos only and write identity.json into a detector folder.

    python scripts/calibrate_identity.py --store STORE_OF_REAL --detector DETECTOR_DIR [--cache DIR]

STORE_OF_REAL is a face store of ../shared/data/real (`difffake prepare`, ids
'videos/<file>'). Every ordered pair of different real clips (A, B) gives one
video distance, as a scan would compute it: reference = A (up to 16
descriptors), suspect = B (8 descriptors, evenly spread). Pairs of clips of the
same person are the "same" pool, every other pair the "different" pool.

Who is who comes from the file names, by the rule in `person_of` (documented
there; checked by eye on contact sheets of the closest "different" and farthest
"same" pairs, written with --sheets). Never run this on evaluation data.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

# Left out of both pools: several people in one clip (the tracked face may be either), or
# clips whose identity we could not settle by eye (same photographer's model, or an
# unlabelled MEAD actor who may be one of the labelled ones).
LEFT_OUT = {
    "DeepFaceLive__build__samples__Ben_Stiller_Owen_Wilson.mp4": "two people",
    "Rerender_A_Video__videos__pexels-antoni-shkraba-8048492-540x960-25fps.mp4": "same man as the next? unsure",
    "StyleGANEX__data__pexels-anthony-shkraba-production-8136210.mp4": "same man as the previous? unsure",
    "jixinya__EAMM__test__video__contempt.mp4": "unlabelled MEAD actress, maybe the fear/surprised one",
    "jixinya__EAMM__test__video__disgusted.mp4": "unlabelled MEAD actor, maybe M030",
}
# Same person although the names do not say so: checked by eye on contact sheets of the
# closest "different" pairs (every pair below 0.42 was looked at; the others there are
# different people by eye).
EXPLICIT_GROUPS: dict[str, str] = {
    "LipNet__app__test_video.mp4": "grid-bbaf2n-speaker",          # LipNet's demo = this GRID speaker
    "LipNet__evaluation__samples__GRID__bbaf2n.mpg": "grid-bbaf2n-speaker",
    "SadTalker__examples__ref_video__WDA_AlexandriaOcasioCortez_000.mp4": "alexandria-ocasio-cortez",
    "video-retalking__examples__face__3.mp4": "alexandria-ocasio-cortez",
    "FuxiVirtualHuman__styletalk__samples__style_clips__video__trump_clip1.mp4": "donald-trump",
    "first-order-model__demo_old__04.mp4": "donald-trump",
    "jixinya__EAMM__test__video__sad.mp4": "mead-M030",               # EAMM's test clips are MEAD's
    "jixinya__EAMM__test__video__happy.mp4": "mead-M003",
    "jixinya__EAMM__test__video__fear.mp4": "eamm-actress-fear-surprised",
    "jixinya__EAMM__test__video__surprised.mp4": "eamm-actress-fear-surprised",
    "Hangz-nju-cuhk__Talking-Face_PC-AVS__misc__Audio_Source.zip__Audio_Source__741400104.mp4": "pcavs-7414",
    "Hangz-nju-cuhk__Talking-Face_PC-AVS__misc__Pose_Source.zip__Pose_Source__741400163.mp4": "pcavs-7414",
    "Hangz-nju-cuhk__Talking-Face_PC-AVS__misc__Input.zip__Input__00002.mp4": "pcavs-actress-00002",
    "Hangz-nju-cuhk__Talking-Face_PC-AVS__misc__Pose_Source.zip__Pose_Source__517600055.mp4": "pcavs-actress-00002",
}


def person_of(video_id: str) -> str | None:
    """Person id of a real clip from its file name; None = leave the clip out.

    1. 'obama' anywhere in the name: Barack Obama (4 clips from 4 repositories).
    2. A MEAD actor code (M003, W009 ...) followed by '_': that actor (MEAD,
       EAMM and DreamTalk all use MEAD's own actor codes).
    3. An explicit, eye-checked table for clips the names do not resolve (checked first).
    4. Otherwise the clip is its own person (different from every other clip).
    Clips in LEFT_OUT are in neither pool.
    """
    name = Path(video_id).name
    if name in LEFT_OUT:
        return None
    if name in EXPLICIT_GROUPS:
        return EXPLICIT_GROUPS[name]
    low = name.lower()
    if "obama" in low:
        return "obama"
    m = re.search(r"(?:^|_)([MW]\d{3})_", name)
    if m:
        return "mead-" + m.group(1)
    return name


def pair_distances(descs: dict, ids: list, reference_frames: int, suspect_frames: int, trim: float):
    """(A, B) -> video distance for every ordered pair of different clips with usable faces."""
    from difffake.identity.compare import nearest_distances, robust_mean
    from difffake.identity.embedder import spread_positions

    refs, sus = {}, {}
    for v in ids:
        d = descs[v]
        ok = d[np.isfinite(d).all(axis=1)]
        if len(ok) == 0:
            continue
        refs[v] = ok[spread_positions(len(ok), reference_frames)]
        sus[v] = ok[spread_positions(len(ok), suspect_frames)]
    out = {}
    for a in refs:
        for b in sus:
            if a != b:
                dist, _ = nearest_distances(sus[b], refs[a])
                out[(a, b)] = robust_mean(dist, trim)
    return out


def leave_one_person_out(same: dict, diff: dict, people: dict, **fit_kw) -> dict:
    """Error counts when each person's pairs are judged by cuts fitted without them.

    The in-sample rates of identity.json are measured on the pairs the cuts came
    from; this says how much that flatters them. A different-people pair touches
    two people, so it is judged twice (once per held-out person).
    """
    from difffake.identity.calibration import fit_calibration

    out = {"n_same": 0, "n_false_different": 0, "n_different": 0, "n_false_same": 0}
    cuts = []
    for p in sorted({people[a] for a, _ in same} | {people[a] for a, _ in diff}):
        test_s = [d for (a, _), d in same.items() if people[a] == p]
        test_d = [d for (a, b), d in diff.items() if p in (people[a], people[b])]
        cal = fit_calibration([d for (a, _), d in same.items() if people[a] != p],
                              [d for (a, b), d in diff.items() if p not in (people[a], people[b])], **fit_kw)
        cuts.append(cal.same_max)
        out["n_same"] += len(test_s)
        out["n_false_different"] += sum(cal.verdict(d)[0] == "different" for d in test_s)
        out["n_different"] += len(test_d)
        out["n_false_same"] += sum(cal.verdict(d)[0] == "same" for d in test_d)
    out["false_different_rate"] = out["n_false_different"] / out["n_same"] if out["n_same"] else None
    out["false_same_rate"] = out["n_false_same"] / out["n_different"] if out["n_different"] else None
    out["cut_range"] = [min(cuts), max(cuts)]
    return out


def contact_sheet(store, pairs, path: Path, title: str):
    """Rows of (A's first face, B's first face, distance) to check the grouping by eye."""
    import cv2

    rows = []
    for (a, b), d in pairs:
        cells = []
        for v in (a, b):
            rec = store.load(v)
            crop = rec.crops[rec.face_positions()[len(rec.face_positions()) // 2]]
            cells.append(cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA))
        row = np.concatenate(cells + [np.full((128, 300, 3), 255, np.uint8)], axis=1)
        cv2.putText(row, f"{d:.3f}", (262, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
        cv2.putText(row, Path(a).name[:40], (262, 75), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
        cv2.putText(row, Path(b).name[:40], (262, 100), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
        rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    print(f"{title}: {path}", file=sys.stderr)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", type=Path, required=True, help="face store of the real media")
    p.add_argument("--detector", type=Path, default=None, help="detector folder to write identity.json into")
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder (default: in the store)")
    p.add_argument("--sheets", type=Path, default=None, help="write contact sheets of borderline pairs here")
    p.add_argument("--dump", type=Path, default=None, help="write every pair distance as JSON here")
    args = p.parse_args(argv)

    from difffake.embeddings import embed_store, make_embedder
    from difffake.faces.store import FaceStore
    from difffake.identity.calibration import (
        IdentityCalibration,
        fit_calibration,
        write_identity_json,
    )

    defaults = IdentityCalibration(same_max=0.0, different_min=0.0)
    store = FaceStore(args.store)
    ids = [v for v in store.ids() if v.startswith("videos/")]
    # Descriptors of up to reference_frames face frames per clip (cached per store + model).
    embedder = make_embedder("dlib-face-id", max_frames=defaults.reference_frames,
                             min_face_px=defaults.min_face_px)
    embs = embed_store(embedder, store, ids, cache_dir=args.cache)
    people = {v: person_of(v) for v in ids}
    kept = [v for v in ids if people[v] is not None]
    dist = pair_distances({v: embs[v].emb for v in kept}, kept, defaults.reference_frames,
                          defaults.suspect_frames, defaults.trim)
    same = {k: d for k, d in dist.items() if people[k[0]] == people[k[1]]}
    diff = {k: d for k, d in dist.items() if people[k[0]] != people[k[1]]}
    groups = {}
    for v in kept:
        groups.setdefault(people[v], []).append(v)
    multi = {g: vs for g, vs in groups.items() if len(vs) > 1}
    print(f"{len(kept)} clips ({len(ids) - len(kept)} left out), {len(groups)} people, "
          f"{len(multi)} with several clips; {len(same)} same-person and {len(diff)} different-people "
          f"ordered pairs", file=sys.stderr)
    cal = fit_calibration(list(same.values()), list(diff.values()),
                          min_faces=defaults.min_faces, min_face_px=defaults.min_face_px,
                          suspect_frames=defaults.suspect_frames,
                          reference_frames=defaults.reference_frames, trim=defaults.trim)
    cal.measured["leave_one_person_out"] = leave_one_person_out(same, diff, people)
    import dlib
    cal.info = {"made_by": "scripts/calibrate_identity.py", "store": args.store.name,
                "clips": len(kept), "people": len(groups), "multi_clip_people": sorted(multi),
                "pairs": "ordered pairs of different real clips (reference A, suspect B)",
                "grouping": "scripts/calibrate_identity.py:person_of (file names + an eye-checked table)",
                "embedder": embedder.settings(), "dlib": dlib.__version__}
    print(json.dumps({k: v for k, v in cal.to_dict().items() if k != "info"}, indent=2))
    if args.sheets is not None:
        closest = sorted(diff.items(), key=lambda kv: kv[1])[:30]
        farthest = sorted(same.items(), key=lambda kv: -kv[1])[:20]
        contact_sheet(store, closest, args.sheets / "closest_different.png", "closest different-people pairs")
        contact_sheet(store, farthest, args.sheets / "farthest_same.png", "farthest same-person pairs")
    if args.dump is not None:
        args.dump.write_text(json.dumps({"people": people,
                                         "pairs": [[a, b, d] for (a, b), d in sorted(dist.items())]}))
    if args.detector is not None:
        path = write_identity_json(args.detector, cal)
        print(f"identity calibration written to {path} (checksum added to model.json)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
