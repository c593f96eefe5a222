"""Pictures for people: flow colours, error heat maps, mask overlays, panels and the HTML report.

All functions take NumPy arrays and return uint8 RGB images [H, W, 3]; OpenCV is imported lazily.
"""

from segcorr.viz.error import error_map
from segcorr.viz.flow_color import add_legend, colorwheel_legend, flow_to_color
from segcorr.viz.overlay import overlay_masks
from segcorr.viz.panel import side_by_side
from segcorr.viz.report import Report

__all__ = ["Report", "add_legend", "colorwheel_legend", "error_map", "flow_to_color", "overlay_masks", "side_by_side"]
