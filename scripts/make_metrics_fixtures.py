#!/usr/bin/env python3
"""Fixtures for the Metrics target (Tests/Fixtures/metrics/*.json).

References: scikit-learn 1.2.1 (`roc_auc_score`, `accuracy_score`, `balanced_accuracy_score`) and
numpy 1.24 (`percentile`), as shipped with Debian's python3; DeLong's test is implemented here in numpy
from the paper's formulas (structural components V10/V01, S = S10/m + S01/n; DeLong, DeLong &
Clarke-Pearson 1988) and checked against a direct O(m·n) pair count before anything is written.
Bootstrap fixtures redraw the resamples with a Python SplitMix64 that mirrors `SeededGenerator`
(`integer(below: b)` = high 64 bits of next()·b) and compute each statistic with scikit-learn.

Files: binary.json (binary AUROC cases), multilabel.json (per-class / macro / weighted / micro with
unknown labels), multiclass.json (one-vs-rest AUROC, accuracy, balanced accuracy), delong.json,
bootstrap.json (intervals with rows and patients as units, and a paired comparison).
Unknown multi-label entries are written as null; an undefined metric is null.

Run: python3 scripts/make_metrics_fixtures.py   (deterministic: fixed numpy seeds)
"""
import json
import math
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

from seeded_generator import SeededGenerator

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "metrics"




def floats(array):
    return [float(v) for v in np.asarray(array, dtype=np.float64).ravel()]


def auroc_or_none(labels, scores):
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def pair_count_auroc(labels, scores):
    """Direct O(m·n) Mann–Whitney count, the definition the fast computations must match."""
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / (len(pos) * len(neg))


# ---------------------------------------------------------------- binary
def binary_cases(rng):
    cases = []

    def add(name, scores, labels):
        scores = np.asarray(scores, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.int64)
        expected = auroc_or_none(labels, scores)
        if expected is not None:
            assert abs(expected - pair_count_auroc(labels, scores)) < 1e-14, name
        cases.append({"name": name, "scores": floats(scores), "labels": [int(v) for v in labels], "auroc": expected})

    labels = (rng.random(60) < 0.4).astype(int)
    add("continuous", rng.normal(size=60) + 0.8 * labels, labels)
    labels = (rng.random(200) < 0.3).astype(int)
    add("heavy_ties_one_decimal", np.round(rng.random(200) * 0.6 + 0.3 * labels, 1), labels)
    labels = np.zeros(50, dtype=int)
    labels[17] = 1
    add("single_positive", np.round(rng.normal(size=50), 1), labels)
    labels = np.array([0] * 7 + [1] * 5)
    add("perfect_separation", np.linspace(-1, 1, 12), labels)
    add("perfectly_inverted", -np.linspace(-1, 1, 12), labels)
    add("all_scores_tied", np.full(12, 0.3), labels)
    add("single_label_value", rng.random(10), np.ones(10, dtype=int))
    return cases


# ---------------------------------------------------------------- multi-label
def multilabel_case(name, scores, labels):
    """labels: float matrix with NaN for unknown."""
    n, classes = scores.shape
    per_class, positives = [], []
    for c in range(classes):
        known = ~np.isnan(labels[:, c])
        y = labels[known, c].astype(int)
        per_class.append(auroc_or_none(y, scores[known, c]))
        positives.append(int(y.sum()))
    defined = [c for c in range(classes) if per_class[c] is not None]
    known = ~np.isnan(labels)
    if known.all():
        # scikit-learn's own averages on the defined columns (it rejects undefined ones) and micro on all.
        macro = float(roc_auc_score(labels[:, defined], scores[:, defined], average="macro"))
        weighted = float(roc_auc_score(labels[:, defined], scores[:, defined], average="weighted"))
        micro = float(roc_auc_score(labels, scores, average="micro"))
    else:
        values = np.array([per_class[c] for c in defined])
        macro = float(values.mean())
        weighted = float(np.average(values, weights=[positives[c] for c in defined]))
        micro = float(roc_auc_score(labels[known].astype(int), scores[known]))
    return {
        "name": name, "rows": n, "columns": classes, "scores": floats(scores),
        "labels": [None if math.isnan(v) else int(v) for v in labels.ravel()],
        "per_class": per_class, "positives": positives,
        "undefined": [c for c in range(classes) if per_class[c] is None],
        "macro": macro, "weighted": weighted, "micro": micro,
    }


def multilabel_cases(rng):
    n, classes = 120, 5
    labels = (rng.random((n, classes)) < [0.3, 0.5, 0.1, 0.0, 0.2]).astype(float)
    labels[5, 2] = 1.0
    scores = np.round(rng.random((n, classes)) + 0.5 * labels, 1)  # heavy ties
    complete = multilabel_case("complete_with_undefined_class", scores, labels)

    labels = (rng.random((n, classes)) < [0.3, 0.4, 0.2, 0.5, 0.3]).astype(float)
    labels[rng.random((n, classes)) < 0.25] = np.nan
    labels[:, 4] = np.where(np.isnan(labels[:, 4]), np.nan, 1.0)  # known entries all positive: undefined
    labels[:, 2] = np.nan
    labels[[3, 9], 2] = [1.0, 0.0]  # a class with two known entries
    scores = rng.normal(size=(n, classes)) + labels_to_signal(labels)
    unknown = multilabel_case("unknown_entries", scores, labels)
    return [complete, unknown]


def labels_to_signal(labels):
    return np.nan_to_num(labels, nan=0.5)


# ---------------------------------------------------------------- multi-class
def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def multiclass_case(name, probabilities, labels, classes):
    per_class = [auroc_or_none((labels == c).astype(int), probabilities[:, c]) for c in range(classes)]
    with warnings.catch_warnings():  # a predicted class absent from the truth is the point of one case
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = float(balanced_accuracy_score(labels, probabilities.argmax(axis=1)))
    case = {
        "name": name, "rows": len(labels), "columns": classes, "scores": floats(probabilities),
        "labels": [int(v) for v in labels], "per_class": per_class,
        "support": [int((labels == c).sum()) for c in range(classes)],
        "accuracy": float(accuracy_score(labels, probabilities.argmax(axis=1))),
        "balanced_accuracy": balanced,
    }
    if all(v is not None for v in per_class):
        case["macro"] = float(roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"))
        case["weighted"] = float(roc_auc_score(labels, probabilities, multi_class="ovr", average="weighted"))
        case["micro"] = float(roc_auc_score(labels, probabilities, multi_class="ovr", average="micro"))
    else:
        defined = [c for c in range(classes) if per_class[c] is not None]
        values = np.array([per_class[c] for c in defined])
        case["macro"] = float(values.mean())
        case["weighted"] = float(np.average(values, weights=[case["support"][c] for c in defined]))
        one_hot = (labels[:, None] == np.arange(classes)[None, :]).astype(int)
        case["micro"] = float(roc_auc_score(one_hot, probabilities, average="micro"))
    return case


def multiclass_cases(rng):
    n, classes = 150, 4
    labels = rng.choice(classes, size=n, p=[0.4, 0.3, 0.2, 0.1])
    logits = rng.normal(size=(n, classes)) + 1.2 * np.eye(classes)[labels]
    probabilities = softmax(logits)
    probabilities[:6] = [0.4, 0.4, 0.1, 0.1]  # argmax ties: the first maximum wins
    probabilities[6:9] = [0.1, 0.3, 0.3, 0.3]
    four = multiclass_case("four_classes_with_argmax_ties", probabilities, labels, classes)

    labels = rng.choice(3, size=60)  # class 3 never occurs in the truth
    probabilities = softmax(rng.normal(size=(60, classes)) + np.eye(classes)[labels])
    absent = multiclass_case("class_absent_from_truth", probabilities, labels, classes)
    return [four, absent]


# ---------------------------------------------------------------- DeLong
def delong_components(labels, scores):
    pos, neg = scores[labels == 1], scores[labels == 0]
    v10 = np.array([((neg < x).sum() + 0.5 * (neg == x).sum()) / len(neg) for x in pos])
    v01 = np.array([((pos > y).sum() + 0.5 * (pos == y).sum()) / len(pos) for y in neg])
    return v10, v01


def delong(labels, scores_a, scores_b):
    m, n = int(labels.sum()), int((1 - labels).sum())
    a10, a01 = delong_components(labels, scores_a)
    b10, b01 = delong_components(labels, scores_b)
    s10 = np.cov(np.vstack([a10, b10]))
    s01 = np.cov(np.vstack([a01, b01]))
    s = s10 / m + s01 / n
    aucs = [a10.mean(), b10.mean()]
    for auc, scores in zip(aucs, [scores_a, scores_b]):
        assert abs(auc - pair_count_auroc(labels, scores)) < 1e-14
        assert abs(auc - roc_auc_score(labels, scores)) < 1e-12
    variance = s[0, 0] + s[1, 1] - 2 * s[0, 1]
    z = (aucs[0] - aucs[1]) / math.sqrt(variance)
    return {
        "auroc_a": float(aucs[0]), "auroc_b": float(aucs[1]), "difference": float(aucs[0] - aucs[1]),
        "variance_a": float(s[0, 0]), "variance_b": float(s[1, 1]), "covariance": float(s[0, 1]),
        "variance": float(variance), "z": float(z), "p": float(math.erfc(abs(z) / math.sqrt(2))),
    }


def slow_delong_variance(labels, scores_a, scores_b):
    """Var(AUC_A − AUC_B) from the pair kernel ψ directly, O(m·n) per model, no midranks."""
    pos, neg = labels == 1, labels == 0
    m, n = pos.sum(), neg.sum()
    def kernel(scores):
        d = scores[pos][:, None] - scores[neg][None, :]
        return (d > 0) + 0.5 * (d == 0)
    psi = kernel(scores_a) - kernel(scores_b)
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return v10.var(ddof=1) / m + v01.var(ddof=1) / n


def delong_cases(rng):
    cases = []
    for name, n, decimals in [("continuous", 80, None), ("tied_scores", 120, 1), ("small", 9, None)]:
        labels = (rng.random(n) < 0.45).astype(int)
        labels[:2], labels[2:4] = 1, 0
        truth = rng.normal(size=n)
        scores_a = truth * 0.5 + labels + rng.normal(size=n) * 0.8
        scores_b = truth * 0.5 + 0.6 * labels + rng.normal(size=n) * 0.8
        if decimals is not None:
            scores_a, scores_b = np.round(scores_a, decimals), np.round(scores_b, decimals)
        expected = delong(labels, scores_a, scores_b)
        assert abs(expected["variance"] - slow_delong_variance(labels, scores_a, scores_b)) < 1e-15, name
        cases.append({"name": name, "labels": [int(v) for v in labels],
                      "scores_a": floats(scores_a), "scores_b": floats(scores_b), **expected})
    return cases


# ---------------------------------------------------------------- bootstrap
def resamples(seed, count, unit_rows):
    generator = SeededGenerator(seed)
    for _ in range(count):
        rows = []
        for _ in range(len(unit_rows)):
            rows.extend(unit_rows[generator.integer_below(len(unit_rows))])
        yield np.array(rows, dtype=np.int64)


def units_of(patients, n):
    if patients is None:
        return [[i] for i in range(n)]
    order, rows = {}, []
    for row, patient in enumerate(patients):
        if patient not in order:
            order[patient] = len(rows)
            rows.append([])
        rows[order[patient]].append(row)
    return rows


def interval(values, confidence):
    lower, upper = np.percentile(np.array(values), [100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2])
    return float(lower), float(upper)


def bootstrap_case(name, statistic, kind, data, seed, count, confidence, patients):
    unit_rows = units_of(patients, data["rows"])
    values, skipped = [], 0
    for rows in resamples(seed, count, unit_rows):
        value = statistic(rows)
        if value is None:
            skipped += 1
        else:
            values.append(value)
    lower, upper = interval(values, confidence)
    return {"name": name, "statistic": kind, "seed": seed, "resamples": count, "confidence": confidence,
            "patients": patients, **data, "estimate": statistic(np.arange(data["rows"])),
            "lower": lower, "upper": upper, "valid": len(values), "skipped": skipped}


def paired_case(name, data, seed, count, confidence, patients):
    labels, a, b = np.array(data["labels"]), np.array(data["scores_a"]), np.array(data["scores_b"])
    differences, skipped = [], 0
    for rows in resamples(seed, count, units_of(patients, len(labels))):
        auc_a, auc_b = auroc_or_none(labels[rows], a[rows]), auroc_or_none(labels[rows], b[rows])
        if auc_a is None or auc_b is None:
            skipped += 1
        else:
            differences.append(auc_a - auc_b)
    d = np.array(differences)
    p = min(1.0, 2 * min(float((d <= 0).mean()), float((d >= 0).mean())))
    lower, upper = interval(differences, confidence)
    estimate_a, estimate_b = roc_auc_score(labels, a), roc_auc_score(labels, b)
    return {"name": name, "seed": seed, "resamples": count, "confidence": confidence, "patients": patients,
            "rows": len(labels), **data, "estimate_a": float(estimate_a), "estimate_b": float(estimate_b),
            "difference": float(estimate_a - estimate_b), "lower": lower, "upper": upper, "p": p,
            "valid": len(differences), "skipped": skipped}


def patient_ids(rng, n):
    """Patients with 1–4 consecutive rows each, ids not in sorted order."""
    ids, patient = [], 0
    while len(ids) < n:
        ids.extend([f"P{(patient * 37) % 101:03d}"] * int(rng.integers(1, 5)))
        patient += 1
    return ids[:n]


def bootstrap_cases(rng):
    cases = []
    n = 40
    labels = np.zeros(n, dtype=int)
    labels[[4, 21]] = 1  # rare positives: many resamples have none and are skipped
    scores = np.round(rng.random(n) + 0.3 * labels, 1)
    data = {"rows": n, "labels": [int(v) for v in labels], "scores": floats(scores)}
    statistic = lambda rows: auroc_or_none(labels[rows], scores[rows])
    cases.append(bootstrap_case("binary_auroc_rows_rare_positives", statistic, "binary_auroc", data, 7, 300, 0.9, None))

    n = 90
    labels = (rng.random(n) < 0.35).astype(int)
    scores = rng.normal(size=n) + labels
    patients = patient_ids(rng, n)
    data = {"rows": n, "labels": [int(v) for v in labels], "scores": floats(scores)}
    statistic = lambda rows: auroc_or_none(labels[rows], scores[rows])
    cases.append(bootstrap_case("binary_auroc_patients", statistic, "binary_auroc", data, 2024, 1000, 0.95, patients))

    classes = 4
    labels = rng.choice(classes, size=n)
    probabilities = softmax(rng.normal(size=(n, classes)) + np.eye(classes)[labels])
    data = {"rows": n, "columns": classes, "labels": [int(v) for v in labels], "scores": floats(probabilities)}
    statistic = lambda rows: float(accuracy_score(labels[rows], probabilities[rows].argmax(axis=1)))
    cases.append(bootstrap_case("accuracy_patients", statistic, "accuracy", data, 11, 500, 0.8, patients))

    label_matrix = (rng.random((n, 3)) < [0.4, 0.1, 0.5]).astype(int)
    score_matrix = rng.normal(size=(n, 3)) + label_matrix
    data = {"rows": n, "columns": 3, "label_matrix": [int(v) for v in label_matrix.ravel()],
            "scores": floats(score_matrix)}

    def macro(rows):
        values = [auroc_or_none(label_matrix[rows, c], score_matrix[rows, c]) for c in range(3)]
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None
    cases.append(bootstrap_case("multilabel_macro_rows", macro, "multilabel_macro", data, 99, 400, 0.95, None))
    return cases


def paired_cases(rng):
    n = 70
    labels = (rng.random(n) < 0.3).astype(int)
    truth = rng.normal(size=n)
    data = {"labels": [int(v) for v in labels],
            "scores_a": floats(np.round(truth + labels + rng.normal(size=n) * 0.7, 1)),
            "scores_b": floats(np.round(truth + 0.7 * labels + rng.normal(size=n) * 0.7, 1))}
    return [paired_case("paired_auroc_patients", data, 5, 600, 0.95, patient_ids(rng, n)),
            paired_case("paired_auroc_rows", data, 6, 400, 0.9, None)]


def write(name, payload):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_text(json.dumps(payload, allow_nan=False) + "\n")


def main():
    write("binary.json", binary_cases(np.random.default_rng(1)))
    write("multilabel.json", multilabel_cases(np.random.default_rng(2)))
    write("multiclass.json", multiclass_cases(np.random.default_rng(3)))
    write("delong.json", delong_cases(np.random.default_rng(4)))
    write("bootstrap.json", {"single": bootstrap_cases(np.random.default_rng(5)),
                             "paired": paired_cases(np.random.default_rng(6))})


if __name__ == "__main__":
    main()
