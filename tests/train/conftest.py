from pathlib import Path

import pytest

HERE = Path(__file__).parent
# the registry's tiny model at a tiny size: a step takes well under a second on one core
TINY = [
    "model.name=AniFlowFormerT-test",
    "model.args={}",
    "batch_size=2",
    "data.height=64",
    "data.width=80",
    "data.num_workers=0",
    "val.count=2",
    "val.height=64",
    "val.width=80",
    "progress=false",
    "threads=1",
]


@pytest.fixture
def tiny(tmp_path):
    return TINY + [f"out={tmp_path}"]
