"""What FlowDesk's PyTorch references (pytorch_glow.py, pytorch_tarflow.py) share: their command
line, reading FlowDesk's safetensors files, and timing steps into the speed line bench/index.ts reads.
"""
import argparse, json, os, struct, time

import numpy as np
import torch

# safetensors dtype codes FlowDesk writes (main/engine/checkpoint/safetensors.ts).
NUMPY_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "U8": np.uint8}


def command_line(modes, ints, floats=None, strings=()):
    """`MODE [PATH] --flag value ...`: `ints` and `floats` map each flag (underscores for dashes)
    to its default (a float default of None makes the flag optional), `strings` are optional paths."""
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=modes)
    ap.add_argument("folder", nargs="?")
    for name, default in ints.items():
        ap.add_argument("--" + name.replace("_", "-"), dest=name, type=int, default=default)
    for name, default in (floats or {}).items():
        ap.add_argument("--" + name.replace("_", "-"), dest=name, type=float, default=default)
    for name in strings:
        ap.add_argument("--" + name.replace("_", "-"), dest=name)
    return ap.parse_args()


def set_threads(threads):
    """`threads` intra-op threads, or the machine's cores for 0."""
    torch.set_num_threads(threads or os.cpu_count() or 1)


def read_safetensors(path):
    """Every tensor of a safetensors file as a torch tensor, by name (files FlowDesk wrote: trusted)."""
    with open(path, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if spec["dtype"] not in NUMPY_DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {spec['dtype']}; this reader takes {', '.join(NUMPY_DTYPES)}")
        begin, end = spec["data_offsets"]
        values = np.frombuffer(data[begin:end], dtype=NUMPY_DTYPES[spec["dtype"]])
        tensors[name] = torch.from_numpy(values.reshape(spec["shape"]).copy())
    return tensors


def print_speed(step, batch, steps):
    """Times `steps` calls of `step` (after one warm-up call) on `batch` images and prints
    {"img_per_s" (from the median step), "mean_img_per_s", "cpu_ms" (the median step's process
    CPU time), "steps", "threads", "torch"}."""
    step()
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.time(), time.process_time()
        step()
        times.append(time.time() - t0)
        cpu.append(time.process_time() - c0)
    # The median step: robust to other work on a shared machine, as FlowDesk's bench measures.
    median = sorted(times)[len(times) // 2]
    cpu_ms = 1000 * sorted(cpu)[len(cpu) // 2]
    print(json.dumps({"img_per_s": batch / median, "mean_img_per_s": steps * batch / sum(times), "cpu_ms": cpu_ms, "steps": steps, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


def time_speed(mode, model, bpd, shape, batch, steps):
    """Images/s of a training step (Adam, lr 1e-3, on the mean of `bpd(model, x, 8)` for uniform
    images x of `shape`) for "speed", or of bits per dim alone, as evaluation runs it, for "forward-speed"."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step():
        loss = bpd(model, torch.rand(shape) - 0.5, 8).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def forward():
        with torch.no_grad():
            bpd(model, torch.rand(shape) - 0.5, 8)

    print_speed(forward if mode == "forward-speed" else train_step, batch, steps)
