"""Scores images with a FlowDesk model folder (model.json + weights.safetensors, e.g. a checkpoint
of run/checkpoints/): log p(x) in nats, bits per dim and, with --layers, every layer's
log-determinant per image, as one JSON line.

  python evaluate.py run/checkpoints/step-N --images X.safetensors [--layers] [--weights ema]

X.safetensors holds "x", float32 NHWC images already dequantized to [-0.5, 0.5].
"""
import argparse, json, os

import torch

from flowdesk_model import bits_per_dim, load_tensors, log_prob, read_model_json
from flowdesk_safetensors import read_safetensors

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--images", required=True)
    ap.add_argument("--layers", action="store_true")
    ap.add_argument("--weights", choices=["weights", "ema"], default="weights", help="weights.safetensors (default) or ema.safetensors")
    a = ap.parse_args()
    cfg, n_bits, _ = read_model_json(os.path.join(a.model_dir, "model.json"))
    P, _ = load_tensors(os.path.join(a.model_dir, f"{a.weights}.safetensors"), "cpu")
    x = torch.from_numpy(read_safetensors(a.images)[0]["x"]).float()
    layers = [] if a.layers else None
    with torch.no_grad():
        logp, _ = log_prob(P, cfg, x, None, layers)
    out = {"logp": logp.tolist(), "bpd": bits_per_dim(logp, x, n_bits).tolist()}
    if layers is not None:
        out["layers"] = [[name, ld.tolist()] for name, ld in layers]
    print(json.dumps(out))
