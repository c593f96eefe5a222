"""Scalar logs of a run (rank 0 only): ``metrics.csv`` plus TensorBoard events under ``tb/``."""

from __future__ import annotations

import csv
from pathlib import Path


class ScalarLog:
    """Appends rows ``step, tag, value`` to ``<run>/metrics.csv`` (long format, so new tags need no new header)
    and mirrors them to TensorBoard. A resumed run appends to the same files."""

    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        new = not self.path.exists()
        self._f = open(self.path, "a", newline="")  # noqa: SIM115 (held open for the run; closed in close())
        self._w = csv.writer(self._f)
        if new:
            self._w.writerow(["step", "tag", "value"])
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(Path(run_dir) / "tb"))

    def log(self, step: int, values: dict[str, float]) -> None:
        for tag, v in values.items():
            self._w.writerow([step, tag, f"{float(v):.6g}"])
            if self._tb is not None:
                self._tb.add_scalar(tag, float(v), step)
        self._f.flush()

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb.close()


def read_scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    """All ``(step, value)`` rows for ``tag`` from ``metrics.csv``."""
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        return [(int(r["step"]), float(r["value"])) for r in csv.DictReader(f) if r["tag"] == tag]
