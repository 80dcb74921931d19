"""Fixtures for the Training and LinearProbes targets (Tests/Fixtures/linear/*.json).

References: PyTorch (torch.nn.functional losses, torch.optim.SGD / AdamW, CosineAnnealingLR, LinearLR +
SequentialLR, torch.nn.utils.clip_grad_norm_) and scikit-learn's LogisticRegression(solver="lbfgs").
The linear-probe grid is trained here in PyTorch the way DINOv2's dinov2/eval/linear.py trains it (one
nn.Linear per head, the losses of all heads summed, SGD momentum 0.9, CosineAnnealingLR over all
iterations), with the same initial weights as the Swift test and the same batch order: this script
reimplements RadProbe's SeededGenerator (SplitMix64 + Fisher–Yates through Lemire's multiply-shift) so
that the order is drawn, not stored.

Run with Debian's python3 (numpy 1.24, torch 1.13, scikit-learn 1.2.1):
    python3 scripts/make_linear_probe_fixtures.py
All seeds are fixed; the output is deterministic.
"""
import json
import math
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from seeded_generator import SeededGenerator

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "linear")


def write(name, payload):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(payload, f, separators=(",", ":"))


def floats(t):
    """Row-major float list of a tensor or array (float32 values print exactly as doubles)."""
    return [float(v) for v in np.asarray(t, dtype=np.float64).reshape(-1)]


def loss_fixture(rng):
    logits = torch.tensor(rng.normal(0, 3, (6, 5)), dtype=torch.float32)
    logits[0, 0], logits[1, 1], logits[2, 2] = 40.0, -40.0, 90.0
    targets = torch.tensor(rng.integers(0, 2, (6, 5)), dtype=torch.float32)
    targets[3, 1] = 0.3
    for r, c in [(0, 1), (2, 2), (4, 0), (4, 4), (5, 3)]:
        targets[r, c] = float("nan")
    x = logits.clone().requires_grad_(True)
    known = ~torch.isnan(targets)
    bce = F.binary_cross_entropy_with_logits(x[known], targets[known])
    bce.backward()
    bce_payload = {"shape": list(logits.shape), "logits": floats(logits),
                   "targets": [None if math.isnan(v) else v for v in floats(targets)],
                   "value": float(bce), "gradient": floats(x.grad)}

    ce_logits = torch.tensor(rng.normal(0, 2, (7, 4)), dtype=torch.float32)
    ce_logits[0, 2] = 60.0
    labels = torch.tensor(rng.integers(0, 4, 7))
    y = ce_logits.clone().requires_grad_(True)
    ce = F.cross_entropy(y, labels)
    ce.backward()
    ce_payload = {"shape": list(ce_logits.shape), "logits": floats(ce_logits), "labels": labels.tolist(),
                  "value": float(ce), "gradient": floats(y.grad)}
    return {"bce": bce_payload, "cross_entropy": ce_payload}


def optimizer_run(rng, make_optimizer, make_scheduler, steps=20, clip=None):
    """Two parameters in two groups, driven by stored random gradients."""
    weight = torch.tensor(rng.normal(0, 1, (3, 4)), dtype=torch.float32)
    bias = torch.tensor(rng.normal(0, 1, (3,)), dtype=torch.float32)
    gradients = [[torch.tensor(rng.normal(0, 1, (3, 4)), dtype=torch.float32),
                  torch.tensor(rng.normal(0, 1, (3,)), dtype=torch.float32)] for _ in range(steps)]
    payload = {"weight": floats(weight), "bias": floats(bias),
               "gradients": [[floats(g) for g in pair] for pair in gradients]}
    w, b = weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)
    optimizer = make_optimizer([{"params": [w], "lr": 0.1}, {"params": [b], "lr": 0.05}])
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    rates, trajectory, norms = [], [], []
    for pair in gradients:
        rates.append([group["lr"] for group in optimizer.param_groups])
        w.grad, b.grad = pair[0].clone(), pair[1].clone()
        if clip is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_([w, b], clip)))
        optimizer.step()
        if scheduler:
            scheduler.step()
        trajectory.append([floats(w.detach()), floats(b.detach())])
    payload.update({"rates": rates, "trajectory": trajectory, "norms": norms})
    return payload


def optimizer_fixture(rng):
    cosine = lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, 20, eta_min=0.001)
    warm = lambda opt: torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=5),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, 15, eta_min=0.0)], milestones=[5])
    return {
        "sgd_cosine": optimizer_run(rng, lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, weight_decay=1e-3), cosine),
        "sgd_warmup": optimizer_run(rng, lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9), warm),
        "sgd_plain": optimizer_run(rng, lambda g: torch.optim.SGD(g, lr=0.1), None),
        "adamw_cosine": optimizer_run(rng, lambda g: torch.optim.AdamW(g, lr=0.1, weight_decay=0.05), cosine),
        "adamw_clipped": optimizer_run(rng, lambda g: torch.optim.AdamW(g, lr=0.01), None, clip=1.5),
    }


def normal_heads(shapes, seed):
    """N(0, 0.01^2) weights by Box-Muller on one SeededGenerator, head after head (LinearHead.normalInitialised)."""
    generator = SeededGenerator(seed)
    heads = []
    for classes, width in shapes:
        values = []
        count = classes * width
        while len(values) < count:
            radius = math.sqrt(-2.0 * math.log(1.0 - generator.uniform()))
            angle = 2.0 * math.pi * generator.uniform()
            values += [0.01 * radius * math.cos(angle), 0.01 * radius * math.sin(angle)]
        heads.append(torch.tensor(values[:count], dtype=torch.float32).reshape(classes, width))
    return heads


def batch_order(count, batch_size, epochs, seed, keep_partial):
    """BatchOrder: a fresh identity order shuffled every epoch by one generator, cut into batches."""
    generator = SeededGenerator(seed)
    per_epoch = -(-count // batch_size) if keep_partial else count // batch_size
    batches = []
    for _ in range(epochs):
        order = list(range(count))
        generator.shuffle(order)
        batches += [order[b * batch_size:(b + 1) * batch_size] for b in range(per_epoch)]
    return batches


def head_input(cls, patch, blocks, patch_mean):
    """create_linear_input over RadProbe's [n, L, D] class tokens and mean patch tokens."""
    parts = [cls[:, cls.shape[1] - blocks:, :].reshape(cls.shape[0], -1)]
    if patch_mean:
        parts.append(patch[:, -1, :])
    return torch.cat(parts, dim=1)


def head_loss(logits, targets, multi_label):
    if multi_label:
        known = ~torch.isnan(targets)
        return F.binary_cross_entropy_with_logits(logits[known], targets[known])
    return F.cross_entropy(logits, targets)


def train_grid(configs, cls, patch, targets, multi_label, options):
    """DINOv2's eval_linear loop: summed head losses, SGD(momentum 0.9), CosineAnnealingLR over all steps."""
    classes = targets.shape[1] if multi_label else options["classes"]
    widths = [(b + int(p)) * cls.shape[2] for b, p, _ in configs]
    heads = []
    for (blocks, patch_mean, rate), weight in zip(configs, normal_heads([(classes, w) for w in widths], options["init_seed"])):
        linear = torch.nn.Linear(weight.shape[1], classes)
        with torch.no_grad():
            linear.weight.copy_(weight)
            linear.bias.zero_()
        heads.append(linear)
    optimizer = torch.optim.SGD([{"params": h.parameters(), "lr": c[2]} for h, c in zip(heads, configs)], lr=1.0, momentum=0.9)
    batches = batch_order(cls.shape[0], options["batch_size"], options["epochs"], options["shuffle_seed"], options["keep_partial"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, len(batches), eta_min=0)
    for batch in batches:
        index = torch.tensor(batch)
        loss = sum(head_loss(h(head_input(cls[index], patch[index], b, p)), targets[index], multi_label) for h, (b, p, _) in zip(heads, configs))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    return heads


def probe_fixture(rng, multi_label, keep_partial):
    items, blocks, width, classes = {"train": 50, "validation": 20, "test": 10}, 4, 6, 3
    options = {"batch_size": 16, "epochs": 3, "shuffle_seed": 7, "init_seed": 11, "keep_partial": keep_partial, "classes": classes}
    data = {}
    for split, count in items.items():
        cls = torch.tensor(rng.normal(0, 1, (count, blocks, width)), dtype=torch.float32)
        patch = torch.tensor(rng.normal(0, 1, (count, blocks, width)), dtype=torch.float32)
        if multi_label:
            targets = torch.tensor(rng.integers(0, 2, (count, classes)), dtype=torch.float32)
            targets[torch.tensor(rng.random((count, classes)) < 0.1)] = float("nan")
        else:
            targets = torch.tensor(rng.integers(0, classes, count))
        data[split] = (cls, patch, targets)
    configs = [(b, p, r) for b in (1, 4) for p in (False, True) for r in (0.05, 0.2, 0.8)]
    heads = train_grid(configs, *data["train"], multi_label, options)
    val_cls, val_patch, val_targets = data["validation"]
    with torch.no_grad():
        val_logits = [h(head_input(val_cls, val_patch, b, p)) for h, (b, p, _) in zip(heads, configs)]
        scores = [-float(head_loss(l, val_targets, multi_label)) for l in val_logits]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    joined = [torch.cat([data["train"][k], data["validation"][k]]) for k in range(3)]
    refit = train_grid([configs[best]], *joined, multi_label, options)[0]
    with torch.no_grad():
        test_logits = refit(head_input(data["test"][0], data["test"][1], configs[best][0], configs[best][1]))

    def split_payload(split):
        cls, patch, targets = data[split]
        return {"count": cls.shape[0], "class_tokens": floats(cls), "patch_means": floats(patch),
                "targets": [None if math.isnan(v) else v for v in floats(targets)] if multi_label else targets.tolist()}

    return {"blocks": blocks, "width": width, "classes": classes, "multi_label": multi_label,
            "batch_size": options["batch_size"], "epochs": options["epochs"], "shuffle_seed": options["shuffle_seed"],
            "init_seed": options["init_seed"], "keep_partial": keep_partial,
            "configurations": [{"blocks": b, "patch_mean": p, "learning_rate": r} for b, p, r in configs],
            "train": split_payload("train"), "validation": split_payload("validation"), "test": split_payload("test"),
            "weights": [floats(h.weight.detach()) for h in heads], "biases": [floats(h.bias.detach()) for h in heads],
            "validation_logits": [floats(l) for l in val_logits], "scores": scores, "best": best,
            "refit_weight": floats(refit.weight.detach()), "refit_bias": floats(refit.bias.detach()),
            "test_logits": floats(test_logits)}


def logistic_fixture(rng):
    """scikit-learn LogisticRegression(lbfgs) fits: binary, multinomial, per-label binary with unknown labels, a C sweep."""
    from sklearn.linear_model import LogisticRegression

    def fit(x, y, c):
        # scikit-learn's L-BFGS also stops when f decreases by less than 64 machine epsilons (relative), which
        # can leave the coefficients ~1e-5 from the optimum; warm-started refits continue to it.
        model = LogisticRegression(solver="lbfgs", C=c, tol=1e-14, max_iter=100000, warm_start=True).fit(x, y)
        for _ in range(50):
            previous = np.concatenate([model.coef_.ravel(), model.intercept_])
            model.fit(x, y)
            if np.abs(np.concatenate([model.coef_.ravel(), model.intercept_]) - previous).max() < 1e-10:
                break
        return model

    def data(count, width, classes):
        x = rng.normal(0, 1, (count, width)).astype(np.float32)
        truth = rng.normal(0, 1, (width, classes))
        y = np.argmax(x @ truth + rng.gumbel(0, 1, (count, classes)) * 1.5, axis=1)
        return x, y

    cases = []
    for classes, values in [(2, [0.1, 1.0, 10.0]), (3, [0.05, 1.0, 20.0])]:
        x, y = data(60, 5, classes)
        test = rng.normal(0, 1, (15, 5)).astype(np.float32)
        for c in values:
            model = fit(x.astype(np.float64), y, c)
            cases.append({"kind": "multi_class", "classes": classes, "C": c, "features": floats(x), "labels": y.tolist(),
                          "test": floats(test), "coefficients": floats(model.coef_), "intercepts": floats(model.intercept_),
                          "probabilities": floats(model.predict_proba(test.astype(np.float64)))})
    x = rng.normal(0, 1, (60, 5)).astype(np.float32)
    labels = (x @ rng.normal(0, 1, (5, 2)) + rng.normal(0, 1, (60, 2)) > 0).astype(np.float64)
    labels[rng.random((60, 2)) < 0.15] = np.nan
    test = rng.normal(0, 1, (15, 5)).astype(np.float32)
    coefficients, intercepts, probabilities = [], [], []
    for label in range(2):
        known = ~np.isnan(labels[:, label])
        model = fit(x[known].astype(np.float64), labels[known, label], 0.5)
        coefficients.append(model.coef_[0])
        intercepts.append(model.intercept_[0])
        probabilities.append(model.predict_proba(test.astype(np.float64))[:, 1])
    cases.append({"kind": "multi_label", "classes": 2, "C": 0.5, "features": floats(x),
                  "targets": [None if math.isnan(v) else v for v in labels.reshape(-1)], "test": floats(test),
                  "coefficients": floats(np.array(coefficients)), "intercepts": floats(intercepts),
                  "probabilities": floats(np.array(probabilities).T)})

    x, y = data(60, 5, 3)
    val_x, val_y = data(30, 5, 3)
    values = [1e-4, 0.01, 1.0, 100.0]
    scores = []
    for c in values:
        p = fit(x.astype(np.float64), y, c).predict_proba(val_x.astype(np.float64)).astype(np.float32)
        scores.append(float(np.mean(np.log(p[np.arange(len(val_y)), val_y].astype(np.float64)))))
    best = max(range(len(values)), key=lambda i: (scores[i], -i))
    final = fit(np.concatenate([x, val_x]).astype(np.float64), np.concatenate([y, val_y]), values[best])
    sweep = {"features": floats(x), "labels": y.tolist(), "validation_features": floats(val_x), "validation_labels": val_y.tolist(),
             "values": values, "scores": scores, "best": best, "coefficients": floats(final.coef_), "intercepts": floats(final.intercept_)}
    return {"fits": cases, "sweep": sweep}


def main():
    # scikit-learn's convergence notes from the warm-started refits at the optimum, and torch's note on
    # SequentialLR's internal scheduler.step(0), are expected.
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(20240611)
    write("losses.json", loss_fixture(rng))
    write("optimizers.json", optimizer_fixture(rng))
    write("probe_multilabel.json", probe_fixture(rng, multi_label=True, keep_partial=False))
    write("probe_multiclass.json", probe_fixture(rng, multi_label=False, keep_partial=True))
    write("logistic.json", logistic_fixture(rng))


if __name__ == "__main__":
    main()
