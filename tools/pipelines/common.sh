# Shared stage helpers of the multi-stage pipelines (psa.sh, spn.sh).
# Source it after setting: CONFIG_DIR, TAG, GPUS, PYTHON, TOOLS,
# SKIP_TRAINED, EXTRA_TRAIN_OPTIONS (array) and NAME (log prefix).

pick() {  # STAGE -> the single config CONFIG_DIR/STAGE_*_TAG.py
    local matches=("$CONFIG_DIR"/"$1"_*_"$TAG".py)
    if [ ${#matches[@]} -ne 1 ] || [ ! -f "${matches[0]}" ]; then
        echo "need exactly one $CONFIG_DIR/$1_*_$TAG.py, found: ${matches[*]}" >&2
        exit 1
    fi
    echo "${matches[0]}"
}

train() {  # CONFIG WORK [cfg-options...]: tools/train.py or dist_train.sh
    local cfg=$1 work=$2
    shift 2
    if [ "$SKIP_TRAINED" = 1 ] && [ -f "$work/last_checkpoint" ] && \
            [ -f "$(cat "$work/last_checkpoint")" ]; then
        echo "[$NAME] $work already trained, skipping"
        return
    fi
    local opts=()
    if [ $# -gt 0 ] || [ ${#EXTRA_TRAIN_OPTIONS[@]} -gt 0 ]; then
        opts=(--cfg-options "$@" "${EXTRA_TRAIN_OPTIONS[@]}")
    fi
    if [ "$GPUS" -gt 1 ]; then
        PYTHON=$PYTHON bash "$TOOLS/dist_train.sh" "$cfg" "$GPUS" \
            --work-dir "$work" "${opts[@]}"
    else
        "$PYTHON" "$TOOLS/train.py" "$cfg" --work-dir "$work" "${opts[@]}"
    fi
}

pseudo() {  # CONFIG CKPT [make_pseudo_labels args...]
    local cfg=$1 ckpt=$2
    shift 2
    if [ "$GPUS" -gt 1 ]; then
        PYTHON=$PYTHON bash "$TOOLS/dist_make_pseudo_labels.sh" "$cfg" "$ckpt" \
            "$GPUS" "$@"
    else
        "$PYTHON" "$TOOLS/make_pseudo_labels.py" "$cfg" "$ckpt" "$@"
    fi
}

miou() {  # pseudo-label dir or its summary JSON -> mIoU ('n/a' if none)
    local summary=$1
    [ -d "$summary" ] && summary=$summary/pseudo_label_summary.json
    "$PYTHON" - "$summary" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1])).get('evaluation') or {}
print(ev.get('mIoU', 'n/a'))
PY
}
