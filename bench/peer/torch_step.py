"""PyTorch peer of `tsam bench engine`: times the training step of the same models the Go
benchmark builds (bench/models.go), on the CPU, so the two can be compared in one run on one
machine.

Run by the Go benchmark as a subprocess (the script is embedded in the binary and passed with
`python3 -c`); by hand it takes the same arguments:

    python3 torch_step.py probe THREADS
    python3 torch_step.py params MODEL
    python3 torch_step.py step MODEL BATCH THREADS STEPS METHOD[,METHOD...]
    python3 torch_step.py serve MODEL BATCH THREADS METHOD[,METHOD...]

`probe` prints one JSON line {"torch": version, "threads": n} and exits 0 when torch imports.
`params MODEL` prints {"params": n}, the model's trainable parameter count (a test compares it
with the Go model's, so the two stay the same network).
`step` prints one JSON line per method, {"model", "batch", "method", "steps_ms"}, with
STEPS timed steps after two untimed ones. With several methods their steps are interleaved
round by round (one step of each per round), so a change in the machine's load hits all alike.
`serve` builds the same steppers, does two untimed steps of each, prints {"ready": [methods]}
and then, for each line "I" read from standard input, times one step of method I and prints
{"ms": t}; it exits at the end of its input. The Go benchmark drives it so that its own steps
and the peer's alternate one by one: both see the same load, on a machine shared with other
work, where times move by tens of percent within a minute.

Methods, in the paper's notation (Li, Zhou, Bilmes, ICML 2025):
  sgd   one gradient of the mean cross-entropy and plain SGD (lr 0.01): the Go benchmark's step.
  erm   the same with momentum 0.9 and weight decay 5e-4 (the base of the SAM-family steps).
  tsam  TSAM s = 3, the practical sampler (Algorithm 1 with Algorithm 3): per sample a random
        start, a gradient, a normalised ascent step of radius rho = 0.05 and the gradient at
        theta + eps (2 forward + backward passes each), then the tilted (t = 20) softmax
        weighting of the s gradients (Eq. 5) and one base-optimizer step.
Inputs are random; the time of a step does not depend on the values.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """The basic block of He et al. (2016), as bench/models.go builds it."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.sc = None
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        o = F.relu(self.b1(self.c1(x)))
        o = self.b2(self.c2(o))
        return F.relu(o + (x if self.sc is None else self.sc(x)))


def resnet(blocks_per_stage):
    """CIFAR ResNet: 3×3 stem of 16, three stages of 16/32/64 channels, mean pool, dense 10."""
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, width in enumerate((16, 32, 64)):
        for block in range(blocks_per_stage):
            layers.append(Block(cin, width, 2 if (block == 0 and stage > 0) else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


def mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


# The text transformer's sizes, as in bench/models.go.
TF_WIDTH, TF_HEADS, TF_SEQ, TF_VOCAB, TF_LAYERS, TF_FFN = 128, 4, 64, 1000, 2, 512


class EncoderLayer(nn.Module):
    """Pre-norm block: x + MHA(LN(x)), then x + FFN(LN(x)) with a ReLU feed-forward."""

    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(TF_WIDTH)
        self.mha = nn.MultiheadAttention(TF_WIDTH, TF_HEADS, batch_first=True)
        self.ln2 = nn.LayerNorm(TF_WIDTH)
        self.ff1 = nn.Linear(TF_WIDTH, TF_FFN)
        self.ff2 = nn.Linear(TF_FFN, TF_WIDTH)

    def forward(self, h):
        a = self.ln1(h)
        h = h + self.mha(a, a, a, need_weights=False)[0]
        return h + self.ff2(F.relu(self.ff1(self.ln2(h))))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(TF_VOCAB, TF_WIDTH)
        self.pos = nn.Embedding(TF_SEQ, TF_WIDTH)
        self.layers = nn.ModuleList(EncoderLayer() for _ in range(TF_LAYERS))
        self.lnf = nn.LayerNorm(TF_WIDTH)
        self.cls = nn.Linear(TF_WIDTH, 2)

    def forward(self, x):
        h = self.tok(x) + self.pos(torch.arange(TF_SEQ)).unsqueeze(0)
        for layer in self.layers:
            h = layer(h)
        return self.cls(self.lnf(h).mean(1))


def make(name, batch):
    """The model and a random batch (inputs, labels) of the Go benchmark model `name`."""
    if name == "mlp":
        return mlp(), torch.randn(batch, 784), torch.randint(0, 10, (batch,))
    if name in ("resnet8", "resnet20"):
        model = resnet(1 if name == "resnet8" else 3)
        return model, torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    if name == "transformer":
        return Transformer(), torch.randint(0, TF_VOCAB, (batch, TF_SEQ)), torch.randint(0, 2, (batch,))
    raise SystemExit(f"torch_step.py: unknown model {name!r}: use mlp, resnet8, resnet20 or transformer")


def global_norm(tensors):
    return torch.norm(torch.stack([t.norm() for t in tensors]))


def tsam_step(model, params, x, y, opt, s=3, rho=0.05, tilt=20.0):
    """TSAM's practical step; shapes as in the reference implementation."""
    old = [p.detach().clone() for p in params]
    grads, losses = [], []
    for _ in range(s):
        with torch.no_grad():
            noise = [torch.randn_like(p) for p in params]
            scale = min(1.0, 1.0 / float(global_norm(noise)))
            for p, n in zip(params, noise):
                p.add_(n, alpha=scale)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        with torch.no_grad():
            g = global_norm([p.grad for p in params])
            for p in params:
                p.add_(p.grad, alpha=rho / (float(g) + 1e-12))
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        grads.append([p.grad.clone() for p in params])
        losses.append(loss.item())
        with torch.no_grad():
            for p, o in zip(params, old):
                p.copy_(o)
    w = torch.softmax(tilt * torch.tensor(losses), 0)
    for k, p in enumerate(params):
        p.grad = sum(w[j] * grads[j][k] for j in range(s))
    opt.step()


def stepper(name, batch, method):
    """A closure doing one training step of `method` on a fresh copy of model `name`."""
    torch.manual_seed(0)
    model, x, y = make(name, batch)
    model.train()
    params = list(model.parameters())
    if method == "sgd":
        opt = torch.optim.SGD(params, lr=0.01)
    elif method in ("erm", "tsam"):
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4)
    else:
        raise SystemExit(f"torch_step.py: unknown method {method!r}: use sgd, erm or tsam")
    if method == "tsam":
        return lambda: tsam_step(model, params, x, y, opt)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def serve(name, batch, threads, methods):
    """Times one step of methods[I] for each line I on standard input (see the module doc)."""
    torch.set_num_threads(threads)
    steppers = [stepper(name, batch, m) for m in methods]
    for step in steppers:  # Two untimed steps each, as `step` does.
        step()
        step()
    print(json.dumps({"ready": methods}), flush=True)
    for line in sys.stdin:
        i = int(line)
        if not 0 <= i < len(steppers):
            raise SystemExit(f"torch_step.py serve: method index {i} out of range for {methods}")
        start = time.perf_counter()
        steppers[i]()
        print(json.dumps({"ms": (time.perf_counter() - start) * 1e3}), flush=True)


def main(argv):
    usage = ("usage: torch_step.py probe THREADS | params MODEL | step MODEL BATCH THREADS STEPS METHOD[,METHOD...]"
             " | serve MODEL BATCH THREADS METHOD[,METHOD...]")
    if len(argv) == 2 and argv[0] == "probe":
        torch.set_num_threads(int(argv[1]))
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        return
    if len(argv) == 2 and argv[0] == "params":
        model = make(argv[1], 1)[0]
        print(json.dumps({"params": sum(p.numel() for p in model.parameters() if p.requires_grad)}), flush=True)
        return
    if len(argv) == 5 and argv[0] == "serve":
        serve(argv[1], int(argv[2]), int(argv[3]), argv[4].split(","))
        return
    if len(argv) != 6 or argv[0] != "step":
        raise SystemExit(usage)
    name, batch, threads, steps, methods = argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5].split(",")
    torch.set_num_threads(threads)
    steppers = [stepper(name, batch, m) for m in methods]
    for step in steppers:  # Two untimed steps each: allocator and caches warm up.
        step()
        step()
    times = [[] for _ in methods]
    for _ in range(steps):
        for i, step in enumerate(steppers):
            start = time.perf_counter()
            step()
            times[i].append((time.perf_counter() - start) * 1e3)
    for method, ms in zip(methods, times):
        assert all(math.isfinite(t) for t in ms)
        print(json.dumps({"model": name, "batch": batch, "method": method, "steps_ms": ms}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
