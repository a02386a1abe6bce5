from .vgg16_switches import PoolSwitch, VGG16Switches

__all__ = ['PoolSwitch', 'VGG16Switches']
