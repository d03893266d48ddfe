"""Weekly consumption series of known shape, deterministic (seeded)."""

from __future__ import annotations

import numpy as np


def seasonal(weeks: int = 104, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    return [int(v) for v in np.round(np.maximum(100 + 40 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 5, weeks), 0))]


def trending(weeks: int = 104, seed: int = 2) -> list[int]:
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    return [int(v) for v in np.round(np.maximum(50 + 1.5 * t + rng.normal(0, 4, weeks), 0))]


def intermittent(weeks: int = 104, seed: int = 3, zeros: float = 0.7) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(v) for v in np.where(rng.random(weeks) < zeros, 0, rng.poisson(6, weeks) + 1)]
