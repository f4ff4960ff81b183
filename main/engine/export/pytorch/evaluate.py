"""Scores images with FlowDesk model folders (model.json + weights.safetensors, e.g. a checkpoint
in run/checkpoints/): log p(x) in nats, bits per dim and, with --layers, every layer's
log-determinant per image; one JSON line per model folder and images file, in order.

  python evaluate.py run/checkpoints/step-N X.safetensors [MODEL_DIR IMAGES ...] [--layers] [--weights ema]

An images file holds "x", float32 NHWC images already dequantized to [-0.5, 0.5], and may hold
"noise", each image's scoring values [n, v]: flow matching's probes [n, probes * H * W * C]
(without them, FlowDesk's seeded ones), or a restoration model's degradation values (upscaling's
rounding errors, inpainting's hole mask) from which y is made (without them, the empty
observation, as FlowDesk's logProb without noise).
"""
import argparse, json, os

import torch

from flowdesk_model import bits_per_dim, load_tensors, log_prob, read_model_json
from flowdesk_safetensors import read_safetensors


def score(model_dir, images, weights, with_layers):
    cfg, n_bits, _ = read_model_json(os.path.join(model_dir, "model.json"))
    P, _ = load_tensors(os.path.join(model_dir, f"{weights}.safetensors"), "cpu")
    arrays = read_safetensors(images)[0]
    x = torch.from_numpy(arrays["x"]).float()
    noise = [torch.from_numpy(arrays["noise"]).float()] if "noise" in arrays else None
    layers = [] if with_layers else None
    with torch.no_grad():
        logp, _ = log_prob(P, cfg, x, None, layers, noise)
    out = {"model": model_dir, "logp": logp.tolist(), "bpd": bits_per_dim(logp, x, n_bits).tolist()}
    if layers is not None:
        out["layers"] = [[name, ld.tolist()] for name, ld in layers]
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs", nargs="+", metavar="MODEL_DIR IMAGES")
    ap.add_argument("--layers", action="store_true")
    ap.add_argument("--weights", choices=["weights", "ema"], default="weights", help="weights.safetensors (default) or ema.safetensors")
    a = ap.parse_args()
    if len(a.pairs) % 2:
        ap.error("give each model folder with its images file")
    for model_dir, images in zip(a.pairs[::2], a.pairs[1::2]):
        print(json.dumps(score(model_dir, images, a.weights, a.layers)), flush=True)
