"""Measures that bench/pytorch_tarflow.py is the flow it claims to be, for
test/unit/pytorch-tarflow-checks.test.ts to hold to tolerances: inverse(forward(x)) on both the
cached and uncached paths, the log-determinant against torch's brute-force Jacobian, and the
causal mask. Weights are moved off their identity start, as FlowDesk's tests do. One JSON line per check.
"""
import json, math

import torch
from torch.autograd.functional import jacobian

from pytorch_tarflow import TarFlow


def perturbed(model, scale, seed):
    """`model` with N(0, scale^2) added to every weight, so no block is the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return model


def check_inverse():
    """Float32, 8x8x3, p=2 (16 patches), three blocks: the worst |inverse(forward(x)) - x|."""
    torch.manual_seed(0)
    model = perturbed(TarFlow(8, 3, 2, 3, 32, 2, 16), 0.1, 1)
    x = torch.rand(4, 8, 8, 3) - 0.5
    with torch.no_grad():
        z, _ = model(x)
        cached, uncached = model.inverse(z, cached=True), model.inverse(z, cached=False)
    return {
        "check": "inverse",
        "latent_moved": float((model.unpatchify(z) - x).abs().max()),
        "cached_max_err": float((cached - x).abs().max()),
        "uncached_max_err": float((uncached - x).abs().max()),
        "cached_vs_uncached": float((cached - uncached).abs().max()),
    }


def check_logdet():
    """Float64, 4x4x1, p=2 (4 patches of 4 values), two blocks: the model's log|det| beside
    log|det| of the Jacobian dz/dx over all 16 values."""
    torch.manual_seed(0)
    model = perturbed(TarFlow(4, 1, 2, 2, 16, 1, 8).double(), 0.2, 2)
    x = torch.rand(1, 4, 4, 1, dtype=torch.float64) - 0.5
    _, logdet = model(x)
    full = jacobian(lambda v: model(v)[0].flatten(), x).reshape(16, 16)
    return {"check": "logdet", "model": float(logdet[0]), "jacobian": float(torch.linalg.slogdet(full)[1])}


def check_causal():
    """Float64: in each block's own order, change one patch and see how far each position's
    output moves: never before that patch, somewhere after it (or the check would prove nothing)."""
    torch.manual_seed(0)
    model = perturbed(TarFlow(8, 1, 2, 2, 32, 2, 16).double(), 0.1, 3)
    x = model.patchify(torch.rand(2, 8, 8, 1, dtype=torch.float64) - 0.5)
    earlier, later = 0.0, math.inf
    with torch.no_grad():
        for block in model.blocks():
            for j in (1, 7, 14):
                ordered = block.order(x)
                changed = ordered.clone()
                changed[:, j] += 0.5
                moved = (block.order(block(block.order(changed))[0]) - block.order(block(x)[0])).abs().amax((0, 2))
                earlier = max(earlier, float(moved[:j].max()))
                later = min(later, float(moved[j + 1 :].max()))
    return {"check": "causal", "earlier_max_change": earlier, "later_min_change": later}


if __name__ == "__main__":
    # Tiny models: a second thread only waits, and on a loaded machine OpenMP's spinning threads
    # stretched one run from seconds to minutes.
    torch.set_num_threads(1)
    for check in (check_inverse, check_logdet, check_causal):
        print(json.dumps(check()), flush=True)
