"""FlowDesk's rational-quadratic spline (main/engine/lab/transforms/rational-quadratic.ts and
spline-bins.ts; Durkan et al. 2019 after nflows): K bins on [-B, B] with softmax widths and
heights floored at 1e-3 of the span, inner knot derivatives softplus(raw + shift) + 1e-3 (so zero
parameters are the identity), end derivatives 1, and the identity outside [-B, B]. Forward only:
training and scoring need no inverse.
"""
import math

import torch
from torch.nn import functional as F

MIN_BIN_SIZE = 1e-3
MIN_DERIVATIVE = 1e-3
DERIVATIVE_SHIFT = math.log(math.expm1(1 - MIN_DERIVATIVE))


def bins_from(raw, bound):
    """Each bin's left knot and size from softmax(raw) [..., K] over [-bound, bound]."""
    k = raw.shape[-1]
    size = 2 * bound * (MIN_BIN_SIZE + (1 - MIN_BIN_SIZE * k) * torch.softmax(raw, -1))
    return torch.cumsum(size, -1) - size - bound, size


def spline_forward(v, params, bins, bound):
    """y and log dy/dx of every value of `v` [...] under its parameters `params` [..., 3K-1]."""
    k = bins
    within = v.abs() <= bound
    x = v.clamp(-bound, bound)
    x_left, x_size = bins_from(params[..., :k], bound)
    y_left, y_size = bins_from(params[..., k:2 * k], bound)
    inner = F.softplus(params[..., 2 * k:] + DERIVATIVE_SHIFT) + MIN_DERIVATIVE
    end = torch.full_like(inner[..., :1], F.softplus(torch.tensor(DERIVATIVE_SHIFT)).item() + MIN_DERIVATIVE)
    d_left, d_right = torch.cat([end, inner], -1), torch.cat([inner, end], -1)
    # The bin holding x: the last left knot at or below it.
    idx = ((x[..., None] >= x_left).sum(-1, keepdim=True) - 1).clamp(0, k - 1)
    pick = lambda t: t.gather(-1, idx)[..., 0]
    x0, w, y0, h, d0, d1 = map(pick, (x_left, x_size, y_left, y_size, d_left, d_right))
    delta = h / w
    theta = (x - x0) / w
    t1 = theta * (1 - theta)
    denominator = delta + (d0 + d1 - 2 * delta) * t1
    y = y0 + h * (delta * theta ** 2 + d0 * t1) / denominator
    log_slope = torch.log(delta ** 2 * (d1 * theta ** 2 + 2 * delta * t1 + d0 * (1 - theta) ** 2)) - 2 * torch.log(denominator)
    return torch.where(within, y, v), torch.where(within, log_slope, torch.zeros_like(v))
