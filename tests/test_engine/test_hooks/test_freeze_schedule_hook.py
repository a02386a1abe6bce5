"""FreezeScheduleHook: frozen warm-up, partial unfreezing by iteration,
resume past the unfreeze point, and a real optimizer step."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from wsss_mmseg.engine.hooks import FreezeScheduleHook


class Backbone(nn.Module):

    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Linear(2, 2)
        self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(4))
        self.ln1 = nn.LayerNorm(2)
        self.pos_embed = nn.Parameter(torch.zeros(2))


class Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.head = nn.Linear(2, 1)

    def forward(self, x):
        for layer in self.backbone.layers:
            x = layer(x)
        return self.head(self.backbone.ln1(self.backbone.patch_embed(x)))


def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_freeze_then_unfreeze_last_layers():
    model = Model()
    runner = SimpleNamespace(model=model, iter=0)
    hook = FreezeScheduleHook(unfreeze_iter=3, num_unfrozen_layers=2)
    optim = torch.optim.Adam(model.parameters(), lr=0.1)
    hook.before_train(runner)
    assert trainable(model) == {'head.weight', 'head.bias'}
    frozen_before = model.backbone.layers[3].weight.clone()
    for it in range(5):
        runner.iter = it
        hook.before_train_iter(runner, it)
        optim.zero_grad()
        model(torch.rand(4, 2)).sum().backward()
        optim.step()
        if it == 2:  # still frozen: not updated
            assert torch.equal(model.backbone.layers[3].weight,
                               frozen_before)
    assert trainable(model) == {
        'head.weight', 'head.bias', 'backbone.layers.2.weight',
        'backbone.layers.2.bias', 'backbone.layers.3.weight',
        'backbone.layers.3.bias', 'backbone.ln1.weight', 'backbone.ln1.bias'
    }
    assert not torch.equal(model.backbone.layers[3].weight, frozen_before)
    assert model.backbone.layers[0].weight.grad is None


def test_resume_after_unfreeze_iteration():
    model = Model()
    hook = FreezeScheduleHook(unfreeze_iter=3, num_unfrozen_layers=1,
                              extra_unfrozen=('pos_embed', ))
    hook.before_train(SimpleNamespace(model=model, iter=10))
    assert trainable(model) == {
        'head.weight', 'head.bias', 'backbone.layers.3.weight',
        'backbone.layers.3.bias', 'backbone.pos_embed'
    }


def test_never_unfreeze_and_errors():
    model = Model()
    runner = SimpleNamespace(model=model, iter=100)
    hook = FreezeScheduleHook(unfreeze_iter=-1)
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    assert trainable(model) == {'head.weight', 'head.bias'}
    with pytest.raises(AttributeError, match="no submodule 'neck'"):
        FreezeScheduleHook(unfreeze_iter=0, module='neck').before_train(
            runner)
    with pytest.raises(AttributeError, match="extra_unfrozen"):
        FreezeScheduleHook(
            unfreeze_iter=0, extra_unfrozen=('norm', )).before_train(runner)
    with pytest.raises(ValueError, match='num_unfrozen_layers'):
        FreezeScheduleHook(unfreeze_iter=0, num_unfrozen_layers=-1)
