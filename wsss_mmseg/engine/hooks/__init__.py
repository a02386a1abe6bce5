from .freeze_schedule_hook import FreezeScheduleHook
__all__ = ['FreezeScheduleHook']
