"""Character isolation on manga pages: hierarchical Z-buffer ordering and occluder subtraction (ADR 004).

`zbuffer` orders characters (smaller key = nearer), `isolate` builds the masks, `output` writes them
(and holds `isolate_cli`, behind `segcorr isolate`), `evaluate` is `segcorr eval isolate`, `demo` the
report section.
"""

from segcorr.layering.isolate import IsolationConfig, IsolationResult, isolate_masks, isolate_page
from segcorr.layering.output import isolate_cli, write_isolation
from segcorr.layering.zbuffer import DepthKey, ZBufferCalculator, ZBufferConfig, order_by_panel

__all__ = [
    "DepthKey",
    "IsolationConfig",
    "IsolationResult",
    "ZBufferCalculator",
    "ZBufferConfig",
    "isolate_cli",
    "isolate_masks",
    "isolate_page",
    "order_by_panel",
    "write_isolation",
]
