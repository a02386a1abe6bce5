# Runtime settings shared by every wsss_mmseg config: mmseg's
# configs/_base_/default_runtime.py plus the plugin's scope, imports and
# CPU-capable runner.

# Unprefixed types resolve in wsss_mmseg's registries first, then mmseg's.
default_scope = 'wsss_mmseg'
# Registers the plugin when the config is parsed, also by mmseg's own tools.
custom_imports = dict(imports=['wsss_mmseg'], allow_failed_imports=False)
# The stock mmengine Runner when CUDA is present; without CUDA it creates a
# gloo process group and DDP with device_ids=None, so
# `tools/dist_train.sh CONFIG 2` runs 2 CPU processes (see
# wsss_mmseg/engine/runners/device_aware_runner.py).
runner_type = 'wsss_mmseg.DeviceAwareRunner'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # GPU default; DeviceAwareRunner uses gloo instead when CUDA is absent.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
# No fixed `name` (mmseg uses name='visualizer'): the runner then names the
# instance after the experiment, so several runners in one process (tests,
# notebooks, hooks building runners) do not share one visualizer and write
# their scalars into the first run's directory.
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends)
# default_hooks (logger, checkpoint, SegVisualizationHook, ...) live in
# configs/_base_/schedules/, as in mmseg: mmengine refuses a key defined by two
# bases, so keeping them there lets this file combine with mmseg's schedules
# and our schedules with mmseg's default_runtime.
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False

# Used by `tools/test.py --tta` (needs `tta_pipeline` in the dataset config).
tta_model = dict(type='SegTTAModel')
