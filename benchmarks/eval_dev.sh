#!/usr/bin/env bash
# Dev-set accuracy of a detector beside the floor (the same pipeline with an
# ImageNet backbone that never saw a pseudo-fake), every combination and density
# model refitted on the same real videos from the detector's own embeddings.
# ../shared/data/dev is evaluation only: nothing here fits on it.
#
#   bash benchmarks/eval_dev.sh [DETECTOR] [FLOOR_DETECTOR] [OUT]
set -euo pipefail
det=${1:-src/difffake/models/default}
floor=${2:-runs/detectors/imagenet}
out=${3:-runs/eval}
dev=${DEV:-../shared/data/dev}
variants=sq:gmm:pca32:full,abs:gmm:pca32:full,sub:gmm:pca32:full,cube:gmm:pca32:full,sq:gmm:pca32:diag,sq:gmm:nopca:diag,sq:ocsvm:pca32,sq:knn:nopca:k5,single:gmm:pca32:full,classifier
for name in detector floor; do
    d=$det; [ "$name" = floor ] && d=$floor
    difffake evaluate --detector "$d" --store runs/eval_stores \
        --dataset "csv:$dev/labels.csv" --dataset "ffpp:$dev/ffpp" \
        --subset "DeepFaceLive pairs=dfl_" --subset "FF++ samples=^ffpp/" \
        --variants "$variants" --out "$out/$name"
done
