"""A resumable, rank-sharded batch sampler and the learning-rate schedule (both pure functions of the step).

Every random choice of the data pipeline comes from here: the order of items (a permutation per epoch seeded by
``seed`` and the epoch) and each item's augmentation draw. Rank r of W takes the r-th slice of each global batch,
as DistributedSampler would, so W ranks with batch B see what one process with batch W*B would see. Because
batch ``s`` depends only on ``(seed, s)``, a run resumed at step s continues with exactly the batches it would
have seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class StepBatchSampler(Sampler):
    """Yields, for steps ``start_step .. steps-1``, this rank's batch as a list of ``(index, draw)`` pairs."""

    def __init__(
        self, n: int, batch_size: int, steps: int, seed: int, rank: int = 0, world: int = 1, start_step: int = 0
    ) -> None:
        if n < 1:
            raise ValueError("the dataset is empty")
        self.n, self.batch, self.steps, self.seed = n, batch_size, steps, seed
        self.rank, self.world, self.start = rank, world, start_step
        self._perm_epoch, self._perm = -1, np.arange(0)

    def _item(self, pos: int) -> tuple[int, int]:
        """The global ``pos``-th item of the stream: (dataset index, augmentation draw)."""
        epoch, i = divmod(pos, self.n)
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._perm_epoch = epoch
        # the draw is unique per position, so an item seen again in a later epoch is augmented differently
        return int(self._perm[i]), pos

    def batch_at(self, step: int) -> list[tuple[int, int]]:
        g = self.batch * self.world
        first = step * g + self.rank * self.batch
        return [self._item(first + j) for j in range(self.batch)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.steps):
            yield self.batch_at(step)

    def __len__(self) -> int:
        return max(0, self.steps - self.start)


def lr_at(step: int, steps: int, lr: float, schedule: str, warmup: float = 0.05, final_frac: float = 0.02) -> float:
    """Learning rate for ``step`` of ``steps`` (see ``lr_at_progress``)."""
    return lr_at_progress(step / max(1, steps), lr, schedule, warmup, final_frac)


def lr_at_progress(progress: float, lr: float, schedule: str, warmup: float = 0.05, final_frac: float = 0.02) -> float:
    """Learning rate at ``progress`` in [0, 1] of the run: onecycle = linear warm-up over the first ``warmup``
    then cosine down to lr*final_frac; cosine = the same without warm-up; constant = lr."""
    if schedule == "constant":
        return lr
    p = min(max(progress, 0.0), 1.0)
    w = warmup if schedule == "onecycle" else 0.0
    if p < w:
        return lr * (0.04 + 0.96 * p / w)
    t = (p - w) / max(1e-12, 1.0 - w)
    lo = lr * final_frac
    return lo + 0.5 * (lr - lo) * (1.0 + math.cos(math.pi * t))
