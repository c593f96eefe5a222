"""Keys of the isolation's mask cache: the page, the segmenter WITH its settings, the character and its box.

A cached mask may only answer for the segmenter that made it, so the segmenter part of the key covers:
- its name;
- its settings: a dataclass `config` (the flat backend's), its simple public attributes (numbers, strings,
  paths), what `cache_settings()` returns when it has one (the labelmap backend: its source), and the
  options it was built with when the caller passes them (`segcorr isolate`: checkpoint, weights, source);
- every file or folder among those settings by its stamp (absolute path, size, modification time), so a
  checkpoint rewritten in place is a new segmenter;
- the weights of any torch module it holds (`model`, `predictor.model`, ...): names, shapes, dtypes and a
  strided sample of each tensor, so two checkpoints loaded from one path differ too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

_SIMPLE = (bool, int, float, str)


def path_stamp(path: str | os.PathLike) -> dict:
    """{"path", "size", "mtime_ns"} of a file; of a folder, the stamps of its files (not recursive, sorted);
    {"path", "missing": True} when it does not exist."""
    p = Path(path).expanduser().resolve()
    if p.is_file():
        st = p.stat()
        return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if p.is_dir():
        files = []
        with os.scandir(p) as it:
            for e in it:
                if e.is_file():
                    st = e.stat()
                    files.append((e.name, st.st_size, st.st_mtime_ns))
        return {"path": str(p), "files": sorted(files)}
    return {"path": str(p), "missing": True}


def _value(v: object) -> object:
    """A JSON-able description of one setting (None when it says nothing stable)."""
    if v is None or isinstance(v, _SIMPLE):
        return v
    if isinstance(v, os.PathLike):
        return path_stamp(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _value(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _value(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, np.ndarray):
        return {"array": hashlib.sha1(np.ascontiguousarray(v).tobytes()).hexdigest(), "shape": list(v.shape)}
    if type(v).__name__ == "device":
        return str(v)
    return None


def _modules(obj: object, depth: int = 2) -> list:
    """Torch modules held by `obj` or by its attributes (two levels deep), without importing torch."""
    torch = sys.modules.get("torch")
    if torch is None or depth == 0 or not hasattr(obj, "__dict__"):
        return []
    out = []
    for name, v in sorted(vars(obj).items()):
        if isinstance(v, torch.nn.Module):
            out.append((name, v))
        elif not isinstance(v, (*_SIMPLE, list, dict, tuple, np.ndarray)) and hasattr(v, "__dict__"):
            out += [(f"{name}.{n}", m) for n, m in _modules(v, depth - 1)]
    return out


def module_digest(module) -> str:
    """sha1 over a module's state: every tensor's name, shape, dtype and up to 64 evenly spaced values."""
    h = hashlib.sha1()
    for name, t in module.state_dict().items():
        flat = t.detach().reshape(-1)
        step = max(1, flat.numel() // 64)
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(flat[::step][:64].float().cpu().numpy().tobytes())
    return h.hexdigest()


def segmenter_fingerprint(segmenter: object, settings: dict | None = None) -> str:
    """A short hex digest naming `segmenter` and its settings (see the module docstring); `settings`: the options
    it was built with (paths are stamped)."""
    desc: dict = {"name": getattr(segmenter, "name", type(segmenter).__name__)}
    attrs = {}
    for k, v in sorted(getattr(segmenter, "__dict__", {}).items()):
        if k.startswith("_"):
            continue
        d = _value(v)
        if d is not None:
            attrs[k] = d
    desc["attrs"] = attrs
    own = getattr(segmenter, "cache_settings", None)
    if callable(own):
        desc["own"] = _value(own())
    if settings:
        desc["settings"] = {k: _setting(k, v) for k, v in sorted(settings.items())}
    desc["modules"] = {name: module_digest(m) for name, m in _modules(segmenter)}
    text = json.dumps(desc, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _setting(name: str, v: object) -> object:
    """A build option: file options as stamps (a weights name that is no file: the shipped file's stamp)."""
    if name in ("checkpoint", "source", "weights") and isinstance(v, str):
        if name == "weights" and not Path(v).exists():
            from segcorr.io.weights import weights_path

            shipped = weights_path(v)
            return {"name": v, "file": None if shipped is None else path_stamp(shipped)}
        return path_stamp(v)
    return _value(v)


def page_key(image: np.ndarray) -> str:
    """16 hex digits of sha1 over the page's pixels."""
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()[:16]


def mask_key(page: str, segmenter: str, cid: object, box: list[float]) -> str:
    """The cache key of one character's mask."""
    return f"{page}:{segmenter}:{cid}:" + ",".join(f"{v:g}" for v in box)
