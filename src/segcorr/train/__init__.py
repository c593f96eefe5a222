"""The one trainer: ``train(config_path, overrides) -> run dir`` and ``export_weights(run_dir, out_path)``."""

from segcorr.train.export import export_weights
from segcorr.train.trainer import run_training, train

__all__ = ["export_weights", "run_training", "train"]
