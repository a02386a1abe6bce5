from .freeze_schedule_hook import FreezeScheduleHook
from .pseudo_label_hook import PseudoLabelHook
__all__ = ['FreezeScheduleHook', 'PseudoLabelHook']
