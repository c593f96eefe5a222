"""File formats: images, Middlebury .flo, KITTI flow PNG, label maps, COCO RLE masks, safetensors weights.

Every reader raises `segcorr.errors.InputError` naming the file on bad input; every writer is atomic.
"""

from segcorr.io.flo import read_flo, write_flo
from segcorr.io.image import read_gray, read_image, write_image
from segcorr.io.kitti import read_kitti_flow, write_kitti_flow
from segcorr.io.labelmap import read_labelmap, write_labelmap
from segcorr.io.rle import MaskCache, decode_mask, encode_mask
from segcorr.io.weights import load_weights, read_model_card, read_weights_metadata, save_weights

__all__ = [
    "MaskCache",
    "decode_mask",
    "encode_mask",
    "load_weights",
    "read_flo",
    "read_gray",
    "read_image",
    "read_kitti_flow",
    "read_labelmap",
    "read_model_card",
    "read_weights_metadata",
    "save_weights",
    "write_flo",
    "write_image",
    "write_kitti_flow",
    "write_labelmap",
]
