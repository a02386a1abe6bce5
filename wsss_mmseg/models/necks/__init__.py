from .hv_bilstm import HVBiLSTM
from .switch_unpool_upsampler import SwitchUnpoolUpsampler

__all__ = ['HVBiLSTM', 'SwitchUnpoolUpsampler']
