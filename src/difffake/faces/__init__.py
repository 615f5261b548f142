"""Faces: frame sampling, detection + 68 landmarks, 1.3x crops, and the FaceStore cache."""
