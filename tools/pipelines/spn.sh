#!/usr/bin/env bash
# Run every stage of SPN (Kwak, Hong & Han, AAAI 2017) with the stock tools,
# each stage resuming from the previous one's files:
#
#   0. superpixel cache of every image            make_superpixels.py
#   1. train SPN with image labels                spn_*_<TAG>.py
#   2. SP-CAM masks of train (mIoU vs ground truth) and of train_aug
#                                                 make_pseudo_labels.py
#   3. iterative refinement: a segmentation network trained on the SP-CAM
#      masks for num_rounds rounds, PseudoLabelHook relabelling train_aug
#      (restricted to the image labels) between rounds; test on val
#                                                 spn-refine-<KIND>_*_<TAG>.py
#
# usage: tools/pipelines/spn.sh CONFIG_DIR WORK_DIR GPUS [TAG] [KIND]
#   CONFIG_DIR  directory with one spn_*_TAG.py and spn-refine-KIND_*_TAG.py
#               (configs/spn)
#   WORK_DIR    all outputs: spn/, spcam_train/, spcam_train_aug/, refine/
#               (refine/pseudo_labels/iter_*/ per round),
#               spn_pipeline_summary.txt
#   GPUS        processes per stage (1 = plain tools/train.py; CPU works)
#   TAG         dataset tag of the config names, default voc (toy: toy)
#   KIND        refinement network: deeplab (default) or decoupled
# Environment: PYTHON (default python), SP_WORKERS superpixel processes
# (default 2), SKIP_TRAINED=1 (default) reuses a stage whose last checkpoint
# exists, TRAIN_OPTIONS: extra --cfg-options of every training stage,
# SPN_OPTIONS / REFINE_OPTIONS: extra --cfg-options of stage 1 / stage 3
# (e.g. REFINE_OPTIONS="custom_hooks.0.every_n_train_iters=2 ..." for a
# smoke run; iters_per_round is resolved when the config is read).
#
# examples:
#   tools/pipelines/spn.sh configs/spn work_dirs/spn 2
#   tools/pipelines/spn.sh configs/spn work_dirs/spn_toy 1 toy decoupled
set -euo pipefail

if [ $# -lt 3 ]; then
    sed -n '2,32p' "$0" >&2
    exit 2
fi
CONFIG_DIR=$1
WORK_DIR=$2
GPUS=$3
TAG=${4:-voc}
KIND=${5:-deeplab}
PYTHON=${PYTHON:-python}
SKIP_TRAINED=${SKIP_TRAINED:-1}
SP_WORKERS=${SP_WORKERS:-2}
read -r -a EXTRA_TRAIN_OPTIONS <<< "${TRAIN_OPTIONS:-}"
read -r -a SPN_OPTS <<< "${SPN_OPTIONS:-}"
read -r -a REFINE_OPTS <<< "${REFINE_OPTIONS:-}"
TOOLS=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK_DIR"
WORK_DIR=$(cd "$WORK_DIR" && pwd)
SUMMARY=$WORK_DIR/spn_pipeline_summary.txt

NAME=spn
# shellcheck source=common.sh
source "$TOOLS/pipelines/common.sh"
SPN_CFG=$(pick spn)
REFINE_CFG=$(pick "spn-refine-$KIND")

DATA_ROOT=$("$PYTHON" - "$SPN_CFG" <<'PY'
import sys
import wsss_mmseg  # noqa: F401
from mmengine.config import Config
print(Config.fromfile(sys.argv[1]).train_dataloader.dataset.data_root)
PY
)
DATA_ROOT=$(echo "$DATA_ROOT" | tail -n 1)  # importing logs to stdout
echo "[spn] stage 0: superpixels of every image in $DATA_ROOT/JPEGImages"
"$PYTHON" "$TOOLS/dataset_converters/make_superpixels.py" "$DATA_ROOT" \
    --config "$SPN_CFG" --workers "$SP_WORKERS"

echo "[spn] stage 1: SPN ($SPN_CFG)"
train "$SPN_CFG" "$WORK_DIR/spn" "${SPN_OPTS[@]}"
SPN_CKPT=$(cat "$WORK_DIR/spn/last_checkpoint")

echo "[spn] stage 2: SP-CAM masks of train (mIoU) and train_aug"
pseudo "$SPN_CFG" "$SPN_CKPT" --split train --eval \
    --out-dir "$WORK_DIR/spcam_train"
pseudo "$SPN_CFG" "$SPN_CKPT" --split train_aug \
    --out-dir "$WORK_DIR/spcam_train_aug"

echo "[spn] stage 3: refinement rounds ($REFINE_CFG)"
train "$REFINE_CFG" "$WORK_DIR/refine" \
    "train_dataloader.dataset.data_prefix.seg_map_path=$WORK_DIR/spcam_train_aug" \
    "custom_hooks.0.out_dir=$WORK_DIR/refine/pseudo_labels" "${REFINE_OPTS[@]}"
REFINE_CKPT=$(cat "$WORK_DIR/refine/last_checkpoint")
"$PYTHON" "$TOOLS/test.py" "$REFINE_CFG" "$REFINE_CKPT" \
    --work-dir "$WORK_DIR/refine/test" | tee "$WORK_DIR/refine/test.log"

{
    echo "SPN pipeline ($TAG, refinement: $KIND) in $WORK_DIR"
    echo "SP-CAM pseudo masks, train mIoU: $(miou "$WORK_DIR/spcam_train/pseudo_label_summary.json")"
    echo "SP-CAM pseudo masks, train_aug mIoU: $(miou "$WORK_DIR/spcam_train_aug/pseudo_label_summary.json")"
    round=1
    for d in $(ls -d "$WORK_DIR"/refine/pseudo_labels/iter_* 2>/dev/null | sort -V); do
        echo "labels after refinement round $round ($(basename "$d")), train_aug mIoU: $(miou "$d/pseudo_label_summary.json")"
        round=$((round + 1))
    done
    echo "refinement network on val: $(grep -o 'mIoU: [0-9.]*' "$WORK_DIR/refine/test.log" | tail -1)"
} | tee "$SUMMARY"
