"""Atomic, resumable writing of label PNGs and score files.

Every file is written to a temporary name in the destination directory and
renamed with :func:`os.replace` (atomic on POSIX), so an interrupted run
leaves either the complete file or no file under the final name; leftovers
are temporary files (``.<name>.tmp-<pid>``) that the next run removes.
"""
import io
import os
import os.path as osp
import tempfile
from typing import Optional, Sequence

import numpy as np
from PIL import Image

TMP_MARK = '.tmp-'


def voc_palette(num_entries: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map (bit-interleaved label -> RGB).

    Index 0 is black (background), 255 is (224, 224, 192) (the VOC "void"
    colour), so 255 "unsure" pixels look like VOC's ignore border.

    Args:
        num_entries (int): Number of palette entries.

    Returns:
        np.ndarray: (num_entries, 3) uint8.
    """
    labels = np.arange(num_entries)
    palette = np.zeros((num_entries, 3), dtype=np.int64)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= (
                (labels >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.astype(np.uint8)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file + ``os.replace``.

    Args:
        path (str): Destination; its directory must exist.
        data (bytes): Content.
    """
    directory, base = osp.split(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{base}{TMP_MARK}{os.getpid()}-', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def encode_label_png(label: np.ndarray,
                     palette: Optional[np.ndarray] = None) -> bytes:
    """PNG bytes of a label map in palette ('P') mode.

    Args:
        label (np.ndarray): (H, W) integer labels in [0, 255].
        palette (np.ndarray, optional): (N, 3) uint8; default VOC's.

    Returns:
        bytes: The PNG file content.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'a label map must be (H, W), got {label.shape}')
    if label.size and (label.min() < 0 or label.max() > 255):
        raise ValueError('label values must lie in [0, 255] to be stored in '
                         f'a palette PNG, got [{label.min()}, {label.max()}]')
    img = Image.fromarray(label.astype(np.uint8), mode='P')
    img.putpalette((voc_palette() if palette is None else np.asarray(
        palette, dtype=np.uint8)).ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    return buf.getvalue()


def write_label_png(path: str,
                    label: np.ndarray,
                    palette: Optional[np.ndarray] = None) -> None:
    """Atomically write a palette label PNG (see :func:`encode_label_png`)."""
    atomic_write_bytes(path, encode_label_png(label, palette))


def write_scores_npz(path: str, scores: np.ndarray,
                     classes: Sequence[int], dtype: str = 'float16') -> None:
    """Atomically write the scores of some classes as a compressed ``.npz``.

    The file holds ``scores`` (K, H, W) in ``dtype`` and ``classes`` (K,)
    int16, the class index of each channel.

    Args:
        path (str): Destination (``.npz``).
        scores (np.ndarray): (C, H, W) scores of all classes.
        classes (list[int]): The K classes to keep (e.g. the image's labels).
        dtype (str): Storage type, default float16.
    """
    classes = np.asarray(classes, dtype=np.int16)
    buf = io.BytesIO()
    np.savez_compressed(
        buf, scores=np.asarray(scores)[classes].astype(dtype),
        classes=classes)
    atomic_write_bytes(path, buf.getvalue())


def is_complete_png(path: str) -> bool:
    """Whether ``path`` is a PNG that decodes fully (resume criterion)."""
    if not osp.isfile(path):
        return False
    try:
        with Image.open(path) as img:
            img.load()
        return True
    except Exception:
        return False


def is_complete_npz(path: str) -> bool:
    """Whether ``path`` is a score ``.npz`` that loads fully."""
    if not osp.isfile(path):
        return False
    try:
        with np.load(path) as data:
            data['scores'], data['classes']
        return True
    except Exception:
        return False


def remove_stale_temp_files(directory: str) -> int:
    """Delete temporary files an interrupted run left in ``directory``.

    Returns:
        int: Number of files removed.
    """
    removed = 0
    for root, _, files in os.walk(directory):
        for name in files:
            if name.startswith('.') and TMP_MARK in name:
                try:
                    os.remove(osp.join(root, name))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


def check_writable_dir(directory: str, what: str = 'output dir') -> None:
    """Create ``directory`` and check that files can be created in it.

    Raises:
        PermissionError: naming the directory when it can not be written.
    """
    try:
        os.makedirs(directory, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix='.write-probe', dir=directory)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise PermissionError(
            f'{what} {directory!r} is not writable: {e}') from e
