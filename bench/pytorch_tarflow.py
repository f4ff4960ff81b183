"""Reference TarFlow in PyTorch, built as FlowDesk's TarFlow is (the FlowDesk TarFlow spec, after
apple/ml-tarflow's transformer_flow.py). The model code is the PyTorch package's
(main/engine/export/pytorch/flowdesk_tarflow.py, the one TarFlow in Python); weights are [in, out]
matrices named as in FlowDesk's weights.safetensors, so a FlowDesk model folder loads here as it is.

  python3 bench/pytorch_tarflow.py speed --size 32 --channels 3 --patch 4 --depth 4 --hidden 128 \
      --attn-layers 1 --head-dim 64 --batch 32 --steps 5 --threads 2 --clip-norm 50
  python3 bench/pytorch_tarflow.py logprob MODEL_DIR --images IMAGES.safetensors --threads 1

`speed` and `forward-speed` print the same line as pytorch_glow.py's (torch_harness.print_speed):
a training step (bits per dim, the gradient norm clipped to --clip-norm, Adam) or bits per dim
alone, on random images; `speed --paired` takes one step per line it reads, as pytorch_glow.py's.
`logprob` loads MODEL_DIR (model.json + weights.safetensors) and the dequantized images in
model space (tensor "x" [N, H, W, C] float32 of a safetensors file), and prints
{"logprob": [...]} (nats per image, computed in float64).
"""
import json, math, os

import torch

from torch_harness import command_line, read_safetensors, set_threads, time_speed

# The one TarFlow in Python: the PyTorch package's (flowdesk export --pytorch), on the path torch_harness sets.
from flowdesk_tarflow import TarFlow, tarflow_of  # noqa: E402


def bpd(model, x, n_bits):
    d = x[0].numel()
    return -model.log_prob(x) / (d * math.log(2)) + n_bits


def model_of(a):
    return TarFlow(a.size, a.channels, a.patch, a.depth, a.hidden, a.attn_layers, a.head_dim)


def load_model_folder(folder):
    """A FlowDesk model folder's TarFlow with its weights, checked name by name and shape by shape."""
    with open(os.path.join(folder, "model.json")) as f:
        config = json.load(f)["config"]
    if config.get("kind") != "tarflow":
        raise SystemExit(f"{folder}/model.json: config.kind is {config.get('kind')!r}; this reference builds TarFlow models only")
    model = tarflow_of({"classes": 0, **config})
    model.load_state_dict(read_safetensors(os.path.join(folder, "weights.safetensors")), strict=True)
    return model


def logprob(a):
    if not a.folder or not a.images:
        raise SystemExit("logprob needs a model folder and --images FILE.safetensors (tensor x [N, H, W, C] float32)")
    set_threads(a.threads)
    model = load_model_folder(a.folder).double()
    x = read_safetensors(a.images)["x"].double()
    with torch.no_grad():
        print(json.dumps({"logprob": model.log_prob(x).tolist()}), flush=True)


def speed(a):
    """Images/s of a training step ("speed"), or of bits per dim alone ("forward-speed")."""
    set_threads(a.threads)
    torch.manual_seed(0)
    model = model_of(a)
    time_speed(a.mode, model, bpd, (a.batch, a.size, a.size, a.channels), a.batch, a.steps, a.clip_norm, a.paired)


if __name__ == "__main__":
    a = command_line(
        ["speed", "forward-speed", "logprob"],
        {"size": 32, "channels": 3, "patch": 4, "depth": 4, "hidden": 128, "attn_layers": 1, "head_dim": 64, "batch": 32, "steps": 3, "threads": 0},
        {"clip_norm": None},
        strings=["images"],
    )
    logprob(a) if a.mode == "logprob" else speed(a)
