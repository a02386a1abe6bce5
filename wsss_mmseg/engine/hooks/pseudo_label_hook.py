"""Regenerate the training pseudo labels with the current model."""
import copy
import inspect
import os.path as osp
from typing import Dict, List, Optional, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log

from wsss_mmseg.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


def leaf_datasets(dataset) -> List:
    """The datasets under mmengine/torch dataset wrappers.

    Follows ``ConcatDataset.datasets`` and ``RepeatDataset`` /
    ``ClassBalancedDataset`` / ``Subset`` ``.dataset``.
    """
    if hasattr(dataset, 'datasets'):
        return [leaf for d in dataset.datasets for leaf in leaf_datasets(d)]
    if hasattr(dataset, 'dataset') and not hasattr(dataset, 'data_prefix'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Regenerate the pseudo labels of a split and train on them.

    A *round* (every ``every_n_train_iters`` iterations, every
    ``every_n_train_epochs`` epochs and/or at the end of training) runs
    :class:`wsss_mmseg.apis.PseudoLabelGenerator` with the current model on
    the split, writing ``<out_dir>/iter_<n>/``, logs the pseudo-label mIoU
    (``train/<log_prefix>/mIoU`` in the message hub, hence in the training
    log lines; ``<log_prefix>/mIoU`` in the visualizer backends; one log
    line per round) and, with ``update_train_dataset``, points every training
    dataset's ``data_prefix['seg_map_path']`` at the new directory and
    re-initialises it, so the next iterations train on the new labels (SPN's
    iterative refinement; the last stage of PSA/SPN-style pipelines).

    Iteration-based loops fire epoch hooks only once per run: use
    ``every_n_train_iters`` with ``IterBasedTrainLoop``.

    What the training side needs:

    - a training dataset that reads its masks from
      ``data_prefix['seg_map_path']`` + ``<img name><seg_map_suffix>``
      (mmseg ``BaseSegDataset`` and subclasses) with ``seg_map_suffix`` equal
      to the generator's ``suffix`` ('.png');
    - data loader workers hold a copy of the dataset, so after a round the
      hook replaces the running iterator (with ``persistent_workers=True``
      the persistent workers are shut down and re-forked); the new labels
      are seen from the next iteration on and batches already prefetched
      are dropped. mmengine's ``InfiniteSampler`` then restarts its order
      with ``seed + 1``. With ``num_workers=0`` nothing is restarted.

    Under DDP every rank runs the round on its shard (the model is unwrapped
    with ``is_model_wrapper``); the generator synchronises the ranks with
    barriers before and after writing.

    The current label directory is saved in checkpoints (``meta``) and
    restored on resume.

    Args:
        out_dir (str, optional): Root of the rounds' directories. Default
            ``<work_dir>/pseudo_labels``.
        dataloader (str): Config key of the dataloader whose dataset is the
            split to label. Default 'pseudo_label_dataloader'.
        split (str, optional): Replace the split (ann_file stem, see
            :func:`wsss_mmseg.apis.split_dataset_cfg`). Default None.
        dataset (dict, optional): Explicit dataset config (instead of
            ``dataloader``/``split``).
        every_n_train_iters (int, optional): Round interval in iterations.
        every_n_train_epochs (int, optional): Round interval in epochs
            (epoch-based loops only).
        at_train_end (bool): Also run a round after the last iteration
            (unless one just ran), before the last checkpoint is saved.
            Default True.
        update_train_dataset (bool): Point the training datasets at the new
            labels. Default True.
        generator_cfg (dict, optional): Keyword arguments of
            ``PseudoLabelGenerator`` (``crf``, ``scales``, ``postprocess``,
            ``crf_workers``, ...). ``out_dir`` is set by the hook.
        log_prefix (str): Prefix of the logged scalars. Default
            'pseudo_label'.
    """

    priority = 'LOW'

    def __init__(self,
                 out_dir: Optional[str] = None,
                 dataloader: str = 'pseudo_label_dataloader',
                 split: Optional[str] = None,
                 dataset: Optional[Dict] = None,
                 every_n_train_iters: Optional[int] = None,
                 every_n_train_epochs: Optional[int] = None,
                 at_train_end: bool = True,
                 update_train_dataset: bool = True,
                 generator_cfg: Optional[Dict] = None,
                 log_prefix: str = 'pseudo_label') -> None:
        for key, value in (('every_n_train_iters', every_n_train_iters),
                           ('every_n_train_epochs', every_n_train_epochs)):
            if value is not None and value <= 0:
                raise ValueError(f'PseudoLabelHook.{key} must be a positive '
                                 f'integer, got {value}')
        generator_cfg = dict(generator_cfg or {})
        if 'out_dir' in generator_cfg:
            raise KeyError('PseudoLabelHook: set out_dir on the hook, not in '
                           'generator_cfg')
        self.out_dir = out_dir
        self.dataloader = dataloader
        self.split = split
        self.dataset_cfg = dataset
        self.iter_interval = every_n_train_iters
        self.epoch_interval = every_n_train_epochs
        self.at_train_end = at_train_end
        self.update_train_dataset = update_train_dataset
        self.generator_cfg = generator_cfg
        self.log_prefix = log_prefix
        self.current_dir: Optional[str] = None
        self.history: List[Dict] = []
        self._dataset = None
        self._last_round_iter: Optional[int] = None

    # ---------------------------------------------------------------- events
    def before_train(self, runner) -> None:
        """Point the training data at the labels of a resumed run."""
        if self.current_dir and self.update_train_dataset:
            self._point_train_data(runner, self.current_dir)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Run a round every ``every_n_train_iters`` iterations, and the
        final round after the last iteration: before the CheckpointHook
        (lower priority) saves the last checkpoint, which then names the
        final label directory."""
        due = self.iter_interval and self.every_n_train_iters(
            runner, self.iter_interval)
        if due or (self.at_train_end and self.is_last_train_iter(runner)):
            # runner.iter advances after the after_train_iter hooks
            self.run_round(runner, step=runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        """Run a round every ``every_n_train_epochs`` epochs (unless the
        last iteration just ran one)."""
        if (self.epoch_interval
                and self.every_n_epochs(runner, self.epoch_interval)
                and self._last_round_iter != runner.iter):
            self.run_round(runner, step=runner.iter)

    def after_train(self, runner) -> None:
        """Final round if the loop ended without one (e.g. a resumed run
        already at ``max_iters``)."""
        if self.at_train_end and self._last_round_iter != runner.iter:
            self.run_round(runner, step=runner.iter)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember the current label directory in the checkpoint."""
        if self.current_dir is not None:
            checkpoint.setdefault('meta', {})['pseudo_label_dir'] = \
                self.current_dir

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the label directory of a resumed run."""
        self.current_dir = (checkpoint.get('meta') or {}).get(
            'pseudo_label_dir', self.current_dir)

    # ----------------------------------------------------------------- round
    def _split_dataset(self, runner):
        from wsss_mmseg.apis import build_dataset, split_dataset_cfg
        if self._dataset is None:
            cfg = self.dataset_cfg
            if cfg is None:
                cfg = split_dataset_cfg(runner.cfg, self.split,
                                        self.dataloader)
            self._dataset = build_dataset(copy.deepcopy(cfg))
        return self._dataset

    def run_round(self, runner, step: Optional[int] = None) -> Dict:
        """Generate, log and (optionally) switch the training labels.

        Args:
            runner (Runner): The runner.
            step (int, optional): Number of finished iterations (names the
                round's directory). Default ``runner.iter``.

        Returns:
            dict: The generator's summary.
        """
        from wsss_mmseg.apis import PseudoLabelGenerator
        root = self.out_dir or osp.join(runner.work_dir, 'pseudo_labels')
        step = runner.iter if step is None else step
        out_dir = osp.join(root, f'iter_{step}')
        generator = PseudoLabelGenerator(out_dir=out_dir,
                                         **self.generator_cfg)
        summary = generator.run(runner.model, self._split_dataset(runner))
        self._last_round_iter = step
        self.current_dir = out_dir
        evaluation = summary.get('evaluation') or {}
        miou = evaluation.get('mIoU')
        scalars = {f'{self.log_prefix}/written': summary['written']}
        if miou is not None:
            scalars[f'{self.log_prefix}/mIoU'] = miou
        for key, value in scalars.items():
            # 'train/' scalars go into the LoggerHook's lines and backends
            runner.message_hub.update_scalar(f'train/{key}', value)
        runner.message_hub.update_info(f'{self.log_prefix}/dir', out_dir)
        if runner.rank == 0:
            runner.visualizer.add_scalars(scalars, step=step)
        runner.logger.info(
            f'pseudo labels of iteration {step} in {out_dir}: '
            f"{summary['written']} written, mIoU "
            f"{'n/a (no ground truth)' if miou is None else f'{miou:.2f}'}")
        self.history.append(
            dict(iter=step, out_dir=out_dir, mIoU=miou,
                 written=summary['written']))
        if self.update_train_dataset:
            self._point_train_data(runner, out_dir)
        return summary

    def _point_train_data(self, runner, label_dir: str) -> None:
        """Re-initialise the training datasets on ``label_dir``."""
        loader = runner.train_dataloader
        suffix = self.generator_cfg.get('suffix', '.png')
        for dataset in leaf_datasets(loader.dataset):
            prefix = getattr(dataset, 'data_prefix', None)
            if prefix is None:
                raise TypeError(
                    f'PseudoLabelHook: training dataset '
                    f'{type(dataset).__name__} has no data_prefix; can not '
                    'point it at the pseudo labels')
            ds_suffix = getattr(dataset, 'seg_map_suffix', suffix)
            if ds_suffix != suffix:
                raise ValueError(
                    f'PseudoLabelHook: the training dataset reads masks '
                    f'with seg_map_suffix={ds_suffix!r} but the pseudo '
                    f'labels are written with suffix={suffix!r}')
            prefix['seg_map_path'] = label_dir
            dataset._fully_initialized = False
            dataset.full_init()
        self._restart_iterator(runner)
        print_log(f'training data now reads its masks from {label_dir}',
                  logger='current')

    @staticmethod
    def _restart_iterator(runner) -> None:
        """Restart data-loader workers so they see the re-initialised data.

        Single-process loading (``num_workers=0``) reads the dataset object
        itself and needs nothing. With workers, the running iterator (and
        persistent workers) is replaced. mmengine's ``InfiniteSampler``
        keeps one index generator for its lifetime, which dies with the old
        iterator: it is recreated with ``seed + 1`` (same on every rank, so
        the shards stay disjoint).
        """
        loader = runner.train_dataloader
        if not getattr(loader, 'num_workers', 0):
            return
        persistent = getattr(loader, '_iterator', None)
        if persistent is not None:
            shutdown = getattr(persistent, '_shutdown_workers', None)
            if shutdown is not None:
                shutdown()
            loader._iterator = None
        sampler = getattr(loader, 'sampler', None)
        if inspect.isgenerator(getattr(sampler, 'indices', None)) and \
                hasattr(sampler, '_indices_of_rank'):
            sampler.seed += 1
            sampler.indices = sampler._indices_of_rank()
        infinite = getattr(runner.train_loop, 'dataloader_iterator', None)
        if infinite is not None and hasattr(infinite, '_iterator'):
            infinite._iterator = iter(loader)
