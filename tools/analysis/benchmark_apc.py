"""Benchmark APC's additions against their references, in one run.

Prints two ratios (methods.md §3, issue 4 targets):

1. AKP head vs max pooling: time of a patch-head training step
   (classifier + softmax + pooling + MCE, forward and backward) with
   ``pool_mode='akp'`` divided by the same with ``pool_mode='max'``;
   target <= 1.2. The pooling op alone is reported too.
2. PCL's share of an APC training step: time of PatchContrastLoss
   (forward + backward) on (B, 768, G, G) embeddings divided by the time of
   a whole APCSegmentor loss + backward step at the same batch and grid;
   target <= 0.25.

Example::

    python tools/analysis/benchmark_apc.py --grid 24 --batch 16
    python tools/analysis/benchmark_apc.py --arch tiny --batch 4   # quick

``--arch b`` (default) is the real ViT-B/16 with random weights (nothing is
downloaded); on a CPU the full step at batch 16 and 384 px takes minutes.
"""
import argparse
import time

import torch

from wsss_mmseg.models.ops import adaptive_k_pool
from wsss_mmseg.registry import MODELS
from wsss_mmseg.utils import register_all_modules

TINY_VIT = dict(embed_dims=64, num_layers=4, num_heads=4,
                feedforward_channels=128)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--grid', type=int, default=24, help='patch grid G')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument('--channels', type=int, default=768,
                        help='patch embedding width (HV-BiLSTM output)')
    parser.add_argument('--arch', default='b', choices=['b', 'tiny'],
                        help="ViT for the full step: 'b' (ViT-B/16) or a "
                        'tiny 4-layer ViT for a quick check')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed repeats of the small measurements')
    parser.add_argument('--step-repeats', type=int, default=1,
                        help='timed repeats of the full training step')
    parser.add_argument('--device', default='cuda'
                        if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (CPU)')
    return parser.parse_args()


def timeit(fn, repeats, device):
    """Fastest wall time of ``fn`` over ``repeats`` runs after one warm-up
    (the minimum is the least disturbed by other load on the machine)."""
    fn()
    times = []
    for _ in range(repeats):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def random_labels(batch, classes, device):
    labels = (torch.rand(batch, classes, device=device) < 0.15).float()
    labels[:, 0] = 1
    labels[torch.arange(batch), torch.randint(1, classes, (batch, ))] = 1
    return labels


def bench_heads(args):
    dev = args.device
    emb = torch.randn(args.batch, args.channels, args.grid, args.grid,
                      device=dev)
    labels = random_labels(args.batch, args.classes, dev)
    results = {'max': float('inf'), 'akp': float('inf')}
    heads = {}
    for mode in results:
        torch.manual_seed(0)
        heads[mode] = MODELS.build(
            dict(type='AdaptiveKPatchHead', in_channels=args.channels,
                 num_classes=args.classes, pool_mode=mode)).to(dev)
    # interleave the two so that load changes hit both alike
    for _ in range(args.repeats):
        for mode, head in heads.items():

            def step(head=head):
                head.zero_grad()
                head.loss(emb, labels)['loss_mce'].backward()

            results[mode] = min(results[mode], timeit(step, 1, dev))
    probs = torch.rand(args.batch, args.grid * args.grid, args.classes,
                       device=dev, requires_grad=True)
    ops = {}
    for mode in ('max', 'akp'):
        ops[mode] = timeit(
            lambda mode=mode: adaptive_k_pool(probs, mode).sum().backward(),
            args.repeats, dev)
    return results, ops


def bench_pcl_share(args):
    dev = args.device
    size = args.grid * 16
    cfg = dict(
        type='APCSegmentor', num_classes=args.classes,
        backbone=dict(
            type='mmpretrain.VisionTransformer',
            arch='b' if args.arch == 'b' else TINY_VIT, img_size=size,
            patch_size=16, out_indices=(3, 5, 7, 11) if args.arch == 'b' else
            (0, 1, 2, 3), out_type='featmap', with_cls_token=True,
            final_norm=True, interpolate_mode='bicubic'),
        neck=dict(type='HVBiLSTM', in_channels=768 if args.arch == 'b' else
                  64, hidden_channels=192),
        patch_head=dict(type='AdaptiveKPatchHead', in_channels=768,
                        num_classes=args.classes, l2_weight=0.01),
        loss_pcl=dict(type='PatchContrastLoss', loss_weight=0.02),
        decode_head=dict(
            type='SegformerHead', in_channels=[768 if args.arch == 'b' else
                                               64] * 4,
            in_index=[0, 1, 2, 3], channels=256, num_classes=args.classes,
            norm_cfg=dict(type='BN', requires_grad=True),
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.01,
                             avg_non_ignore=True, loss_name='loss_seg')),
        train_cfg=dict(pseudo_label_conf_thresh=0.9))
    model = MODELS.build(cfg).to(dev).train()
    from mmseg.structures import SegDataSample

    from wsss_mmseg.models.utils import set_img_labels
    labels = random_labels(args.batch, args.classes, dev)
    samples = []
    for lab in labels:
        ds = SegDataSample()
        set_img_labels(ds, lab)
        samples.append(ds)
    x = torch.randn(args.batch, 3, size, size, device=dev)

    def step():
        model.zero_grad()
        losses = model.loss(x, samples)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()

    step_time = timeit(step, args.step_repeats, dev)

    pcl = model.loss_pcl
    emb = torch.randn(args.batch, 768, args.grid, args.grid, device=dev,
                      requires_grad=True)
    # confident patches as after training: ~20% above tau per present class
    probs = torch.rand(args.batch, args.classes, args.grid, args.grid,
                       device=dev)
    probs = probs.pow(6)
    probs = probs / probs.sum(1, keepdim=True)

    def pcl_step():
        emb.grad = None
        pcl(emb, probs, labels).backward()

    pcl_time = timeit(pcl_step, args.repeats, dev)
    return step_time, pcl_time


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    torch.manual_seed(0)
    print(f'device={args.device} threads={torch.get_num_threads()} '
          f'G={args.grid} batch={args.batch} C={args.classes} '
          f'D={args.channels} arch={args.arch}')
    heads, ops = bench_heads(args)
    ratio = heads['akp'] / heads['max']
    print(f'[1] patch head step: max {heads["max"] * 1e3:.2f} ms, '
          f'akp {heads["akp"] * 1e3:.2f} ms -> ratio {ratio:.3f} '
          f'(target <= 1.2: {"PASS" if ratio <= 1.2 else "FAIL"})')
    print(f'    pooling op alone: max {ops["max"] * 1e3:.3f} ms, '
          f'akp {ops["akp"] * 1e3:.3f} ms -> ratio '
          f'{ops["akp"] / ops["max"]:.3f}')
    step_time, pcl_time = bench_pcl_share(args)
    share = pcl_time / step_time
    print(f'[2] APC training step {step_time:.3f} s, PCL fwd+bwd '
          f'{pcl_time * 1e3:.2f} ms -> share {share:.1%} '
          f'(target <= 25%: {"PASS" if share <= 0.25 else "FAIL"})')


if __name__ == '__main__':
    main()
