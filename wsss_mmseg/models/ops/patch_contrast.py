"""Patch contrastive learning (APC, methods.md §3.3).

Wu et al., "Adaptive Patch Contrast for Weakly Supervised Semantic
Segmentation" (2024), section "Patch contrastive learning".
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def patch_similarity(embeddings: Tensor) -> Tensor:
    """Cosine similarity rescaled to [0, 1]: ``s(i, j) = (1 + cos(z_i, z_j)) / 2``.

    Args:
        embeddings (Tensor): (B, N, D) patch embeddings.

    Returns:
        Tensor: (B, N, N) similarities in [0, 1].
    """
    z = F.normalize(embeddings, dim=-1, eps=1e-12)
    return (1 + z @ z.transpose(1, 2)) / 2


def patch_contrast_loss(embeddings: Tensor,
                        probs: Tensor,
                        labels: Tensor,
                        tau: float = 0.85,
                        include_background: bool = False,
                        cross_class_negatives: bool = False) -> Tensor:
    """APC's patch contrastive loss (paper §3.3).

    For image b and a present class c, ``H_c = {i : P_i(c) > tau}`` are the
    high-confidence patches and ``l_c = argmin_i P_i(c)`` the
    low-confidence patch. With ``s`` from :func:`patch_similarity`:

    ``L(c) = mean_{i != j in H_c} (1 - s(i, j)) + mean_{i in H_c} s(i, l_c)``

    The pull term is skipped when ``|H_c| < 2``, the whole class when
    ``|H_c| = 0``. ``L`` is averaged over the valid classes of an image,
    then over the images that have at least one valid class; with none,
    the loss is 0 (not NaN) and still part of the graph.

    Options (our reconstruction, off by default): ``include_background``
    also treats class 0 as a class; ``cross_class_negatives`` adds, per
    image, ``mean_{c != c'} mean_{i in H_c, j in H_c'} s(i, j)`` over the
    pairs of valid classes.

    The selection (``H_c``, ``l_c``) uses ``probs`` detached; gradients
    flow only into ``embeddings``. Memory is O(B * N^2): fine for the
    24 x 24 training grid, not for 60 x 60.

    Args:
        embeddings (Tensor): (B, N, D) patch embeddings.
        probs (Tensor): (B, N, C) patch class probabilities, background at 0.
        labels (Tensor): (B, C) multi-hot image labels, background at 0.
        tau (float): Confidence threshold of ``H_c``. Default 0.85 [paper].
        include_background (bool): Use class 0 as well.
        cross_class_negatives (bool): Push different classes apart.

    Returns:
        Tensor: scalar loss.
    """
    if embeddings.dim() != 3 or probs.dim() != 3:
        raise ValueError('patch_contrast_loss expects (B, N, D) embeddings '
                         'and (B, N, C) probs, got '
                         f'{tuple(embeddings.shape)} and {tuple(probs.shape)}')
    if embeddings.shape[:2] != probs.shape[:2]:
        raise ValueError('patch_contrast_loss: embeddings '
                         f'{tuple(embeddings.shape)} and probs '
                         f'{tuple(probs.shape)} differ in (B, N)')
    if labels.shape != (probs.shape[0], probs.shape[2]):
        raise ValueError(f'patch_contrast_loss: labels of shape '
                         f'{tuple(labels.shape)}, expected '
                         f'{(probs.shape[0], probs.shape[2])}')
    probs = probs.detach()
    present = labels.detach() > 0
    if not include_background:
        present = present.clone()
        present[:, 0] = False
    high = (probs > tau) & present[:, None, :]  # (B, N, C)
    highf = high.to(embeddings.dtype)
    count = highf.sum(1)  # (B, C)
    valid = count > 0

    sim = patch_similarity(embeddings)  # (B, N, N)
    num_patches = sim.shape[1]
    eye = torch.eye(num_patches, dtype=torch.bool, device=sim.device)
    dissim = (1 - sim).masked_fill(eye, 0)
    # sum_{i != j} h_i h_j (1 - s_ij) for every class: (B, C)
    pull_sum = (highf * (dissim @ highf)).sum(1)
    pairs = count * (count - 1)
    pull = torch.where(pairs > 0, pull_sum / pairs.clamp(min=1),
                       torch.zeros_like(pull_sum))

    lowest = probs.argmin(1)  # (B, C)
    z = F.normalize(embeddings, dim=-1, eps=1e-12)
    z_low = torch.gather(
        z, 1, lowest[..., None].expand(-1, -1, z.shape[-1]))  # (B, C, D)
    sim_low = (1 + torch.einsum('bnd,bcd->bnc', z, z_low)) / 2  # (B, N, C)
    push = (highf * sim_low).sum(1) / count.clamp(min=1)

    per_class = (pull + push) * valid
    num_valid = valid.sum(1)  # (B,)
    per_image = per_class.sum(1) / num_valid.clamp(min=1)

    if cross_class_negatives:
        # sum_{i in H_c, j in H_c'} s_ij: (B, C, C)
        cross_sum = torch.einsum('bnc,bnk->bck', highf, sim @ highf)
        cross_pairs = count[:, :, None] * count[:, None, :]
        off_diag = ~torch.eye(
            count.shape[1], dtype=torch.bool, device=count.device)
        cross_valid = (cross_pairs > 0) & off_diag
        cross = torch.where(cross_valid,
                            cross_sum / cross_pairs.clamp(min=1),
                            torch.zeros_like(cross_sum))
        num_cross = cross_valid.sum((1, 2))
        per_image = per_image + cross.sum(
            (1, 2)) / num_cross.clamp(min=1)

    has_valid = num_valid > 0
    if not bool(has_valid.any()):
        return embeddings.sum() * 0
    return (per_image * has_valid).sum() / has_valid.sum()
