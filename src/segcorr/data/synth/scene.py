"""The layered world: parts, layers (characters / objects), background, and their motion over time.

Geometry is a tree of 2D affine transforms (3x3 matrices, image coords: x right, y down):
``sprite pixel -> part local -> parent local -> ... -> layer -> image``. A part's transform at time t
is its parent's composed with its own joint rotation, so an articulated hand follows its arm.
Everything is a pure function of the scene and t; frames, flows and occlusions all derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcorr.data.synth.shapes import Sprite


def translate(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


def rotate_scale(angle: float, scale: float = 1.0) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Motion:
    """Rigid-plus-scale motion of a layer origin: position, rotation and log-scale are polynomials in t.

    ``pos``: image position of the layer origin at t = 0; ``vel``/``acc`` in px per unit time
    (a cel pair spans t = 0..1); ``omega`` rad per unit time; ``scale_rate``: d log(scale) / dt.
    """

    pos: tuple[float, float]
    vel: tuple[float, float] = (0.0, 0.0)
    acc: tuple[float, float] = (0.0, 0.0)
    angle0: float = 0.0
    omega: float = 0.0
    scale0: float = 1.0
    scale_rate: float = 0.0
    origin: tuple[float, float] = (0.0, 0.0)  # layer point that sits at ``pos`` and is turned about

    def matrix(self, t: float) -> np.ndarray:
        """Layer -> image at time t, ``float64 [3, 3]``."""
        x = self.pos[0] + self.vel[0] * t + 0.5 * self.acc[0] * t * t
        y = self.pos[1] + self.vel[1] * t + 0.5 * self.acc[1] * t * t
        rs = rotate_scale(self.angle0 + self.omega * t, self.scale0 * np.exp(self.scale_rate * t))
        return translate(x, y) @ rs @ translate(-self.origin[0], -self.origin[1])


@dataclass(frozen=True)
class Part:
    """One segment of a layer. ``joint``: origin of this part in its parent's local frame (the
    layer frame for roots, ``parent == -1``); the part turns about it by
    ``rest_angle + swing * (sin(freq t + phase) - sin(phase))``. ``z``: order inside the layer."""

    sprite: Sprite
    concept: str
    kind: str
    parent: int = -1
    joint: tuple[float, float] = (0.0, 0.0)
    rest_angle: float = 0.0
    swing: float = 0.0
    freq: float = 1.5
    phase: float = 0.0
    z: float = 0.0

    def angle(self, t: float) -> float:
        return self.rest_angle + self.swing * (np.sin(self.freq * t + self.phase) - np.sin(self.phase))


@dataclass(frozen=True)
class Layer:
    """A character or object: parts (parents listed before children), its motion, an instance id and
    an instance concept ("character with red hair")."""

    parts: tuple[Part, ...]
    motion: Motion
    instance: int
    concept: str

    def part_matrices(self, t: float) -> list[np.ndarray]:
        """Part local -> image for every part at time t."""
        root = self.motion.matrix(t)
        mats: list[np.ndarray] = []
        for p in self.parts:
            parent = root if p.parent < 0 else mats[p.parent]
            mats.append(parent @ translate(*p.joint) @ rotate_scale(p.angle(t)))
        return mats


@dataclass(frozen=True)
class Background:
    """Background canvas (larger than the frame) and its pan. ``color``: uint8 [Hc, Wc, 3];
    ``regions``: uint16 [Hc, Wc] segment ids; ``motion`` maps canvas pixels to image pixels."""

    color: np.ndarray
    regions: np.ndarray
    motion: Motion
    concepts: dict[int, str]


@dataclass(frozen=True)
class Scene:
    """``layers``: back to front (the drawing order). Segment ids: background regions first, then
    every part in drawing order (``part_seg``); ``concepts`` maps every segment id to a name."""

    height: int
    width: int
    style: str
    background: Background
    layers: tuple[Layer, ...]

    def draw_order(self) -> list[tuple[int, int]]:
        """(layer index, part index) pairs back to front; parts sorted by z within a layer."""
        order = []
        for li, layer in enumerate(self.layers):
            idx = sorted(range(len(layer.parts)), key=lambda i: (layer.parts[i].z, i))
            order.extend((li, pi) for pi in idx)
        return order

    def surface_tables(self) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """Per surface index k (0 = background, 1..K parts in draw order): segment id, instance id, and
        the concept of every segment id. ``seg: int32 [K+1]`` (entry 0 unused), ``inst: int32 [K+1]``."""
        concepts = dict(self.background.concepts)
        first = max(concepts, default=0) + 1
        order = self.draw_order()
        seg = np.zeros(len(order) + 1, np.int32)
        inst = np.zeros(len(order) + 1, np.int32)
        for k, (li, pi) in enumerate(order, start=1):
            seg[k] = first + k - 1
            inst[k] = self.layers[li].instance
            concepts[int(seg[k])] = self.layers[li].parts[pi].concept
        return seg, inst, concepts

    def depth(self) -> list[int]:
        """Instance ids front to back (layers of instance 0, background planes, left out)."""
        return [layer.instance for layer in reversed(self.layers) if layer.instance]

    def instance_concepts(self) -> dict[int, str]:
        """Instance id -> concept, ids ascending (background planes, instance 0, left out)."""
        return {la.instance: la.concept for la in sorted(self.layers, key=lambda la: la.instance) if la.instance}

    def surface_matrices(self, t: float) -> np.ndarray:
        """Sprite (or background canvas) pixel -> image pixel at time t, ``float64 [K+1, 3, 3]``."""
        order = self.draw_order()
        per_layer = [layer.part_matrices(t) for layer in self.layers]
        mats = np.empty((len(order) + 1, 3, 3))
        mats[0] = self.background.motion.matrix(t)
        for k, (li, pi) in enumerate(order, start=1):
            sp = self.layers[li].parts[pi].sprite
            mats[k] = per_layer[li][pi] @ translate(sp.x0, sp.y0)
        return mats
