"""Identity check against a trusted reference: is the suspect the person in the reference?

A face swap replaces the identity; reenactment and lip-sync keep it. So with a
reference at hand, a large identity distance is strong evidence of a swap,
while "same person" says nothing about other manipulations.

Parts (one job each):
    embedder.py     dlib's face-recognition ResNet (128-d) on the stored crops + landmarks
    calibration.py  same/different thresholds fitted on real videos, stored as identity.json
    compare.py      reference set, per-frame nearest-reference distances, robust mean, verdict
    report.py       the HTML fragment of the scan report
"""
