from .device_aware_runner import (DeviceAwareRunner, RankZeroBuffersHook,
                                  build_runner, cpu_dist_env, init_cpu_dist)

__all__ = [
    'DeviceAwareRunner', 'RankZeroBuffersHook', 'build_runner',
    'cpu_dist_env', 'init_cpu_dist'
]
