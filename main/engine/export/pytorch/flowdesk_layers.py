"""The layers FlowDesk's multiscale flows (Glow, RealNVP) share, in PyTorch on NCHW activations
with parameters in FlowDesk's names and layouts ([kh, kw, in, out] filters, [in, out] matrices,
transposed at use, so checkpoints and optimizer moments map one to one): convolutions, ActNorm
and its data init, the zero convolution, the squeeze, Gaussian densities, couplings (channel or
checkerboard; affine, additive or spline) and the class conditioning of the top prior.
"""
import math

import torch
from torch.nn import functional as F

from flowdesk_spline import spline_forward

LOG2PI = math.log(2 * math.pi)
LOGSCALE_FACTOR = 3.0
SCALE_OFFSET = 2.0


def conv3x3(x, w, bias=None):
    """A 3x3 'same' convolution of NCHW x with a FlowDesk filter [3, 3, in, out], plus `bias` per output channel if given."""
    return F.conv2d(x, w.permute(3, 2, 0, 1), bias, padding=1)


def conv1x1(x, w, bias=None):
    """A 1x1 convolution with a FlowDesk matrix [in, out] (y = x W per pixel), plus `bias` if given."""
    # [..., None, None], not [:, :, None, None]: full slices cost a zero-filled copy each in backward.
    return F.conv2d(x, w.t()[..., None, None], bias)


def scaled_conv(conv, x, w, bias, scale):
    """(conv(x, w) + bias) * scale per output channel, with the scale folded into the filter's
    output axis and the bias: the same function, but the convolution writes the result in one
    pass instead of two more over its (largest) output, forward and backward."""
    return conv(x, w * scale, bias * scale)


def per_channel(v):
    return v.view(1, -1, 1, 1)


def zero_conv(P, name, x):
    """(conv3x3 + bias) * exp(3 logs): Glow's Conv2dZeros."""
    return scaled_conv(conv3x3, x, P[name + ".weight"], P[name + ".bias"], torch.exp(P[name + ".logs"] * LOGSCALE_FACTOR))


def squeeze(x):
    """[N, C, H, W] -> [N, 4C, H/2, W/2] with FlowDesk's channel order (c, dy, dx)."""
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, c * 4, h // 2, w // 2)


def gaussian_log_density(z, mean, logs):
    return (-0.5 * (((z - mean) * torch.exp(-logs)) ** 2 + 2 * logs + LOG2PI)).flatten(1).sum(1)


def initialise_actnorm(P, name, x):
    """ActNorm's data-dependent init (Glow, section 3.1): bias and scale that give `x` zero mean and unit variance per channel."""
    with torch.no_grad():
        P[name + ".bias"].copy_(-x.mean(dim=(0, 2, 3)))
        P[name + ".logs"].copy_(-torch.log(x.std(dim=(0, 2, 3), unbiased=False) + 1e-6))


def hidden(P, name, x, conv, net, init=False):
    """A coupling network's hidden layer: relu((conv + bias) exp(logs)) (actnorm) or relu(conv + bias)."""
    w = P[name + ".weight"]
    if net != "actnorm":
        return F.relu(conv(x, w, P[name + ".bias"]))
    if init:
        initialise_actnorm(P, name + ".actnorm", conv(x, w))
    return F.relu(scaled_conv(conv, x, w, P[name + ".actnorm.bias"], torch.exp(P[name + ".actnorm.logs"])))


def coupling(P, name, x, cfg, net, mask="channel", flip=False, init=False, features=None):
    """A coupling layer (flows/coupling.ts): the first ceil(C/2) channels condition the rest (the
    second half with `flip`), or a checkerboard's pixels (row + col + flip) mod 2 = 1 condition the
    others. Affine (b + shift) * sigmoid(raw + 2), additive b + shift, or the spline on each value.
    A restoration model's network also sees the observation's `features` (NCHW, at x's size),
    concatenated after the conditioning channels. Returns the output and the log-det per image
    (None where volume is kept)."""
    n, c, height, width = x.shape
    if mask == "channel":
        split = (c + 1) // 2
        first, second = x.split([split, c - split], 1)
        condition, target = (second, first) if flip else (first, second)
        join = (lambda t: torch.cat([t, second], 1)) if flip else (lambda t: torch.cat([first, t], 1))
        keep = None
    else:
        rows = torch.arange(height, device=x.device)[:, None] + torch.arange(width, device=x.device)[None, :]
        keep = ((rows + int(flip)) % 2).to(x.dtype)[None, None]
        condition, target = x * keep, x
        join = lambda t: condition + t * (1 - keep)
    h = hidden(P, name + ".net.conv1", condition if features is None else torch.cat([condition, features], 1), conv3x3, net, init)
    h = hidden(P, name + ".net.conv2", h, conv1x1, net, init)
    h = zero_conv(P, name + ".net.conv3", h)
    ct = target.shape[1]
    if cfg["coupling"] == "additive":
        return join(target + h), None
    if cfg["coupling"] == "spline":
        # Network channel c*P + p is value c's parameter p; a checkerboard's kept pixels are parked
        # past the tail bound, where the spline is the identity with log-slope 0.
        parked = target if keep is None else target * (1 - keep) + keep * 2 * cfg["tailBound"]
        params = h.view(n, ct, -1, height, width).permute(0, 1, 3, 4, 2)
        y, log_slope = spline_forward(parked, params, cfg["bins"], cfg["tailBound"])
        return join(y), log_slope.flatten(1).sum(1)
    shift, raw = h.split(ct, 1)
    raw = raw + SCALE_OFFSET
    # log sigmoid is FlowDesk's -softplus(-raw), in one pass; the scale is its exponential.
    log_scale = F.logsigmoid(raw)
    out = join((target + shift) * torch.sigmoid(raw))
    if keep is not None:
        log_scale = log_scale * (1 - keep)
    return out, log_scale.flatten(1).sum(1)


def actnorm(P, name, x, init=False):
    """y = (x + bias) exp(logs); log-det H W sum(logs)."""
    if init:
        initialise_actnorm(P, name, x)
    return (x + per_channel(P[name + ".bias"])) * per_channel(torch.exp(P[name + ".logs"])), x.shape[2] * x.shape[3] * P[name + ".logs"].sum()


def class_prior(P, mean, logs, classes):
    """The top prior shifted by the classes' embedding (one-hot rows; an all-zero row adds nothing)."""
    k = mean.shape[1]
    shift = (classes @ P["classes.embedding.weight"]) * torch.exp(P["classes.embedding.logs"] * LOGSCALE_FACTOR)
    return mean + shift[:, :k, None, None], logs + shift[:, k:, None, None]


def class_logits(P, top):
    """Class logits [n, K] from the top latent's mean over positions."""
    scale = torch.exp(P["classes.classifier.logs"] * LOGSCALE_FACTOR)
    return (top.mean(dim=(2, 3)) @ P["classes.classifier.weight"] + P["classes.classifier.bias"]) * scale
