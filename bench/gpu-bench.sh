#!/usr/bin/env bash
# Training images/s for Glow 32x32x3 (L=3, batch 32) at K=4/hidden 128 and K=8/hidden 256 through
# every GPU path that runs on this machine, as JSON lines (issue 18 part 4; docs/gpu.md).
#
#   bench/gpu-bench.sh                     prepare (Node, this checkout) and time, on one machine
#   bench/gpu-bench.sh --dry-run           the same on the CPU with a few steps: checks the script
#   bench/gpu-bench.sh --prepare-only DIR  Node side only: tiny runs exported with --pytorch into DIR
#   bench/gpu-bench.sh --from DIR          Python side only: times the packages in DIR (torch, numpy)
#   (--dry-run combines with either)
#
# The exported PyTorch package is timed on one GPU (python3 train.py, no torchrun): each config
# is a fresh run trained one step in FlowDesk, exported, then continued for WARMUP + STEPS steps;
# img/s is the batch over the median step of the last STEPS (train.py's own per-step clock, which
# waits for the GPU every step). tfjs-node-gpu and WebGPU (hardware adapter only) are timed by
# `npm run bench`'s train lines where they load; every path that cannot run says why.
# Environment: FLOWDESK_PYTHON (a python3 with torch), GPU_BENCH_STEPS (default 200, dry run 3),
# GPU_BENCH_WARMUP (default 20, dry run 1). Bounded to about 8 minutes: each train.py run is stopped
# after 2 minutes, the tfjs lines after 3 (not yet run on a GPU, so how long it takes there is unknown).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIGS=("4 128" "8 256")
MODE=all DRY=0 DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --prepare-only) MODE=prepare DIR="${2:?--prepare-only needs a folder to write the packages into}"; shift ;;
    --from) MODE=measure DIR="${2:?--from needs the folder --prepare-only wrote}"; shift ;;
    *) echo "unknown option $1; see the usage at the top of $0" >&2; exit 2 ;;
  esac
  shift
done
STEPS="${GPU_BENCH_STEPS:-$([ $DRY = 1 ] && echo 3 || echo 200)}"
WARMUP="${GPU_BENCH_WARMUP:-$([ $DRY = 1 ] && echo 1 || echo 20)}"
[ "$WARMUP" -ge 1 ] || { echo "GPU_BENCH_WARMUP must be at least 1 (the first step's clock includes start-up)" >&2; exit 2; }
if [ -z "$DIR" ]; then
  DIR="$(mktemp -d "${TMPDIR:-/tmp}/flowdesk-gpu-bench-XXXXXX")"
  trap 'rm -rf "$DIR"' EXIT
fi
[ "$MODE" = measure ] || mkdir -p "$DIR"

# A JSON line from key=value pairs (values that parse as JSON stay numbers/booleans/null).
emit() {
  python_any - "$@" <<'PY'
import json, sys
def value(v):
    try:
        return json.loads(v)
    except ValueError:
        return v
print(json.dumps({k: value(v) for k, v in (a.split("=", 1) for a in sys.argv[1:])}), flush=True)
PY
}
python_any() { "${PYTHON:-python3}" "$@"; }

# A python3 that imports torch and numpy, in bench/torch-python.ts' order.
find_python() {
  for p in ${FLOWDESK_PYTHON:-} python3 /usr/bin/python3; do
    if "$p" -c 'import torch, numpy' 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}
PYTHON="$(find_python || true)"

environment() {
  local gpu="none" driver="none"
  if command -v nvidia-smi >/dev/null 2>&1; then
    gpu="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1 || echo unreadable)"
    driver="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1 || echo unreadable)"
  fi
  local torch="not found (set FLOWDESK_PYTHON to a python3 that imports torch and numpy)"
  [ -n "$PYTHON" ] && torch="$("$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpus", torch.cuda.device_count() if torch.cuda.is_available() else 0)')"
  emit bench=gpu-env "gpu=$gpu" "driver=$driver" "python=${PYTHON:-none}" "torch=$torch" "node=$(node --version 2>/dev/null || echo none)" "cpus=$(nproc)" "dry_run=$([ $DRY = 1 ] && echo true || echo false)"
}

# 320 random 32x32 colour PNGs: what is timed does not depend on the pixels.
make_images() {
  (cd "$ROOT" && node --input-type=module -e '
    import sharp from "sharp";
    import { mkdirSync } from "node:fs";
    const dir = process.argv[1];
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 320; i++) {
      const raw = Buffer.alloc(32 * 32 * 3);
      for (let j = 0; j < raw.length; j++) raw[j] = (Math.random() * 256) | 0;
      await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(`${dir}/${i}.png`);
    }' "$DIR/images")
}

# Node side: a one-step FlowDesk run per config, exported as a PyTorch package into $DIR/pt-kK-hH.
prepare() {
  make_images
  for c in "${CONFIGS[@]}"; do
    set -- $c
    local name="k$1-h$2"
    rm -rf "$DIR/runs/$name" "$DIR/pt-$name"
    (cd "$ROOT" && node bin/flowdesk.mjs train "$DIR/images" --runs "$DIR/runs" --name "$name" --size 32 --channels 3 \
      --levels 3 --depth "$1" --hidden "$2" --batch 32 --steps 1 --eval-every 1000000 --checkpoint-every 1000000 \
      --val-images 32 --init-images 32 --sample-count 1 >"$DIR/train-$name.log" 2>&1) ||
      { emit bench=gpu-prepare "config=$name" ok=false "reason=flowdesk train failed: $(tail -1 "$DIR/train-$name.log")"; continue; }
    (cd "$ROOT" && node bin/flowdesk.mjs export "$DIR/runs/$name" --runs "$DIR/runs" --pytorch -o "$DIR/pt-$name" >"$DIR/export-$name.log" 2>&1) ||
      { emit bench=gpu-prepare "config=$name" ok=false "reason=flowdesk export failed: $(tail -1 "$DIR/export-$name.log")"; continue; }
    emit bench=gpu-prepare "config=$name" ok=true "backend=$(grep -m1 -o 'backend: [a-z-]*' "$DIR/train-$name.log" | cut -d' ' -f2)"
  done
}

# Python side: continues each package WARMUP + STEPS steps on one GPU (on the CPU in a dry run).
measure() {
  if [ -z "$PYTHON" ]; then
    emit bench=gpu-train path=pytorch-package skipped="no python3 with torch and numpy (tried ${FLOWDESK_PYTHON:-} python3 /usr/bin/python3); set FLOWDESK_PYTHON"
    return
  fi
  local cpu_flag=()
  if [ $DRY = 1 ]; then
    cpu_flag=(--cpu)
  elif ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    emit bench=gpu-train path=pytorch-package skipped="torch.cuda.is_available() is False: no CUDA GPU, driver or CUDA build of torch"
    return
  fi
  for c in "${CONFIGS[@]}"; do
    set -- $c
    local pkg="$DIR/pt-k$1-h$2"
    [ -f "$pkg/train.py" ] || { emit bench=gpu-train path=pytorch-package depth="$1" hidden="$2" skipped="no package at $pkg (prepare failed?)"; continue; }
    local start
    start="$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["origin"]["step"])' "$pkg/flowdesk-pytorch.json")"
    local rc=0
    (cd "$pkg" && PYTHONUNBUFFERED=1 timeout 120 "$PYTHON" train.py --steps $((start + WARMUP + STEPS)) "${cpu_flag[@]}" >train.jsonl 2>train.err) || rc=$?
    # Stopped at 2 minutes (124): the steps it took still count.
    if { [ $rc != 0 ] && [ $rc != 124 ]; } || ! "$PYTHON" - "$pkg" "$1" "$2" "$WARMUP" "$rc" <<'PY'
import json, os, statistics, sys
import torch
pkg, depth, hidden, warmup, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def row(line):
    try:
        return json.loads(line)
    except ValueError:  # the last line of a run stopped at the limit may be cut short
        return {}
rows = [row(l) for l in open(os.path.join(pkg, "train.jsonl")) if l.startswith("{")]
train = [r for r in rows if r.get("type") == "train"]
run = json.load(open(os.path.join(pkg, "run", "run.json")))
batch = run["train"]["batch"]
# Step k's time is row k's clock minus row k-1's; the first `warmup` steps (CUDA context, allocator, cuDNN's choices) are left out.
timed = train[warmup - 1:]
times = [b["time"] - a["time"] for a, b in zip(timed, timed[1:])]
if not times:
    sys.exit(1)
median = statistics.median(times)
print(json.dumps({
    "bench": "gpu-train", "path": "pytorch-package", "model": "glow", "size": 32, "channels": 3, "levels": 3,
    "depth": depth, "hidden": hidden, "batch": batch, "device": run["backend"]["device"],
    "gpu": torch.cuda.get_device_name(0) if run["backend"]["device"].startswith("cuda") else None,
    "torch": torch.__version__, "steps_timed": len(times), "median_step_ms": round(median * 1000, 2),
    "img_per_s": round(batch / median, 1), "img_per_s_mean": round(batch * len(times) / sum(times), 1),
    **({"stopped": "at the 2-minute limit"} if rc == 124 else {}),
}), flush=True)
PY
    then
      emit bench=gpu-train path=pytorch-package depth="$1" hidden="$2" skipped="train.py failed (exit $rc): $(tail -1 "$pkg/train.err")"
    fi
  done
}

# tfjs-node-gpu and WebGPU through FlowDesk's own backends, where they load; onnxruntime's GPU providers are not selectable.
node_paths() {
  local probe='import { initBackend } from "./main/engine/backend.ts";
    const name = process.argv[2];
    try { const r = await initBackend({ force: name });
      console.log(JSON.stringify(r.adapter?.software ? { ok: false, reason: `only a software adapter (${r.adapter.description})` } : { ok: true, adapter: r.adapter?.description }));
    } catch (e) { console.log(JSON.stringify({ ok: false, reason: e.message })); }'
  local ok=()
  for name in node-gpu webgpu; do
    local answer
    answer="$(cd "$ROOT" && echo "$probe" | timeout 120 node_modules/.bin/tsx --input-type=module - "$name" 2>/dev/null | tail -1)"
    [ -n "$answer" ] || answer='{"ok":false,"reason":"the probe printed nothing"}'
    echo "$answer" | python_any -c 'import json,sys; a=json.load(sys.stdin); n=sys.argv[1]; print(json.dumps({"bench":"gpu-backend","path":n,**({"available":True,"adapter":a.get("adapter")} if a["ok"] else {"available":False,"reason":a["reason"]})}))' "$name"
    case "$answer" in *'"ok":true'*) ok+=("$name") ;; esac
  done
  local ort
  ort="$(cd "$ROOT" && node -e 'try { console.log(require("onnxruntime-node").listSupportedBackends().map((b) => b.name + (b.bundled ? "" : " (not bundled: its install script fetches it)")).join(", ")) } catch (e) { console.log("onnxruntime-node does not load: " + e.message.split("\n")[0]) }')"
  emit bench=gpu-backend path=onnxruntime-cuda available=false "reason=FlowDesk creates onnxruntime sessions on the CPU provider only (main/engine/onnx/runtime.ts); onnxruntime-node here offers: $ort"
  if [ ${#ok[@]} -gt 0 ] && [ $DRY = 0 ]; then
    (cd "$ROOT" && timeout 180 node_modules/.bin/tsx bench/index.ts --only=train --backends="$(IFS=,; echo "${ok[*]}")" --no-pytorch --repeat=1) ||
      emit bench=gpu-train path=tfjs skipped="npm run bench's train lines failed or ran past 3 minutes"
  fi
}

environment
if [ "$MODE" != measure ]; then
  if [ -x "$ROOT/node_modules/.bin/tsx" ] && command -v node >/dev/null 2>&1; then
    prepare
    node_paths
  elif [ "$MODE" = prepare ]; then
    echo "--prepare-only needs Node 20 and this checkout's node_modules (npm install)" >&2; exit 1
  else
    emit bench=gpu-prepare ok=false "reason=no Node or node_modules here: run --prepare-only DIR on a machine with the checkout, copy DIR, then --from DIR"
  fi
fi
[ "$MODE" = prepare ] || measure
