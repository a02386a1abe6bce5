#!/usr/bin/env bash
# Run every stage of PSA / AffinityNet (Ahn & Kwak, CVPR 2018) with the stock
# tools, each stage resuming from the previous one's files:
#
#   1. train the CAM network                     psa-cam_*_<TAG>.py
#   2. confident regions of train_aug (la/ha CRF) + CAM-only masks of train
#      (mIoU vs ground truth)                     make_pseudo_labels.py
#   3. train AffinityNet on the confident regions psa-aff_*_<TAG>.py
#   4. random-walk masks of train (mIoU) and train_aug
#   5. train a segmentation network on the masks, test on val
#                                                 psa-seg_*_<TAG>.py
#
# usage: tools/pipelines/psa.sh CONFIG_DIR WORK_DIR GPUS [TAG] [--crf]
#   CONFIG_DIR  directory with one psa-cam_*_TAG.py, psa-aff_*_TAG.py and
#               psa-seg_*_TAG.py (configs/psa)
#   WORK_DIR    all outputs: cam/, confident_regions/, cam_masks_train/,
#               aff/, rw_masks/, seg/, psa_pipeline_summary.txt
#   GPUS        processes per stage (1 = plain tools/train.py; CPU works)
#   TAG         dataset tag of the config names, default voc (toy: toy)
#   --crf       dense CRF (PSA parameters) on the random-walk masks
# Environment: PYTHON (default python), SKIP_TRAINED=1 (default) reuses a
# stage whose last checkpoint exists, TRAIN_OPTIONS: extra --cfg-options of
# every training stage (e.g. "train_cfg.max_iters=10 param_scheduler.0.end=10"
# for a smoke run), PSEUDO_SPLIT: split of the confident regions and of the
# random-walk masks that train the later stages (default train_aug).
#
# examples:
#   tools/pipelines/psa.sh configs/psa work_dirs/psa 2
#   tools/pipelines/psa.sh configs/psa work_dirs/psa_toy 1 toy
set -euo pipefail

if [ $# -lt 3 ]; then
    sed -n '2,29p' "$0" >&2
    exit 2
fi
CONFIG_DIR=$1
WORK_DIR=$2
GPUS=$3
TAG=${4:-voc}
CRF_ARGS=()
for arg in "${@:5}"; do
    case $arg in
        --crf) CRF_ARGS=(--crf --crf-params n_iter=10 pos_xy_std=3 pos_w=3 \
                   bi_xy_std=80 bi_rgb_std=13 bi_w=10) ;;
        *) echo "unknown option $arg" >&2; exit 2 ;;
    esac
done
PYTHON=${PYTHON:-python}
SKIP_TRAINED=${SKIP_TRAINED:-1}
PSEUDO_SPLIT=${PSEUDO_SPLIT:-train_aug}
read -r -a EXTRA_TRAIN_OPTIONS <<< "${TRAIN_OPTIONS:-}"
TOOLS=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK_DIR"
WORK_DIR=$(cd "$WORK_DIR" && pwd)
SUMMARY=$WORK_DIR/psa_pipeline_summary.txt

NAME=psa
# shellcheck source=common.sh
source "$TOOLS/pipelines/common.sh"
CAM_CFG=$(pick psa-cam)
AFF_CFG=$(pick psa-aff)
SEG_CFG=$(pick psa-seg)

echo "[psa] stage 1: CAM network ($CAM_CFG)"
train "$CAM_CFG" "$WORK_DIR/cam"
CAM_CKPT=$(cat "$WORK_DIR/cam/last_checkpoint")

echo "[psa] stage 2: CAM-only masks of train (mIoU) and confident regions"
pseudo "$CAM_CFG" "$CAM_CKPT" --split train --eval \
    --out-dir "$WORK_DIR/cam_masks_train" \
    --cfg-options pseudo_label_cfg.postprocess=ArgmaxLabeler
pseudo "$CAM_CFG" "$CAM_CKPT" --split "$PSEUDO_SPLIT" \
    --out-dir "$WORK_DIR/confident_regions"

echo "[psa] stage 3: AffinityNet ($AFF_CFG)"
train "$AFF_CFG" "$WORK_DIR/aff" \
    "train_dataloader.dataset.data_prefix.seg_map_path=$WORK_DIR/confident_regions" \
    "model.cam_checkpoint=$CAM_CKPT"
AFF_CKPT=$(cat "$WORK_DIR/aff/last_checkpoint")

echo "[psa] stage 4: random-walk masks (train: mIoU; then all of train_aug)"
pseudo "$AFF_CFG" "$AFF_CKPT" --split train --eval \
    --out-dir "$WORK_DIR/rw_masks" "${CRF_ARGS[@]}" \
    --cfg-options "model.cam_checkpoint=$CAM_CKPT"
cp "$WORK_DIR/rw_masks/pseudo_label_summary.json" \
    "$WORK_DIR/rw_masks_train_summary.json"
pseudo "$AFF_CFG" "$AFF_CKPT" --split "$PSEUDO_SPLIT" \
    --out-dir "$WORK_DIR/rw_masks" "${CRF_ARGS[@]}" \
    --cfg-options "model.cam_checkpoint=$CAM_CKPT"

echo "[psa] stage 5: segmentation network on the masks ($SEG_CFG)"
train "$SEG_CFG" "$WORK_DIR/seg" \
    "train_dataloader.dataset.data_prefix.seg_map_path=$WORK_DIR/rw_masks"
SEG_CKPT=$(cat "$WORK_DIR/seg/last_checkpoint")
"$PYTHON" "$TOOLS/test.py" "$SEG_CFG" "$SEG_CKPT" \
    --work-dir "$WORK_DIR/seg/test" | tee "$WORK_DIR/seg/test.log"

{
    echo "CAM pseudo masks (train) mIoU: $(miou "$WORK_DIR/cam_masks_train")"
    echo "random-walk pseudo masks (train) mIoU: $("$PYTHON" -c \
        "import json,sys; print((json.load(open(sys.argv[1])).get('evaluation') or {}).get('mIoU','n/a'))" \
        "$WORK_DIR/rw_masks_train_summary.json")"
    echo "segmentation (val) mIoU: $(grep -o "mIoU: [0-9.]*" "$WORK_DIR/seg/test.log" | tail -1 | cut -d" " -f2)"
} | tee "$SUMMARY"
