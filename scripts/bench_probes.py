"""The work of `radprobe bench probes`, done the way the study's Python did it, for a side-by-side comparison.

It draws the same synthetic features as `radprobe bench probes` (the SplitMix64 draws of RadProbe's
SeededGenerator, in the same order: see SyntheticProbeData in Sources/radprobe/BenchProbes.swift), on the
same sizes, and prints the same JSON fields (with "implementation": "python"):

- knn: DINOv2's KnnModule vote on the last block's class token: L2-normalised features, torch.mm, topk of
  max(k), softmax(similarity / 0.07), one-hot vote summed over the first k neighbours for each k; and
  scikit-learn's brute-force cosine KNeighborsClassifier(max k).predict_proba (variant sklearn_brute_cosine);
- ml-knn: scikit-multilearn 0.2.0 MLkNN(k) on the L2-normalised features (so its Euclidean neighbours are
  the cosine ones; its NearestNeighbors(k) call is given n_neighbors=k by keyword, as scikit-learn 1.2
  requires); skipped when scikit-multilearn is not installed. Its predict_proba is unnormalised, so its
  AUROC differs from RadProbe's;
- linear: DINOv2's linear-probe grid for --epochs passes (heads: blocks × patch mean × --learning-rates): one nn.Linear per head (N(0, 0.01²) weights, zero bias),
  each building its input from the class tokens of the last 1 or L blocks and optionally the last block's
  mean patch token, the sum of the heads' losses (BCE-with-logits or cross-entropy), SGD momentum 0.9 with
  learning rate r·batch/256 per head, CosineAnnealingLR, shuffled batches of 128 with the last partial one
  dropped;
- logistic: scikit-learn LogisticRegression(solver="lbfgs", C, max_iter) for each C from zero (as DINOv2's
  sweep), one binary model per finding for multi-label targets, scored on the test items, then the best C
  refitted on train + test. scikit-learn 1.2.1 minimises the summed loss, so tol = n·1e-10 asks for RadProbe's
  gradient criterion (1e-10 on the per-item objective); SciPy's L-BFGS-B also stops when f changes by less
  than 2.2e-9 relatively, so it may stop sooner: compare "iterations" too;
- auroc: roc_auc_score(average="macro") on the full test set and on --resamples bootstrap resamples of its
  rows (numpy RandomState(seed); resamples where a finding has one label value are skipped).

Each task runs --repeats times (no warm-up run) and the median wall time is reported.

Run with Debian's python3 (torch 1.13, scikit-learn 1.2.1, numpy 1.24) and, for ML-kNN, a virtual
environment that sees them:

    python3 -m venv --system-site-packages .venv-bench && .venv-bench/bin/pip install scikit-multilearn==0.2.0
    .venv-bench/bin/python scripts/bench_probes.py --threads 2 --json
"""
import argparse
import json
import os
import sys
import time

TASKS = ["knn", "ml-knn", "linear", "logistic", "auroc"]


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=TASKS)
    parser.add_argument("--train", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=2_000)
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--labels", type=int, default=14)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--neighbours", type=int, nargs="+", default=[10, 20, 100, 200])
    parser.add_argument("--mlknn-neighbours", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rates", type=float, nargs="+",
                        default=[1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--c-values", type=float, nargs="+", default=[1e-3, 1e-2, 1e-1, 1])
    parser.add_argument("--max-iterations", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


ARGS = parse_arguments()
# numpy's and scikit-learn's BLAS read these when they load: set before importing them.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

torch.set_num_threads(ARGS.threads)


class SplitMix64:
    """RadProbe's SeededGenerator: state += 0x9E3779B97F4A7C15, output = mix(state); uniform = (output >> 11)·2⁻⁵³."""

    def __init__(self, seed):
        self.seed = np.uint64(seed)
        self.drawn = 0

    def uniform(self, count):
        out = np.empty(count, dtype=np.float64)
        for start in range(0, count, 1 << 22):
            stop = min(count, start + (1 << 22))
            step = np.arange(self.drawn + start + 1, self.drawn + stop + 1, dtype=np.uint64)
            with np.errstate(over="ignore"):
                z = self.seed + step * np.uint64(0x9E3779B97F4A7C15)
                z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
                z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
                z = z ^ (z >> np.uint64(31))
            out[start:stop] = (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        self.drawn += count
        return out


def synthetic_data(train, test, width, blocks, classes, labels, seed):
    """The draws of SyntheticProbeData (Sources/radprobe/BenchProbes.swift), in its order."""
    generator = SplitMix64(seed)
    n = train + test
    class_prototypes = (2 * generator.uniform(classes * width) - 1).reshape(classes, width)
    finding_prototypes = (2 * generator.uniform(labels * width) - 1).reshape(labels, width)
    class_of = (generator.uniform(n) * classes).astype(np.int64)
    findings = (generator.uniform(n * labels) < 0.2).astype(np.float64).reshape(n, labels)
    signal = class_prototypes[class_of].copy()
    for j in range(labels):
        signal += findings[:, j:j + 1] * finding_prototypes[j]

    def tokens(scale):
        noise = (2 * generator.uniform(n * blocks * width) - 1).reshape(n, blocks, width)
        factors = np.array([scale * (block + 1) / blocks for block in range(blocks)]).reshape(1, blocks, 1)
        return (noise + signal[:, None, :] * factors).astype(np.float32)

    class_tokens = tokens(0.1)
    patch_means = tokens(0.05)
    auroc_scores = findings[train:] * 0.5 + generator.uniform(test * labels).reshape(test, labels)
    return class_tokens, patch_means, class_of, findings, auroc_scores


def timed(body):
    times, result = [], None
    for _ in range(ARGS.repeats):
        start = time.perf_counter()
        result = body()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], result


def emit(task, variant, outputs, seconds, fields, summary):
    record = {"kind": "probe", "implementation": "python", "threads": ARGS.threads, "train": ARGS.train, "test": ARGS.test,
              "width": ARGS.width, "blocks": ARGS.blocks, "task": task, "variant": variant, "outputs": outputs, "seconds": seconds}
    record.update(fields)
    if ARGS.json:
        print(json.dumps(record, sort_keys=True), flush=True)
    else:
        print(f"{task:<11}{variant:<13}{outputs:9d} {seconds:10.3f}   {summary}", flush=True)


def measure_knn(train_x, train_y, test_x, test_y):
    ks, classes, temperature = ARGS.neighbours, ARGS.classes, 0.07

    def run():
        support = F.normalize(torch.from_numpy(train_x), dim=1, p=2)
        queries = F.normalize(torch.from_numpy(test_x), dim=1, p=2)
        labels = torch.from_numpy(train_y)
        similarity = torch.mm(queries, support.T)
        top_similarity, indices = similarity.topk(max(ks), largest=True, sorted=True)
        weights = (top_similarity / temperature).softmax(1)
        votes = F.one_hot(labels[indices], classes) * weights.view(len(queries), -1, 1)
        return {k: votes[:, :k, :].sum(1) for k in ks}

    seconds, scores = timed(run)
    accuracies = [float((scores[k].argmax(1).numpy() == test_y).mean()) for k in ks]
    emit("knn", "multi_class", ARGS.classes, seconds, {"k": ks, "accuracy": accuracies},
         "top-1 " + ", ".join(f"k={k} {a:.3f}" for k, a in zip(ks, accuracies)))

    from sklearn.neighbors import KNeighborsClassifier

    def run_sklearn():
        model = KNeighborsClassifier(n_neighbors=max(ks), algorithm="brute", metric="cosine", n_jobs=ARGS.threads)
        return model.fit(train_x, train_y).predict_proba(test_x)

    seconds, probabilities = timed(run_sklearn)
    accuracy = float((probabilities.argmax(1) == test_y).mean())
    emit("knn", "sklearn_brute_cosine", ARGS.classes, seconds, {"k": [max(ks)], "accuracy": [accuracy]},
         f"scikit-learn KNeighborsClassifier(brute, cosine), k={max(ks)}: top-1 {accuracy:.3f}")


def measure_mlknn(train_x, train_y, test_x, test_y):
    try:
        from skmultilearn.adapt import MLkNN, mlknn
    except ImportError:
        print("ml-knn skipped: scikit-multilearn is not installed", file=sys.stderr)
        return
    from sklearn.neighbors import NearestNeighbors
    # scikit-multilearn 0.2.0 calls NearestNeighbors(k), which scikit-learn >= 1.0 refuses (keyword-only).
    mlknn.NearestNeighbors = lambda k: NearestNeighbors(n_neighbors=k)
    k = ARGS.mlknn_neighbours

    def run():
        support = train_x / np.linalg.norm(train_x, axis=1, keepdims=True)
        queries = test_x / np.linalg.norm(test_x, axis=1, keepdims=True)
        model = MLkNN(k=k).fit(support, train_y.astype(np.int64))
        return model.predict_proba(queries).toarray()

    seconds, probabilities = timed(run)
    auroc = roc_auc_score(test_y, probabilities, average="macro")
    emit("ml-knn", "multi_label", ARGS.labels, seconds, {"k": k, "macro_auroc": auroc}, f"k={k}, macro AUROC {auroc:.4f}")


def measure_linear(class_tokens, patch_means, targets, outputs, variant):
    blocks, width, batch = ARGS.blocks, ARGS.width, ARGS.batch_size
    grid = [(b, pool, r * batch / 256) for b in ([1, blocks] if blocks > 1 else [1]) for pool in (False, True) for r in ARGS.learning_rates]
    cls = torch.from_numpy(class_tokens)
    patch = torch.from_numpy(patch_means)
    y = torch.from_numpy(targets)
    loss_function = torch.nn.BCEWithLogitsLoss() if variant == "multi_label" else torch.nn.CrossEntropyLoss()
    steps = len(cls) // batch * ARGS.epochs
    per_epoch = len(cls) // batch

    def run():
        torch.manual_seed(0)
        heads = []
        for b, pool, _ in grid:
            head = torch.nn.Linear((b + int(pool)) * width, outputs)
            head.weight.data.normal_(mean=0.0, std=0.01)
            head.bias.data.zero_()
            heads.append(head)
        optimizer = torch.optim.SGD([{"params": h.parameters(), "lr": lr} for h, (_, _, lr) in zip(heads, grid)], momentum=0.9, weight_decay=0)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps, eta_min=0)
        for step in range(steps):
            if step % per_epoch == 0:
                order = torch.randperm(len(cls))
            items = order[step % per_epoch * batch:(step % per_epoch + 1) * batch]
            tokens, means, labels = cls[items], patch[items], y[items]
            losses = []
            for head, (b, pool, _) in zip(heads, grid):
                x = tokens[:, blocks - b:, :].reshape(len(items), b * width)
                if pool:
                    x = torch.cat((x, means[:, blocks - 1, :]), dim=-1)
                losses.append(loss_function(head(x), labels))
            loss = sum(losses)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        return heads

    seconds, _ = timed(run)
    emit("linear", variant, outputs, seconds, {"heads": len(grid), "batch_size": batch, "steps": steps, "epochs": ARGS.epochs},
         f"{len(grid)} heads, {steps} steps of {batch}: {steps / seconds:.1f} steps/s")


def logistic_fit(x, y, c, multi_label):
    """One model (or one per finding) and its L-BFGS iterations."""
    def fit(target):
        return LogisticRegression(solver="lbfgs", C=c, max_iter=ARGS.max_iterations, tol=len(x) * 1e-10).fit(x, target)
    models = [fit(y[:, j]) for j in range(y.shape[1])] if multi_label else [fit(y)]
    return models, int(sum(int(m.n_iter_.max()) for m in models))


def logistic_score(models, x, y, multi_label):
    if multi_label:
        return roc_auc_score(y, np.stack([m.predict_proba(x)[:, 1] for m in models], axis=1), average="macro")
    return float((models[0].predict_proba(x).argmax(1) == y).mean())


def measure_logistic(train_x, test_x, variant, train_y, test_y, outputs):
    multi_label = variant == "multi_label"

    def run():
        scores, iterations = [], []
        for c in ARGS.c_values:
            models, count = logistic_fit(train_x, train_y, c, multi_label)
            scores.append(logistic_score(models, test_x, test_y, multi_label))
            iterations.append(count)
        best = int(np.argmax(scores))
        _, count = logistic_fit(np.concatenate([train_x, test_x]), np.concatenate([train_y, test_y]), ARGS.c_values[best], multi_label)
        return scores, iterations + [count], best

    seconds, (scores, iterations, best) = timed(run)
    emit("logistic", variant, outputs, seconds,
         {"c_values": ARGS.c_values, "fits": len(ARGS.c_values) + 1, "max_iterations": ARGS.max_iterations, "scores": scores,
          "best_c": ARGS.c_values[best], "iterations": iterations},
         f"{len(ARGS.c_values) + 1} fits ({sum(iterations)} L-BFGS iterations), best C {ARGS.c_values[best]:g}, "
         f"validation {'macro AUROC' if multi_label else 'accuracy'} {scores[best]:.4f}")


def measure_auroc(scores, truth):
    def run():
        generator = np.random.RandomState(ARGS.seed)
        values = []
        for _ in range(ARGS.resamples):
            rows = generator.randint(0, len(truth), len(truth))
            try:
                values.append(roc_auc_score(truth[rows], scores[rows], average="macro"))
            except ValueError:
                pass
        return roc_auc_score(truth, scores, average="macro"), np.percentile(values, [2.5, 97.5])

    seconds, (estimate, (lower, upper)) = timed(run)
    emit("auroc", "multi_label", ARGS.labels, seconds, {"resamples": ARGS.resamples, "macro_auroc": estimate, "lower": lower, "upper": upper},
         f"{ARGS.resamples} resamples, macro AUROC {estimate:.4f} [{lower:.4f}, {upper:.4f}]")


def main():
    class_tokens, patch_means, class_of, findings, auroc_scores = synthetic_data(
        ARGS.train, ARGS.test, ARGS.width, ARGS.blocks, ARGS.classes, ARGS.labels, ARGS.seed)
    train, test = slice(0, ARGS.train), slice(ARGS.train, ARGS.train + ARGS.test)
    last = np.ascontiguousarray(class_tokens[:, -1, :])
    if not ARGS.json:
        print("task       variant        outputs    seconds   result")
    for task in TASKS:
        if task not in ARGS.tasks:
            continue
        if task == "knn":
            measure_knn(last[train], class_of[train], last[test], class_of[test])
        elif task == "ml-knn":
            measure_mlknn(last[train], findings[train], last[test], findings[test])
        elif task == "linear":
            measure_linear(class_tokens[train], patch_means[train], findings[train].astype(np.float32), ARGS.labels, "multi_label")
            measure_linear(class_tokens[train], patch_means[train], class_of[train], ARGS.classes, "multi_class")
        elif task == "logistic":
            measure_logistic(last[train], last[test], "multi_class", class_of[train], class_of[test], ARGS.classes)
            measure_logistic(last[train], last[test], "multi_label", findings[train], findings[test], ARGS.labels)
        elif task == "auroc":
            measure_auroc(auroc_scores, findings[test])


if __name__ == "__main__":
    main()
