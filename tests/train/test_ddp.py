import json
import os
import subprocess
import sys
from pathlib import Path

from segcorr.train.checkpoint import list_checkpoints

WORKER = Path(__file__).parent / "ddp_worker.py"


def test_torchrun_two_gloo_ranks_train_and_only_rank0_writes(tmp_path):
    # the guided model: segment guidance must not leave DDP waiting on unused parameters
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": src}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(WORKER),
            str(tmp_path),
            "AniFlowFormerTV3-test",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["steps"] for r in ranks] == [3, 3]
    # DistributedSampler-like sharding: the ranks trained on different data
    assert ranks[0]["batch_sums"] != ranks[1]["batch_sums"]
    run = tmp_path / "ddp"
    assert [p.name for p in list_checkpoints(run)] == ["step_00000003"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2
    rows = (run / "metrics.csv").read_text().splitlines()
    # one writer: each step logged once, not once per rank
    assert sum(1 for r in rows if r.startswith("3,train/loss,")) == 1
