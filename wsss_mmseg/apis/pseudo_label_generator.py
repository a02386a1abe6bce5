"""The pseudo-label engine shared by ``tools/make_pseudo_labels.py`` and
:class:`~wsss_mmseg.engine.hooks.PseudoLabelHook`.

::

    dataset split ──► shard over ranks (index % world_size == rank)
      └─ skip images whose label PNG (and score file) is complete (resume)
          └─ model.test_step  (BaseWeakSegmentor.predict: multi-scale/flip,
             │                 restriction to gt_img_labels, original size)
             └─ seg_logits (C, H0, W0) ──► process pool (crf_workers):
                   dense CRF (optional) ─► post-processor (argmax, confident
                   regions, PSA's la/ha rule, ...) ─► atomic PNG (+ .npz)
      └─ barrier ─► evaluation of the whole directory against the split's
         ground truth (confusion matrices summed over ranks)
      └─ summary JSON (rank 0)
"""
import json
import logging
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import (all_gather_object, all_reduce, barrier,
                           get_dist_info)
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from wsss_mmseg.evaluation.label_eval import (evaluate_label_files,
                                              format_iou_table,
                                              label_file_name,
                                              metrics_from_confusion,
                                              metrics_to_dict)
from wsss_mmseg.models.ops.dense_crf import (DEFAULT_CRF_PARAMS,
                                             compact_channels)
from wsss_mmseg.models.utils.img_labels import IMG_LABELS_FIELD
from .label_io import (atomic_write_bytes, check_writable_dir,
                       is_complete_npz, is_complete_png,
                       remove_stale_temp_files)
from .label_writer import LabelWriter
from .model_utils import (_is_weak_segmentor, _test_cfg_overridden,
                          build_dataset, model_num_classes, unwrap_model)
from .postprocessors import build_label_postprocessor

SUMMARY_FILE = 'pseudo_label_summary.json'

class PseudoLabelGenerator:
    """Write the pseudo labels of a dataset split with a segmentor.

    The model's own ``predict`` path makes the class scores (for a
    :class:`~wsss_mmseg.models.segmentors.BaseWeakSegmentor`: multi-scale /
    flip fusion from ``test_cfg``, scores at the original image size,
    restricted to ``gt_img_labels`` when the split carries them); this
    class shards the split over the ranks of a (gloo or nccl) process group,
    runs the CRF and the post-processing in a process pool, writes one
    palette PNG per image (and optionally a compressed score file) with
    temporary files + ``os.replace``, skips images whose outputs are
    complete (resume), evaluates the directory against the split's ground
    truth and saves a summary JSON (``pseudo_label_summary.json``).

    Output names follow the dataset's image names (relative to its image
    directory, suffix replaced by ``suffix``), so pointing a dataset's
    ``data_prefix['seg_map_path']`` at ``out_dir`` trains on the labels.

    Args:
        out_dir (str): Directory of the label PNGs.
        scales (list, optional): Override ``model.test_cfg.scales`` (floats
            or (h, w) pairs). Default None: the model's.
        flip (bool, optional): Override ``model.test_cfg.flip``.
        fusion (str, optional): Override ``model.test_cfg.fusion`` ('sum',
            'mean', 'max').
        use_img_labels (bool): Restrict the scores to the image labels when
            the split carries them (sets ``test_cfg.use_img_labels``).
            Default True.
        require_img_labels (bool): Raise if an image of the split has no
            ``gt_img_labels`` (e.g. the pipeline lacks
            ``LoadImageLevelLabels``). Default False.
        crf (bool | dict, optional): Dense CRF before the post-processing;
            True = :data:`DEFAULT_CRF_PARAMS`, a dict overrides some of them.
            Default None: the model's ``test_cfg.crf`` (the model's own CRF
            is switched off during the run so it is not applied twice).
        crf_workers (int, optional): Size of the post-processing process
            pool; 0 runs it in this process. Default None: the model's
            ``test_cfg.crf_workers`` or, if unset, the machine's cores
            divided by the world size (at least 1). While a pool runs, this
            process keeps the torch threads of the cores the pool leaves
            (at least 1).
        postprocess (dict | str | callable, optional): Scores -> label map,
            see :func:`build_label_postprocessor`. Default: argmax.
        save_scores (bool): Also write ``<name>.npz`` with the scores of
            the image's classes (before the CRF). Default False.
        score_dir (str, optional): Directory of the score files. Default
            ``out_dir``.
        score_dtype (str): Storage type of the scores. Default 'float16'.
        suffix (str): Suffix of the label files. Default '.png'.
        batch_size (int): Images per model call. Default 1 (images of a
            split differ in size).
        num_workers (int): Data loading workers. Default 0.
        resume (bool): Skip images whose outputs are complete. Default True.
        evaluate (bool): Evaluate the directory against the ground truth
            (``seg_map_path`` of the split's data infos) when it exists.
            Default True.
        ignore_index (int): Ignored ground-truth label. Default 255.
        score_activation (str): 'none' (scores as predicted), 'softmax'
            (for stock mmseg segmentors whose ``seg_logits`` are logits) or
            'auto' (softmax unless the model is a ``BaseWeakSegmentor``).
            Default 'auto'.
        max_pending (int, optional): Images waiting in the pool before the
            model pauses. Default ``4 * crf_workers``.
        progress (bool): Progress bar on rank 0. Default True.
    """

    def __init__(self,
                 out_dir: str,
                 scales: Optional[Sequence] = None,
                 flip: Optional[bool] = None,
                 fusion: Optional[str] = None,
                 use_img_labels: bool = True,
                 require_img_labels: bool = False,
                 crf: Optional[Union[bool, Dict]] = None,
                 crf_workers: Optional[int] = None,
                 postprocess: Optional[Union[Dict, str, Callable]] = None,
                 save_scores: bool = False,
                 score_dir: Optional[str] = None,
                 score_dtype: str = 'float16',
                 suffix: str = '.png',
                 batch_size: int = 1,
                 num_workers: int = 0,
                 resume: bool = True,
                 evaluate: bool = True,
                 ignore_index: int = 255,
                 score_activation: str = 'auto',
                 max_pending: Optional[int] = None,
                 progress: bool = True) -> None:
        if score_activation not in ('auto', 'none', 'softmax'):
            raise ValueError("score_activation must be 'auto', 'none' or "
                             f"'softmax', got {score_activation!r}")
        if crf_workers is not None and crf_workers < 0:
            raise ValueError(f'crf_workers must be >= 0, got {crf_workers}')
        self.out_dir = out_dir
        self.scales = scales
        self.flip = flip
        self.fusion = fusion
        self.use_img_labels = use_img_labels
        self.require_img_labels = require_img_labels
        self.crf = crf
        self.crf_workers = crf_workers
        self.postprocess = build_label_postprocessor(postprocess)
        self.save_scores = save_scores
        self.score_dir = score_dir or out_dir
        self.score_dtype = score_dtype
        self.suffix = suffix
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.resume = resume
        self.evaluate = evaluate
        self.ignore_index = ignore_index
        self.score_activation = score_activation
        self.max_pending = max_pending
        self.progress = progress

    # ------------------------------------------------------------------ setup
    def _crf_params(self, model: nn.Module) -> Optional[Dict]:
        crf = self.crf
        if crf is None:
            crf = getattr(model, 'test_cfg', None) or {}
            crf = crf.get('crf', False)
        if not crf:
            return None
        params = dict(DEFAULT_CRF_PARAMS)
        if isinstance(crf, dict):
            unknown = set(crf) - set(DEFAULT_CRF_PARAMS)
            if unknown:
                raise KeyError(
                    f'unknown CRF parameters {sorted(unknown)}; expected '
                    f'some of {sorted(DEFAULT_CRF_PARAMS)}')
            params.update(crf)
        return params

    def _pool_size(self, model: nn.Module, world_size: int) -> int:
        if self.crf_workers is not None:
            return self.crf_workers
        cfg = getattr(model, 'test_cfg', None) or {}
        if cfg.get('crf_workers') is not None:
            return int(cfg['crf_workers'])
        return max(1, (os.cpu_count() or 1) // world_size)

    def _test_cfg_overrides(self, model: nn.Module) -> Dict:
        overrides = dict(use_img_labels=self.use_img_labels, crf=False)
        for key in ('scales', 'flip', 'fusion'):
            value = getattr(self, key)
            if value is None:
                continue
            if not _is_weak_segmentor(model):
                raise ValueError(
                    f'{key} can only be overridden for a BaseWeakSegmentor, '
                    f'got {type(model).__name__}; use mmseg test-time '
                    'augmentation (tta_model) for stock segmentors')
            overrides[key] = list(value) if key == 'scales' else value
        return overrides

    def output_names(self, dataset: Dataset) -> List[str]:
        """Label file name (relative to ``out_dir``) of every image."""
        img_root = getattr(dataset, 'data_prefix', {}).get('img_path')
        names, seen = [], {}
        for idx in range(len(dataset)):
            img_path = dataset.get_data_info(idx)['img_path']
            name = label_file_name(img_path, img_root, self.suffix)
            if name in seen:
                raise ValueError(
                    f'images {seen[name]} and {img_path} map to the same '
                    f'pseudo-label file {name}')
            seen[name] = img_path
            names.append(name)
        return names

    def _paths(self, name: str) -> Dict[str, Optional[str]]:
        png = osp.join(self.out_dir, name)
        npz = None
        if self.save_scores:
            npz = osp.join(self.score_dir,
                           name[:-len(self.suffix)] + '.npz')
        return dict(png=png, npz=npz)

    def _is_complete(self, name: str) -> bool:
        paths = self._paths(name)
        if not is_complete_png(paths['png']):
            return False
        return paths['npz'] is None or is_complete_npz(paths['npz'])

    @staticmethod
    def _check_classes(model: nn.Module, dataset: Dataset) -> int:
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        n_model = model_num_classes(model)
        if classes is None:
            if n_model is None:
                raise ValueError('neither the model nor the dataset tells '
                                 'the number of classes')
            return n_model
        if n_model is not None and n_model != len(classes):
            raise ValueError(
                f'the model predicts {n_model} classes but the dataset '
                f'{type(dataset).__name__} has {len(classes)} '
                f'({list(classes)[:5]}...): model.num_classes and the '
                'dataset differ (wrong checkpoint or config?)')
        return len(classes)

    # -------------------------------------------------------------------- run
    def run(self, model: nn.Module, dataset: Union[Dataset, Dict]) -> Dict:
        """Generate (and evaluate) the pseudo labels of ``dataset``.

        Every rank of the default process group must call this with the same
        dataset; each image is written by exactly one rank.

        Args:
            model (nn.Module): The segmentor (DDP-wrapped or bare).
            dataset (Dataset | dict): The split (or its config), built with
                a test pipeline; it should load the ground truth for
                evaluation and the image labels for restriction.

        Returns:
            dict: The summary (also saved as JSON in ``out_dir``).
        """
        start = time.perf_counter()
        rank, world_size = get_dist_info()
        model = unwrap_model(model)
        dataset = build_dataset(dataset)
        num_classes = self._check_classes(model, dataset)
        names = self.output_names(dataset)
        gt_dir = getattr(dataset, 'data_prefix', {}).get('seg_map_path')
        if gt_dir and osp.realpath(gt_dir) == osp.realpath(self.out_dir):
            raise ValueError(
                f'out dir {self.out_dir} is the ground-truth dir of the '
                'split (data_prefix.seg_map_path); choose another out dir')

        check_writable_dir(self.out_dir, 'pseudo-label out dir')
        if self.save_scores:
            check_writable_dir(self.score_dir, 'pseudo-label score dir')
        if rank == 0:
            removed = remove_stale_temp_files(self.out_dir)
            if self.save_scores and self.score_dir != self.out_dir:
                removed += remove_stale_temp_files(self.score_dir)
            if removed:
                print_log(
                    f'removed {removed} temporary files of an interrupted '
                    f'run from {self.out_dir}', logger='current')
        barrier()

        shard = list(range(rank, len(dataset), world_size))
        todo = [i for i in shard
                if not (self.resume and self._is_complete(names[i]))]
        stats = self._generate(model, dataset, names, todo, world_size)
        stats.update(rank=rank, shard=len(shard), skipped=len(shard) -
                     len(todo))
        barrier()

        evaluation = None
        if self.evaluate:
            evaluation = self._evaluate(dataset, names, shard, num_classes)
        ranks = all_gather_object(stats)
        summary = self._summary(dataset, names, ranks, evaluation,
                                time.perf_counter() - start, model)
        if rank == 0:
            atomic_write_bytes(
                osp.join(self.out_dir, SUMMARY_FILE),
                json.dumps(summary, indent=2).encode())
            print_log(
                f"pseudo labels in {self.out_dir}: {summary['written']} "
                f"written, {summary['skipped']} already complete, "
                f"{summary['time_s']:.1f} s", logger='current')
        barrier()
        return summary

    def _generate(self, model: nn.Module, dataset: Dataset,
                  names: List[str], todo: List[int],
                  world_size: int) -> Dict:
        """Predict and write the images ``todo`` of this rank."""
        rank = get_dist_info()[0]
        state = dict(
            crf=self._crf_params(model),
            postprocess=self.postprocess,
            score_dtype=self.score_dtype)
        pool_size = self._pool_size(model, world_size)
        written: List[str] = []
        seconds = dict(model=0.0, postprocess=0.0)
        if not todo:
            return dict(written=0, written_names=written, **seconds)
        softmax = (self.score_activation == 'softmax'
                   or (self.score_activation == 'auto'
                       and not _is_weak_segmentor(model)))
        loader = DataLoader(
            Subset(dataset, todo),
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            shuffle=False,
            collate_fn=pseudo_collate)
        bar = ProgressBar(len(todo)) if (self.progress
                                         and rank == 0) else None

        def collect(out: Dict) -> None:
            written.append(out['name'])
            seconds['postprocess'] += out['seconds']
            if bar is not None:
                bar.update()

        writer = LabelWriter(state, pool_size, collect, self.max_pending,
                             world_size)
        was_training = model.training
        model.eval()
        position = 0
        warned = False
        try:
            with writer, _test_cfg_overridden(
                    model, self._test_cfg_overrides(model)):
                for batch in loader:
                    samples = batch['data_samples']
                    batch_indices = todo[position:position + len(samples)]
                    position += len(samples)
                    if self.require_img_labels:
                        self._check_img_labels(samples)
                    elif self.use_img_labels and not warned and not any(
                            IMG_LABELS_FIELD in ds for ds in samples):
                        warned = True
                        print_log(
                            f"{samples[0].metainfo.get('img_path')} has no "
                            'image-level labels: its scores are not '
                            'restricted (require_img_labels=True / '
                            '--require-img-labels makes this an error)',
                            logger='current', level=logging.WARNING)
                    tic = time.perf_counter()
                    with torch.no_grad():
                        outputs = model.test_step(batch)
                    seconds['model'] += time.perf_counter() - tic
                    for idx, out in zip(batch_indices, outputs):
                        writer.submit(self._job(out, names[idx], softmax))
        finally:
            model.train(was_training)
        if bar is not None:
            print()
        return dict(written=len(written), written_names=written, **seconds)

    def _check_img_labels(self, samples: Sequence) -> None:
        missing = [
            ds.metainfo.get('img_path', '?') for ds in samples
            if IMG_LABELS_FIELD not in ds
        ]
        if missing:
            raise ValueError(
                f'require_img_labels=True but {missing} carry no image-level '
                f'labels ({IMG_LABELS_FIELD}); use a split with labels and '
                'LoadImageLevelLabels + PackWeakSegInputs in its pipeline')

    def _job(self, out, name: str, softmax: bool) -> Dict:
        scores = out.seg_logits.data.detach().float()
        if softmax:
            scores = scores.softmax(0)
        scores = scores.cpu().numpy()
        if not np.isfinite(scores).all():
            raise ValueError(f"{out.metainfo.get('img_path')}: the model "
                             'produced NaN/inf scores')
        labels = None
        if IMG_LABELS_FIELD in out:
            labels = out.get(IMG_LABELS_FIELD).detach().float().cpu().numpy()
        img_path = out.metainfo.get('img_path', name)
        info = dict(
            img_path=img_path,
            img_id=out.metainfo.get(
                'img_id', osp.splitext(osp.basename(img_path))[0]),
            name=name,
            img_labels=labels)
        paths = self._paths(name)
        for path in paths.values():
            if path is not None:
                os.makedirs(osp.dirname(path), exist_ok=True)
        # only the non-zero channels travel to the pool (absent classes are
        # zero after restriction to the image labels)
        return dict(scores=(*compact_channels(scores), len(scores)),
                    info=info, **paths)

    # ------------------------------------------------------------ evaluation
    def _evaluate(self, dataset: Dataset, names: List[str],
                  shard: List[int], num_classes: int) -> Optional[Dict]:
        """Confusion matrix of this rank's shard, summed over ranks."""
        pairs = []
        for idx in shard:
            info = dataset.get_data_info(idx)
            pairs.append((names[idx], osp.join(self.out_dir, names[idx]),
                          info.get('seg_map_path')))
        reduce_zero = bool(getattr(dataset, 'reduce_zero_label', False))
        conf, missing_gt, missing_pred = evaluate_label_files(
            pairs, num_classes, self.ignore_index, reduce_zero)
        conf = torch.from_numpy(conf)
        all_reduce(conf)
        missing_gt = sum(all_gather_object(missing_gt), [])
        missing_pred = sum(all_gather_object(missing_pred), [])
        evaluated = len(dataset) - len(missing_gt) - len(missing_pred)
        class_names = list(dataset.metainfo['classes'])
        if missing_gt:
            print_log(
                f'{len(missing_gt)} of {len(dataset)} images have no ground '
                f'truth and are not evaluated: {sorted(missing_gt)[:20]}'
                f"{' ...' if len(missing_gt) > 20 else ''}",
                logger='current')
        if evaluated == 0:
            return dict(
                num_evaluated=0,
                missing_gt=sorted(missing_gt),
                missing_pred=sorted(missing_pred))
        metrics = metrics_from_confusion(conf.numpy())
        if get_dist_info()[0] == 0:
            print_log('\n' + format_iou_table(metrics, class_names),
                      logger='current')
        result = metrics_to_dict(metrics, class_names)
        result.update(
            num_evaluated=evaluated,
            missing_gt=sorted(missing_gt),
            missing_pred=sorted(missing_pred),
            confusion_matrix=conf.tolist())
        return result

    def _summary(self, dataset: Dataset, names: List[str], ranks: List[Dict],
                 evaluation: Optional[Dict], seconds: float,
                 model: nn.Module) -> Dict:
        written = sum(r['written'] for r in ranks)
        cfg = getattr(model, 'test_cfg', None) or {}
        return dict(
            out_dir=osp.abspath(self.out_dir),
            num_images=len(names),
            written=written,
            skipped=sum(r['skipped'] for r in ranks),
            world_size=len(ranks),
            time_s=round(seconds, 3),
            images_per_s=round(written / seconds, 3) if seconds > 0 else None,
            settings=dict(
                scales=self.scales if self.scales is not None else cfg.get(
                    'scales', [1.0]),
                flip=self.flip if self.flip is not None else cfg.get(
                    'flip', False),
                fusion=self.fusion if self.fusion is not None else cfg.get(
                    'fusion', 'mean'),
                use_img_labels=self.use_img_labels,
                crf=self._crf_params(model),
                postprocess=getattr(self.postprocess, '__name__',
                                    type(self.postprocess).__name__),
                save_scores=self.save_scores),
            ranks=[{
                'rank': r['rank'],
                'shard': r['shard'],
                'written': r['written'],
                'skipped': r['skipped'],
                'model_s': round(r['model'], 3),
                'postprocess_s': round(r['postprocess'], 3),
                'written_names': r['written_names']
            } for r in ranks],
            evaluation=evaluation)
