"""segcorr: segment-aware vision for anime, manga and photos."""

__version__ = "0.1.0"
