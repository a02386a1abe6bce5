"""Image grids of class score maps, pseudo labels and ground truth.

Used by ``tools/analysis/visualize.py``; pure numpy + OpenCV, so it works on
machines without a display or matplotlib.
"""
from typing import List, Optional, Sequence

import cv2
import numpy as np

from .label_io import voc_palette

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def colorize_labels(label: np.ndarray,
                    palette: Optional[np.ndarray] = None) -> np.ndarray:
    """Colour a label map with a palette (VOC's by default; 255 = void).

    Args:
        label (np.ndarray): (H, W) integer labels in [0, 255].
        palette (np.ndarray, optional): (N, 3) uint8 RGB, N <= 256; missing
            entries fall back to VOC's.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    full = voc_palette()
    if palette is not None:
        palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
        full[:len(palette)] = palette[:256]
    return full[np.clip(np.asarray(label), 0, 255).astype(np.int64)]


def score_heatmap(image: np.ndarray, score: np.ndarray,
                  alpha: float = 0.5) -> np.ndarray:
    """Overlay one class score map (scaled by its maximum) on the image.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB.
        score (np.ndarray): (H, W) non-negative scores.
        alpha (float): Weight of the heat map.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    score = np.asarray(score, dtype=np.float32)
    peak = float(score.max())
    norm = score / peak if peak > 0 else np.zeros_like(score)
    heat = cv2.applyColorMap((255 * norm).astype(np.uint8), cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    return (alpha * heat + (1 - alpha) * image).astype(np.uint8)


def _tile(img: np.ndarray, caption: str, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    width = max(1, round(w * height / h))
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_NEAREST)
    strip = np.full((18, width, 3), 255, np.uint8)
    cv2.putText(strip, caption[:max(1, width // 7)], (2, 13), _FONT, 0.4,
                (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, img], 0)


def _legend(classes: Sequence[int], class_names: Sequence[str],
            palette: np.ndarray, width: int) -> np.ndarray:
    """Rows of colour boxes with class names."""
    row, rows, x = [], [], 0
    for c in classes:
        name = class_names[c] if c < len(class_names) else (
            'unsure' if c == 255 else str(c))
        w = 22 + 7 * len(name) + 10
        if x + w > width and row:
            rows.append(row)
            row, x = [], 0
        row.append((c, name, x))
        x += w
    if row:
        rows.append(row)
    canvas = np.full((max(1, len(rows)) * 18, width, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, name, x0 in row:
            y0 = r * 18
            colour = [int(v) for v in palette[c]]
            cv2.rectangle(canvas, (x0 + 2, y0 + 3), (x0 + 16, y0 + 15),
                          colour, -1)
            cv2.rectangle(canvas, (x0 + 2, y0 + 3), (x0 + 16, y0 + 15),
                          (0, 0, 0), 1)
            cv2.putText(canvas, name, (x0 + 20, y0 + 14), _FONT, 0.4,
                        (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def draw_pseudo_label_grid(image: np.ndarray,
                           scores: Optional[np.ndarray],
                           pseudo_label: Optional[np.ndarray],
                           gt: Optional[np.ndarray],
                           class_names: Sequence[str],
                           img_labels: Optional[np.ndarray] = None,
                           max_heatmaps: int = 4,
                           height: int = 160,
                           palette: Optional[np.ndarray] = None,
                           title: str = '') -> np.ndarray:
    """One row: image | score heat maps | pseudo label | ground truth.

    Heat maps are drawn for the classes of ``img_labels`` (when given) or
    the classes with the highest peak score, at most ``max_heatmaps``,
    captioned with the class name and its peak score. A legend names the
    colours of the label maps.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB.
        scores (np.ndarray, optional): (C, H, W) class scores (CAM, SP-CAM,
            patch maps: whatever ``seg_logits`` holds).
        pseudo_label (np.ndarray, optional): (H, W) labels.
        gt (np.ndarray, optional): (H, W) ground-truth labels.
        class_names (list[str]): C names, background first.
        img_labels (np.ndarray, optional): (C,) multi-hot.
        max_heatmaps (int): Maximum number of heat maps.
        height (int): Tile height in pixels.
        palette (np.ndarray, optional): (N, 3) label colours; VOC's default.
        title (str): Caption of the image tile.

    Returns:
        np.ndarray: (H', W', 3) uint8 RGB grid.
    """
    tiles: List[np.ndarray] = [_tile(image, title or 'image', height)]
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float32)
        if scores.shape[1:] != image.shape[:2]:
            raise ValueError(f'scores of shape {scores.shape} do not match '
                             f'the image {image.shape[:2]}')
        peaks = scores.reshape(len(scores), -1).max(1)
        if img_labels is not None:
            order = [int(c) for c in np.flatnonzero(np.asarray(img_labels))]
        else:
            order = [int(c) for c in np.argsort(-peaks)]
        for c in order[:max_heatmaps]:
            name = class_names[c] if c < len(class_names) else str(c)
            tiles.append(
                _tile(score_heatmap(image, scores[c]),
                      f'{name} {peaks[c]:.2f}', height))
    present = set()
    full_palette = colorize_labels(np.arange(256)[None], palette)[0]
    for label, caption in ((pseudo_label, 'pseudo label'),
                           (gt, 'ground truth')):
        if label is None:
            continue
        label = np.asarray(label)
        if label.shape != image.shape[:2]:
            raise ValueError(f'{caption} of shape {label.shape} does not '
                             f'match the image {image.shape[:2]}')
        present.update(int(v) for v in np.unique(label))
        tiles.append(_tile(colorize_labels(label, palette), caption, height))
    row = np.concatenate(tiles, 1)
    if present:
        legend = _legend(sorted(present), class_names, full_palette,
                         row.shape[1])
        row = np.concatenate([row, legend], 0)
    return row
