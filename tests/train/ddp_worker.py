"""Launched by test_ddp.py under torchrun: trains a few steps and reports what this rank saw."""

import dataclasses
import json
import os
import sys
from pathlib import Path

import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parent))
from conftest import TINY


def main(out: str, model: str) -> None:
    from segcorr.train import trainer

    seen = []
    real_family = trainer.family

    def spying_family(task):
        fam = real_family(task)

        def spying_make_loss(cfg):
            fn = fam.make_loss(cfg)

            def loss_fn(model, batch):
                seen.append(float(batch["img0"].sum()))
                # the model is wrapped in DDP on every rank
                assert type(model).__name__ == "DistributedDataParallel"
                return fn(model, batch)

            return loss_fn

        return dataclasses.replace(fam, make_loss=spying_make_loss)

    trainer.family = spying_family
    run = trainer.train(
        None,
        TINY
        + [f"out={out}", "name=ddp", "steps=3", "ckpt_every=3", "val.every=3", "log_every=1", f"model.name={model}"],
    )
    rank = int(os.environ["RANK"])
    Path(out, f"rank{rank}.json").write_text(
        json.dumps(
            {"steps": len(seen), "batch_sums": seen, "initialized_after": dist.is_initialized(), "run": str(run)}
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
