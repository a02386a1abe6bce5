"""Benchmark superpixel cache generation (SPN, methods.md §1.2) in one run.

1. Throughput of ``tools/dataset_converters/make_superpixels.py`` with 1 and
   2 worker processes on VOC-sized (500 x 375) copies of ``skimage.data``
   photos, and the speed-up (ideal: the number of free cores).
2. If the toy dataset exists (``--toy``, default data/toy), the quality of
   the superpixels for SPN: the mIoU of the best labelling constant on
   every superpixel (each superpixel takes its majority ground-truth
   class), i.e. the upper bound superpixels put on SP-CAM masks, with the
   mean number of superpixels per image, for the toy config's parameters
   and a few alternatives.

Example::

    python tools/analysis/benchmark_superpixels.py --images 48
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys
import tempfile
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    path = osp.join(REPO, 'tools', 'dataset_converters',
                    'make_superpixels.py')
    spec = importlib.util.spec_from_file_location('make_superpixels', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules['make_superpixels'] = module
    spec.loader.exec_module(module)
    return module


def write_photos(root: str, count: int) -> None:
    import cv2
    from skimage import data
    photos = [data.astronaut(), data.chelsea(), data.coffee(),
              data.rocket(), data.immunohistochemistry()]
    os.makedirs(osp.join(root, 'JPEGImages'), exist_ok=True)
    for i in range(count):
        img = cv2.resize(photos[i % len(photos)], (500, 375))
        if (i // len(photos)) % 2:
            img = img[:, ::-1]
        cv2.imwrite(osp.join(root, 'JPEGImages', f'{i:04d}.jpg'),
                    np.ascontiguousarray(img[..., ::-1]))


def superpixel_miou(tool, root: str, split: str, params: dict,
                    num_classes: int = 6) -> tuple:
    """mIoU of majority-vote superpixel labellings vs the ground truth."""
    import cv2
    ids = tool.read_split(root, split, 'JPEGImages', '.jpg')
    conf = np.zeros((num_classes, num_classes), np.int64)
    counts = []
    for name in ids:
        img = cv2.imread(osp.join(root, 'JPEGImages',
                                  name + '.jpg'))[..., ::-1]
        from PIL import Image
        gt = np.array(Image.open(
            osp.join(root, 'SegmentationClass', name + '.png')))
        sp = tool.compute_superpixels(np.ascontiguousarray(img), **params)
        counts.append(sp.max() + 1)
        valid = gt < num_classes
        hist = np.zeros((sp.max() + 1, num_classes), np.int64)
        np.add.at(hist, (sp[valid], gt[valid]), 1)
        label = hist.argmax(1)[sp]
        conf += np.bincount(num_classes * gt[valid] + label[valid],
                            minlength=num_classes**2).reshape(
                                num_classes, num_classes)
    inter = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - inter
    return float(np.mean(inter / np.maximum(union, 1))), float(
        np.mean(counts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=32)
    parser.add_argument('--toy', default=osp.join(REPO, 'data', 'toy'))
    parser.add_argument('--toy-split',
                        default='ImageSets/Segmentation/train.txt')
    args = parser.parse_args()
    tool = load_tool()
    print(f'{os.cpu_count()} CPU cores visible')
    with tempfile.TemporaryDirectory() as root:
        write_photos(root, args.images)
        rates = {}
        for workers in (1, 2):
            stats = tool.make_superpixels(root, f'sp{workers}', fmt='png',
                                          workers=workers, progress=False)
            rates[workers] = stats['done'] / stats['seconds']
            print(f'felzenszwalb 500x375, {workers} worker(s): '
                  f'{rates[workers]:6.1f} images/s '
                  f'(mean {stats["mean_superpixels"]:.0f} superpixels)')
        print(f'speed-up 2 vs 1 workers: {rates[2] / rates[1]:.2f}x')
        same = all(
            np.array_equal(tool.load_superpixels(osp.join(root, 'sp1', n)),
                           tool.load_superpixels(osp.join(root, 'sp2', n)))
            for n in os.listdir(osp.join(root, 'sp1')) if n.endswith('.png'))
        print(f'identical maps with 1 and 2 workers: {same}')
    if osp.isfile(osp.join(args.toy, args.toy_split)):
        print(f'\nsuperpixel upper bound on {args.toy} '
              f'({args.toy_split}): majority-label mIoU')
        settings = [
            ('felzenszwalb scale=30 sigma=0.5 min_size=15 (toy config)',
             dict(algorithm='felzenszwalb', scale=30, sigma=0.5,
                  min_size=15)),
            ('felzenszwalb scale=100 sigma=0.8 min_size=50 (VOC config)',
             dict(algorithm='felzenszwalb', scale=100, sigma=0.8,
                  min_size=50)),
            ('slic n_segments=100', dict(algorithm='slic', n_segments=100)),
        ]
        for name, params in settings:
            start = time.perf_counter()
            miou, count = superpixel_miou(tool, args.toy, args.toy_split,
                                          params)
            print(f'  {name:58s} mIoU {100 * miou:5.1f}  '
                  f'{count:5.0f} sp/img  {time.perf_counter() - start:.1f}s')


if __name__ == '__main__':
    main()
