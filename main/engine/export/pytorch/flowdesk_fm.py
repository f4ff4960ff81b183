"""FlowDesk's flow matching in PyTorch (main/engine/models/flow-matching.ts, unet-velocity.ts,
ode-likelihood.ts): the U-Net velocity field in FlowDesk's names and layouts, its regression loss
on the optimal-transport path, and log p(x) through the ODE with Hutchinson probes (t = 0 noise, t = 1 image).
"""
import math

import torch

from flowdesk_layers import LOG2PI, conv1x1, conv3x3, per_channel, squeeze, zero_conv
from flowdesk_streams import Rng, draw_values

# Images in [-1/2, 1/2] are doubled into the field's space, where noise has unit scale; log p gains D log 2.
DATA_SCALE = 2
TIME_FREQUENCIES = [k * math.pi for k in (1, 2, 4, 8, 16, 32)]
# The probes' seed where none are given (flow-matching.ts PROBE_SEED): FlowDesk's logProb without scoring noise.
PROBE_SEED = 1
# Butcher tableaux of lab/ode/fixed-step.ts and dopri5.ts.
FIXED_STEP = {
    "euler": {"c": [0], "a": [[]], "b": [1]},
    "heun": {"c": [0, 1], "a": [[], [1]], "b": [1 / 2, 1 / 2]},
    "rk4": {"c": [0, 1 / 2, 1 / 2, 1], "a": [[], [1 / 2], [0, 1 / 2], [0, 0, 1]], "b": [1 / 6, 1 / 3, 1 / 3, 1 / 6]},
}
DOPRI5 = {
    "c": [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1],
    "a": [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
          [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
          [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656]],
    "b": [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
}
DOPRI5_ERROR = [35 / 384 - 5179 / 57600, 0, 500 / 1113 - 7571 / 16695, 125 / 192 - 393 / 640,
                -2187 / 6784 + 92097 / 339200, 11 / 84 - 187 / 2100, -1 / 40]
MAX_FACTOR, MIN_FACTOR, SAFETY, MAX_STEPS = 10, 0.2, 0.9, 1000
SOLVERS = (*FIXED_STEP, "dopri5")


def check_flow_matching(cfg, source):
    if cfg["solver"] not in SOLVERS:
        raise SystemExit(f"{source}: config.solver is {cfg['solver']!r}; this package solves with {', '.join(SOLVERS)}")


def training_noise_kinds(cfg):
    """The objective's noise per image, in FlowDesk's order: x0 ~ N(0, I) of the image's shape, then t ~ U(0, 1)."""
    return [(cfg["size"] ** 2 * cfg["channels"], "normal"), (1, "uniform")]


def scoring_noise_kinds(cfg):
    """`probes` Rademacher vectors per image: the Hutchinson probes of its log p(x)."""
    return [(cfg["probes"] * cfg["size"] ** 2 * cfg["channels"], "rademacher")]


def silu(x):
    return x * torch.sigmoid(x)


def conv(P, name, x):
    return conv3x3(x, P[name + ".weight"]) + per_channel(P[name + ".bias"])


def pointwise(P, name, x):
    return conv1x1(x, P[name + ".weight"]) + per_channel(P[name + ".bias"])


def unsqueeze(x):
    """The inverse of flowdesk_layers.squeeze: [N, 4C, H, W] -> [N, C, 2H, 2W]."""
    n, c4, h, w = x.shape
    return x.view(n, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c4 // 4, 2 * h, 2 * w)


def residual(P, name, h, time):
    """h + conv(silu(conv(silu(h)) + time shift))."""
    a = conv(P, name + ".conv1", silu(h))
    shift = time @ P[name + ".time.weight"] + P[name + ".time.bias"]
    return h + conv(P, name + ".conv2", silu(a + shift[:, :, None, None]))


def time_embedding(P, t):
    angles = t[:, None] * torch.tensor(TIME_FREQUENCIES, dtype=torch.float32, device=t.device)[None]
    features = torch.cat([torch.sin(angles), torch.cos(angles)], 1)
    return silu(features @ P["velocity.time.weight"] + P["velocity.time.bias"])


def velocity(P, cfg, y, t, classes=None):
    """v(y, t, c) of NHWC y in the field's space at per-image times t [n]; `classes` one-hot [n, K] (an all-zero row or None: no class)."""
    time = time_embedding(P, t)
    if classes is not None and cfg["classes"] > 0:
        time = time + classes @ P["velocity.class.weight"]

    def blocks(name, h):
        for k in range(cfg["depth"]):
            h = residual(P, f"{name}.blocks.{k}", h, time)
        return h

    h = conv(P, "velocity.input", y.permute(0, 3, 1, 2))
    skips = []
    for i in range(cfg["levels"]):
        h = blocks(f"velocity.down.{i}", h)
        skips.append(h)
        h = pointwise(P, f"velocity.down.{i}.squeezed", squeeze(h))
    h = blocks("velocity.middle", h)
    for i in reversed(range(cfg["levels"])):
        h = unsqueeze(pointwise(P, f"velocity.up.{i}.unsqueezed", h)) + skips.pop()
        h = blocks(f"velocity.up.{i}", h)
    return zero_conv(P, "velocity.output", silu(h)).permute(0, 2, 3, 1)


def flow_matching_loss(P, cfg, x, noise, classes=None):
    """Conditional flow matching with sigma_min = 0, per image: mean (v(x_t, t, c) - (x1 - x0))^2, x_t = (1 - t) x0 + t x1, x1 = 2 x."""
    n = x.shape[0]
    x0, t = noise[0].view(x.shape), noise[1].view(n)
    target = x * DATA_SCALE - x0
    xt = x0 + t.view(n, 1, 1, 1) * target
    return ((velocity(P, cfg, xt, t, classes) - target) ** 2).mean((1, 2, 3))


def add_scaled(y, h, coeffs, ks):
    """y + h sum coeffs[j] ks[j], state tensor by state tensor, in explicit-rk.ts' order (zero coefficients skipped)."""
    out = []
    for i, yi in enumerate(y):
        s = yi
        for j, c in enumerate(coeffs):
            if c != 0:
                s = s + ks[j][i] * (h * c)
        out.append(s)
    return out


def stages(f, t, y, h, tableau, k0=None):
    ks = [k0 if k0 is not None else f(t, y)]
    for i in range(1, len(tableau["c"])):
        ks.append(f(t + tableau["c"][i] * h, add_scaled(y, h, tableau["a"][i], ks)))
    return ks


def fixed_step(f, y, t0, t1, steps, tableau):
    h = (t1 - t0) / steps
    for i in range(steps):
        y = add_scaled(y, h, tableau["b"], stages(f, t0 + i * h, y, h, tableau))
    return y


def scaled_norm(e, y, y_hat, rtol, atol):
    """The largest over the state's tensors of the RMS of e / (atol + rtol max(|y|, |y_hat|)), as a float (dopri5.ts scaledNorm)."""
    norms = [torch.sqrt(((ei / (atol + rtol * torch.maximum(y[i].abs(), y_hat[i].abs()))) ** 2).mean()) for i, ei in enumerate(e)]
    return torch.stack(norms).max().item()


def initial_step(f, t0, y0, f0, direction, rtol, atol):
    """Hairer, Norsett & Wanner's starting step, as dopri5.ts initialStep."""
    d0, d1 = scaled_norm(y0, y0, y0, rtol, atol), scaled_norm(f0, y0, y0, rtol, atol)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * (d0 / d1)
    f1 = f(t0 + direction * h0, add_scaled(y0, direction * h0, [1], [f0]))
    d2 = scaled_norm([(a - b) / h0 for a, b in zip(f1, f0)], y0, y0, rtol, atol)
    h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** 0.2
    return direction * min(100 * h0, h1)


def dopri5(f, y, t0, t1, rtol, atol):
    """Adaptive Dormand-Prince 5(4) with dopri5.ts' step control, so it takes the steps FlowDesk takes on the same batch."""
    direction = math.copysign(1, t1 - t0)
    k0 = f(t0, y)
    h = initial_step(f, t0, y, k0, direction, rtol, atol)
    h = direction * min(abs(h), abs(t1 - t0))
    t, tried, last_rejected = t0, 0, False
    while direction * (t1 - t) > 0:
        if tried >= MAX_STEPS or abs(h) <= 1e-10 * max(1, abs(t)):
            raise SystemExit(f"the adaptive ODE solver stalled at t = {t:.4g} (rtol {rtol}, atol {atol}): loosen its tolerance or use a fixed-step solver")
        step = t1 - t if direction * (t + h - t1) > 0 else h
        ks = stages(f, t, y, step, DOPRI5, k0)
        y_new = add_scaled(y, step, DOPRI5["b"], ks)
        k_last = f(t + step, y_new)
        err = scaled_norm(add_scaled([torch.zeros_like(v) for v in y], step, DOPRI5_ERROR, [*ks, k_last]), y, y_new, rtol, atol)
        if math.isnan(err):
            raise SystemExit(f"the ODE's state became non-finite at t = {t}")
        tried += 1
        proposed = MAX_FACTOR if err == 0 else SAFETY * err ** -0.2
        if err <= 1:
            t = t1 if step == t1 - t else t + step
            y, k0 = y_new, k_last
            h = step * min(1 if last_rejected else MAX_FACTOR, max(MIN_FACTOR, proposed))
            last_rejected = False
        else:
            h = step * max(MIN_FACTOR, min(1, proposed))
            last_rejected = True
    return y


def solve(f, y, t0, t1, cfg):
    if cfg["solver"] == "dopri5":
        return dopri5(f, y, t0, t1, cfg["tolerance"], cfg["tolerance"])
    return fixed_step(f, y, t0, t1, cfg["odeSteps"], FIXED_STEP[cfg["solver"]])


def seeded_probes(rows, dim, device):
    """lab/trace.ts rademacher(rows, dim, Rng(PROBE_SEED)): the probes FlowDesk uses where none are given."""
    return torch.from_numpy(draw_values([(dim, "rademacher")], rows, Rng(PROBE_SEED))[0]).to(device)


def flow_matching_forward(P, cfg, x, classes=None, layer_log_dets=None, noise=None):
    """log p(x | c) in nats per image of NHWC x, and the base point: [x, delta] solved from t = 1 to 0 with
    d delta/dt = div v (Hutchinson: probe . J^T probe), averaged over `probes` probes per image.
    `noise`: the scoring noise [n, probes * D] (FlowDesk's per-image layout); None: FlowDesk's seeded probes."""
    n, dim, k = x.shape[0], x[0].numel(), cfg["probes"]
    rows = (x * DATA_SCALE).repeat(k, 1, 1, 1)
    # Row j * n + i of the tiled batch is image i's j-th probe.
    probes = noise[0].view(n, k, dim).transpose(0, 1).reshape(k * n, dim) if noise is not None else seeded_probes(k * n, dim, x.device)
    c = classes.repeat(k, 1) if classes is not None else None

    def f(t, state):
        with torch.enable_grad():
            y = state[0].detach().requires_grad_(True)
            v = velocity(P, cfg, y, torch.full((k * n,), t, dtype=torch.float32, device=x.device), c)
            (product,) = torch.autograd.grad(v, y, probes.view(y.shape))
        return [v.detach(), (probes * product.reshape(k * n, dim)).sum(1)]

    z, delta = solve(f, [rows, torch.zeros(k * n, device=x.device)], 1, 0, cfg)
    per_image = lambda values: values.view(k, n).mean(0)
    logpz = (-0.5 * (z ** 2 + LOG2PI)).flatten(1).sum(1)
    return per_image(delta) + dim * math.log(DATA_SCALE) + per_image(logpz), z[:n]
