"""What a Glow or RealNVP trained for restoration (config.restoreTask) is conditioned on: the
observation y made from x and its degradation values (restore/observation.ts) and the features of
y its couplings see (flows/observation-encoder.ts, parameters `observation.*`), in PyTorch.
"""
import torch
from torch.nn import functional as F

from flowdesk_layers import conv1x1, conv3x3, per_channel, squeeze

# Each task's box-average factor (None: inpainting, whose y is x with a hole and the mask).
TASK_FACTORS = {"upscale-2": 2, "upscale-4": 4, "inpaint": None}
# Width of one uniform rounding error of an upscaling task's small value: an 8-bit level.
OBSERVED_STEP = 1 / 256


def restore_task(cfg):
    """The task the model was trained for; 'none' for a kind without the setting, as FlowDesk's restoreTaskOf."""
    return cfg.get("restoreTask", "none")


def check_restore_task(cfg, source):
    """Refuses a task this package does not know, naming the field."""
    task = restore_task(cfg)
    if task != "none" and task not in TASK_FACTORS:
        raise SystemExit(f"{source}: config.restoreTask is {task!r}; this package knows none, {', '.join(TASK_FACTORS)}.")


def degradation_kinds(cfg):
    """observation.ts degradationNoise: the (values, distribution) a restoration model draws per
    image to make y (its scoring noise, which it also trains on); [] for a model without a task."""
    task = restore_task(cfg)
    if task == "none":
        return []
    if task == "inpaint":
        return [(cfg["size"] ** 2, "hole-mask")]
    small = cfg["size"] // TASK_FACTORS[task]
    return [(small * small * cfg["channels"], "uniform")]


def degraded_observation(task, x, values=None):
    """y [n, H, W, C'] of NHWC images x and their degradation values [n, v]: upscaling's box average
    plus its rounding error repeated over each block, inpainting's x with the hole zeroed and the
    mask (1 = observed) as one more channel. Without values, the empty observation: zeros."""
    n, h, w, c = x.shape
    if values is None:
        return x.new_zeros(n, h, w, c + 1 if task == "inpaint" else c)
    if task == "inpaint":
        mask = values.reshape(n, h, w, 1)
        return torch.cat([x * mask, mask], 3)
    f = TASK_FACTORS[task]
    small = x.reshape(n, h // f, f, w // f, f, c).mean((2, 4)) + (values.reshape(n, h // f, w // f, c) - 0.5) * OBSERVED_STEP
    return small.repeat_interleave(f, 1).repeat_interleave(f, 2)


def encoder_features(P, y, resolutions):
    """The encoder's NCHW features of NHWC y at each resolution, the full size first: two 3x3
    convolutions with ReLU, then per further resolution a squeeze and a 1x1 convolution with ReLU."""
    dense = lambda h, name, conv: F.relu(conv(h, P[f"observation.{name}.weight"]) + per_channel(P[f"observation.{name}.bias"]))
    h = dense(dense(y.permute(0, 3, 1, 2), "conv1", conv3x3), "conv2", conv3x3)
    out = [h]
    for r in range(1, resolutions):
        h = dense(squeeze(h), f"down{r}", conv1x1)
        out.append(h)
    return out


def observation_features(P, cfg, x, noise=None):
    """The features a restoration model's couplings see for NHWC images x and their degradation
    values (`noise`: [values [n, v]], as FlowDesk's model takes them; None: the empty observation).
    Glow's levels squeeze first, so it has features at levels + 1 sizes; RealNVP's last scale does not squeeze."""
    y = degraded_observation(restore_task(cfg), x, noise[0] if noise else None)
    return encoder_features(P, y, cfg["levels"] + (1 if cfg["kind"] == "glow" else 0))
