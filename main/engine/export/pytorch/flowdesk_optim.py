"""FlowDesk's optimizer and weight average in PyTorch (main/engine/train/optimizer.ts,
weight-average.ts), so moments, step count, learning-rate scale and average continue exactly:
Adam or Adamax with linear warmup, global-norm clipping, and the bias correction folded into
the step size; the average's decay warm-starts as min(decay, (1 + t) / (10 + t)).
"""
import math

import torch

EMA_WARM_START = 10


class Optimizer:
    def __init__(self, config, params, state, meta, source):
        """`config`: run.json's train.optimizer; `state`: optimizer.safetensors' tensors by name ("m/<param>", "v/<param>")."""
        self.config, self.params = config, params
        if meta.get("kind") == "none":
            raise SystemExit(f"{source} has no optimizer state (an imported model); continue a run trained in FlowDesk")
        if meta.get("kind") != config["kind"]:
            raise SystemExit(f"{source}: optimizer state is for {meta.get('kind')}, the run uses {config['kind']}")
        self.step = int(meta["step"])
        self.lr_scale = float(meta.get("lrScale", "1"))
        self.m, self.v = {}, {}
        for name, p in params.items():
            for prefix, moments in (("m", self.m), ("v", self.v)):
                saved = state.get(f"{prefix}/{name}")
                if saved is None or tuple(saved.shape) != tuple(p.shape):
                    raise SystemExit(f"{source}: optimizer tensor {prefix}/{name} is missing or has the wrong shape")
                moments[name] = saved.to(p.device, torch.float32).clone()

    def learning_rate(self, step=None):
        c = self.config
        t = self.step + 1 if step is None else step
        return c["lr"] * self.lr_scale * (min(1.0, t / c["warmup"]) if c["warmup"] > 0 else 1.0)

    @torch.no_grad()
    def apply(self, grad_norm):
        """One update from the parameters' .grad (already averaged across ranks); returns the learning rate used."""
        c = self.config
        t = self.step + 1
        lr = self.learning_rate(t)
        b1, b2, eps = c["beta1"], c["beta2"], c["epsilon"]
        step_size = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) if c["kind"] == "adam" else lr / (1 - b1 ** t)
        clip = c["clipNorm"] / grad_norm if grad_norm > c["clipNorm"] else 1.0
        for name, p in self.params.items():
            if p.grad is None:
                continue
            g = p.grad * clip if clip != 1.0 else p.grad
            m = self.m[name].mul_(b1).add_(g * (1 - b1))
            if c["kind"] == "adam":
                v = self.v[name].mul_(b2).add_(g * g * (1 - b2))
                denominator = torch.sqrt(v)
            else:
                v = torch.maximum(self.v[name] * b2, g.abs())
                self.v[name] = v
                denominator = v
            p.sub_(m / (denominator + eps) * step_size)
        self.step += 1
        return lr

    def export_state(self):
        tensors = {f"m/{k}": v for k, v in self.m.items()}
        tensors.update({f"v/{k}": v for k, v in self.v.items()})
        return tensors, {"kind": self.config["kind"], "step": str(self.step), "lrScale": repr(self.lr_scale)}


class WeightAverage:
    def __init__(self, decay, params, saved=None, meta=None):
        """Continues `saved` (ema.safetensors' tensors, `updates` in its metadata), or starts from the weights."""
        self.decay, self.params = decay, params
        self.updates = int(meta["updates"]) if saved is not None else 0
        source = saved if saved is not None else {k: p.detach() for k, p in params.items()}
        self.averages = {k: source[k].to(p.device, torch.float32).clone() for k, p in params.items()}

    @torch.no_grad()
    def update(self):
        d = min(self.decay, (1 + self.updates) / (EMA_WARM_START + self.updates))
        for name, avg in self.averages.items():
            avg.add_((self.params[name].detach() - avg) * (1 - d))
        self.updates += 1
