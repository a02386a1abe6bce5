"""Warm-up with a frozen module, then partial unfreezing (iteration-based).

ViT-PCM's schedule (Rossetti et al., ECCV 2022, code; used by APC, Wu et
al. 2024; methods.md §3.5): train the new layers with the ViT frozen, then
unfreeze its last blocks and final norm.
"""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from wsss_mmseg.registry import HOOKS


@HOOKS.register_module()
class FreezeScheduleHook(Hook):
    """Freeze ``module`` at the start of training; unfreeze parts of it at an
    iteration.

    At ``before_train`` every parameter of ``model.<module>`` gets
    ``requires_grad=False``. When ``runner.iter`` reaches
    ``unfreeze_iter``, the parameters of the last ``num_unfrozen_layers``
    entries of ``model.<module>.<layers_attr>`` and of every submodule named
    in ``extra_unfrozen`` are trained again. Resuming past
    ``unfreeze_iter`` unfreezes at once. Iteration-based on purpose: an
    iteration loop calls epoch hooks only once.

    The optimizer must hold the frozen parameters from the start (mmengine's
    default constructor does, the hook runs after it); with DDP set
    ``model_wrapper_cfg=dict(type='MMDistributedDataParallel',
    find_unused_parameters=True)`` because frozen parameters get no grads.

    Args:
        unfreeze_iter (int): Iteration at which to unfreeze; < 0 never.
        module (str): Attribute path of the module to freeze. Default
            'backbone'.
        num_unfrozen_layers (int): How many of the last layers to unfreeze
            (ViT-PCM: 5). Default 5.
        layers_attr (str): Name of the layer list inside ``module``
            (mmpretrain ViT: 'layers').
        extra_unfrozen (list[str]): Further submodules or parameters of
            ``module`` to unfreeze (mmpretrain ViT's final norm: 'ln1';
            parameters such as 'pos_embed' are accepted too).
    """

    priority = 'NORMAL'

    def __init__(self,
                 unfreeze_iter: int,
                 module: str = 'backbone',
                 num_unfrozen_layers: int = 5,
                 layers_attr: str = 'layers',
                 extra_unfrozen: Sequence[str] = ('ln1', )) -> None:
        if num_unfrozen_layers < 0:
            raise ValueError('FreezeScheduleHook: num_unfrozen_layers must be '
                             f'>= 0, got {num_unfrozen_layers}')
        self.unfreeze_iter = int(unfreeze_iter)
        self.module = module
        self.num_unfrozen_layers = num_unfrozen_layers
        self.layers_attr = layers_attr
        self.extra_unfrozen = tuple(extra_unfrozen)
        self._unfrozen = False

    def _target(self, runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        target = model
        for name in self.module.split('.'):
            if not hasattr(target, name):
                raise AttributeError(
                    f'FreezeScheduleHook: the model ({type(model).__name__}) '
                    f'has no submodule {self.module!r} (config key '
                    'custom_hooks[].module)')
            target = getattr(target, name)
        return target

    def freeze(self, module) -> None:
        """Stop gradients into every parameter of ``module``."""
        for param in module.parameters():
            param.requires_grad_(False)

    def unfreeze(self, module) -> Optional[int]:
        """Train the last layers and the extra submodules again.

        Returns:
            int: number of parameters unfrozen.
        """
        parts = []
        if self.num_unfrozen_layers > 0:
            layers = getattr(module, self.layers_attr, None)
            if layers is None:
                raise AttributeError(
                    f'FreezeScheduleHook: {self.module!r} has no '
                    f'{self.layers_attr!r} (config key layers_attr)')
            parts.extend(list(layers)[-self.num_unfrozen_layers:])
        count = 0
        for name in self.extra_unfrozen:
            if not hasattr(module, name):
                raise AttributeError(
                    f'FreezeScheduleHook: {self.module!r} has no submodule '
                    f'{name!r} (config key extra_unfrozen)')
            part = getattr(module, name)
            if isinstance(part, nn.Parameter):  # e.g. 'pos_embed'
                part.requires_grad_(True)
                count += part.numel()
            else:
                parts.append(part)
        for part in parts:
            for param in part.parameters():
                param.requires_grad_(True)
                count += param.numel()
        return count

    def before_train(self, runner) -> None:
        target = self._target(runner)
        self.freeze(target)
        print_log(
            f'FreezeScheduleHook: {self.module} frozen until iteration '
            f'{self.unfreeze_iter}', logger='current')
        if 0 <= self.unfreeze_iter <= runner.iter:
            self._do_unfreeze(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if (not self._unfrozen and self.unfreeze_iter >= 0
                and runner.iter >= self.unfreeze_iter):
            self._do_unfreeze(runner)

    def _do_unfreeze(self, runner) -> None:
        count = self.unfreeze(self._target(runner))
        self._unfrozen = True
        print_log(
            f'FreezeScheduleHook: iteration {runner.iter}: unfroze the last '
            f'{self.num_unfrozen_layers} {self.layers_attr} and '
            f'{list(self.extra_unfrozen)} of {self.module} ({count} '
            'parameters)', logger='current')
