"""FlowDesk's seeded streams in numpy, bit for bit (main/engine/random.ts, train/batches.ts,
data/dequantize.ts): which images a step takes, which are mirrored, their dequantization noise and
a model's other per-image values (an objective's noise, a restoration model's degradations) are
pure functions of (seed, step), so a run continued here draws what FlowDesk would have; an
evaluation's scoring values have a seeded stream of their own.
"""
import math

import numpy as np

M32 = 0xFFFFFFFF
INCREMENT = 0x7F4A7C159E3779B9  # the Rng's 64-bit counter step (hi 0x7f4a7c15, lo 0x9e3779b9)
STREAM_ORDER, STREAM_NOISE, STREAM_FLIP, STREAM_GAUSSIAN, STREAM_TRAINING_NOISE, STREAM_SCORING_NOISE, STREAM_LABEL_DROPOUT = 1, 2, 3, 4, 5, 6, 7
EVAL_SEED_PART, INIT_SEED_PART = 7, 99


def imul(a, b):
    return (a * b) & M32


def mix_seed(*parts):
    """batches.ts mixSeed: a 32-bit mix of several integers."""
    h = 0x811C9DC5
    for p in parts:
        h = imul(h ^ (p & M32), 0x01000193)
        h = imul(h ^ (h >> 15), 0x2C1B3C6D)
    return h


class Rng:
    """random.ts Rng: a 64-bit counter advanced by INCREMENT and mixed to 32 bits. The k-th draw
    depends only on the counter after k steps, so draws are computed many at a time."""

    def __init__(self, seed):
        self.counter = ((seed // 2 ** 32) << 32 | (seed & M32)) & 0xFFFFFFFFFFFFFFFF

    def uint32(self, n):
        k = np.arange(1, n + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            c = np.uint64(self.counter) + k * np.uint64(INCREMENT)
        self.counter = (self.counter + n * INCREMENT) & 0xFFFFFFFFFFFFFFFF
        lo, hi = c & np.uint64(M32), c >> np.uint64(32)
        m = np.uint64(M32)
        z = (lo ^ ((hi * np.uint64(0x85EBCA6B)) & m)) & m
        z = ((z ^ (z >> np.uint64(16))) * np.uint64(0x85EBCA6B)) & m
        z = ((z ^ (z >> np.uint64(13))) * np.uint64(0xC2B2AE35)) & m
        return (z ^ (z >> np.uint64(16))).astype(np.uint64)

    def uniform(self, n):
        """n draws of next(): uniform in [0, 1), as float64."""
        return self.uint32(n).astype(np.float64) / 4294967296.0

    def normal(self, n):
        """n draws of normal(): Box-Muller on (1 - next(), next()), one value per pair, as float64."""
        u = self.uniform(2 * n)
        return np.sqrt(-2 * np.log(1 - u[0::2])) * np.cos(2 * np.pi * u[1::2])

    def permutation(self, n):
        """Fisher-Yates of 0..n-1 as random.ts draws it."""
        p = np.arange(n, dtype=np.int64)
        u = self.uniform(max(n - 1, 0))
        for t, i in enumerate(range(n - 1, 0, -1)):
            j = int(np.floor(u[t] * (i + 1)))
            p[i], p[j] = p[j], p[i]
        return p


def batch_indices(count, batch, seed, step, cache={}):
    """Image indices of `step` (0-based): epochs are seeded permutations of the training set."""
    out = np.empty(batch, dtype=np.int64)
    for i in range(batch):
        position = step * batch + i
        epoch = position // count
        key = (count, seed, epoch)
        if key not in cache:
            cache.clear()
            cache[key] = Rng(mix_seed(seed, STREAM_ORDER, epoch)).permutation(count)
        out[i] = cache[key][position % count]
    return out


def flipped_images(batch, seed, step):
    """Which of the batch's images are mirrored left-right."""
    return Rng(mix_seed(seed, STREAM_FLIP, step)).uniform(batch) < 0.5


def dequantize(pixels, n_bits, rng):
    """x = floor(p / 2^(8-n)) / 2^n - 1/2 + u, in float32, each bin's top kept below the next bin."""
    bins = 2 ** n_bits
    b = (pixels.astype(np.int64) >> (8 - n_bits)).reshape(-1)
    x = ((b + rng.uniform(b.size)) / bins - 0.5).astype(np.float32)
    tops = np.nextafter(((np.arange(bins) + 1) / bins - 0.5).astype(np.float32), np.float32(-np.inf))
    return np.minimum(x, tops[b]).reshape(pixels.shape)


def add_gaussian_noise(x, sigma, rng):
    """x + sigma N(0, 1) per value in order, each sum rounded to float32 (dequantize.ts addGaussianNoise)."""
    noised = x.astype(np.float64).reshape(-1) + sigma * rng.normal(x.size)
    return noised.astype(np.float32).reshape(x.shape)


def training_batch(images, batch, n_bits, seed, step, flip, noise=0):
    """The dequantized NHWC batch of `step` and the indices of its images (batches.ts trainingBatch);
    with `noise` > 0, plus Gaussian noise of that standard deviation (TarFlow's noise augmentation)."""
    idx = batch_indices(len(images), batch, seed, step)
    pixels = images[idx].copy()
    if flip:
        chosen = flipped_images(batch, seed, step)
        pixels[chosen] = pixels[chosen][:, :, ::-1, :]
    x = dequantize(pixels, n_bits, Rng(mix_seed(seed, STREAM_NOISE, step)))
    return (add_gaussian_noise(x, noise, Rng(mix_seed(seed, STREAM_GAUSSIAN, step))) if noise > 0 else x), idx


def training_labels(labels, idx, seed, step, dropout):
    """The class indices of `step`'s images (-1: none), each hidden with probability `dropout` (batches.ts trainingClasses' label dropout)."""
    out = np.asarray(labels)[idx].astype(np.int64)
    if dropout > 0:
        out[Rng(mix_seed(seed, STREAM_LABEL_DROPOUT, step)).uniform(len(idx)) < dropout] = -1
    return out


def random_rectangle_mask(size, rng):
    """restore/mask.ts randomRectangleMask as float32 size * size values (1 = observed): a hole whose
    sides are each a quarter to three quarters of the side, at a random place; four draws."""
    low = max(1, size // 4)
    high = max(low, (3 * size) // 4)
    u = rng.uniform(4)
    height = low + int(np.floor(u[0] * (high - low + 1)))
    width = low + int(np.floor(u[1] * (high - low + 1)))
    top = int(np.floor(u[2] * (size - height + 1)))
    left = int(np.floor(u[3] * (size - width + 1)))
    mask = np.ones((size, size), dtype=np.float32)
    mask[top:top + height, left:left + width] = 0
    return mask.reshape(-1)


def draw_values(kinds, n, rng):
    """n images' values of each (values per image, distribution) kind, in order, as float32 [n, values] (batches.ts drawValues):
    flow matching's noise and probes, a restoration model's degradations."""
    out = []
    for values, distribution in kinds:
        if distribution == "normal":
            drawn = rng.normal(n * values)
        elif distribution == "uniform":
            drawn = rng.uniform(n * values)
        elif distribution == "rademacher":
            drawn = np.where(rng.uniform(n * values) < 0.5, -1, 1)
        elif distribution == "hole-mask":
            side = math.isqrt(values)
            drawn = np.concatenate([random_rectangle_mask(side, rng) for _ in range(n)] or [np.zeros(0)])
        else:
            raise SystemExit(f"this package cannot draw {distribution!r} noise")
        out.append(drawn.astype(np.float32).reshape(n, values))
    return out


def training_noise(kinds, batch, seed, step):
    """The values of `step`'s whole batch besides its images (batches.ts trainingNoise: flow matching's x0 and t, a
    restoration model's degradations), before the ranks split it."""
    return draw_values(kinds, batch, Rng(mix_seed(seed, STREAM_TRAINING_NOISE, step)))


def evaluation_seed(seed):
    """The seed the trainer's validation runs with."""
    return mix_seed(seed, EVAL_SEED_PART)


def scoring_stream(eval_seed):
    """The stream an evaluation draws a model's scoring noise from (flow matching's probes), apart from its dequantization noise."""
    return Rng(mix_seed(eval_seed, STREAM_SCORING_NOISE))


def evaluation_batches(images, n_bits, seed, limit, batch=64, noise=0):
    """(start, dequantized NHWC batch) over the first `limit` images, with evaluate.ts' one seeded
    stream, which also noises each batch after dequantizing it when `noise` > 0."""
    rng = Rng(evaluation_seed(seed))
    total = min(limit, len(images))
    for start in range(0, total, batch):
        x = dequantize(images[start:min(start + batch, total)], n_bits, rng)
        yield start, (add_gaussian_noise(x, noise, rng) if noise > 0 else x)
