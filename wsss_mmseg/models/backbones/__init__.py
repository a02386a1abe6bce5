from .vgg16_switches import PoolSwitch, VGG16Switches
from .resnet38d import ResNet38d
from .vgg16_largefov import VGG16LargeFOV

__all__ = ['PoolSwitch', 'VGG16Switches', 'ResNet38d', 'VGG16LargeFOV']
