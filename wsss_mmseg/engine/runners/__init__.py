from .device_aware_runner import DeviceAwareRunner, cpu_dist_env, init_cpu_dist

__all__ = ['DeviceAwareRunner', 'cpu_dist_env', 'init_cpu_dist']
