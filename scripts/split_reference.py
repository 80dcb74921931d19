#!/usr/bin/env python3
"""An independent re-implementation of RadProbe's stratified split, for the pinned digest in
Tests/DatasetsTests/SplitTests.swift (testSameSeedGivesSameBytesAndSeedsDiffer).

It rebuilds the test's synthetic catalog (SyntheticCatalog.make(.multiClass, patients: 40, seed: 2):
patients P0000…P0039 with 1–3 items, a class per patient drawn with weights 0.6/0.3/0.1, each item
that class or, one time in five, a random class), splits it with the documented stratified rule
(seed 7, validation 0.2, test 0.2: strata = majority class, patients sorted byte-wise then
Fisher–Yates shuffled by SplitMix64, largest-remainder counts) and prints the SHA-256 of the whole
split file. Everything depends only on SplitMix64 and IEEE doubles, so the value holds on every
platform.

Run: python3 scripts/split_reference.py   (standard library only)
"""
import hashlib
import math

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * 2.0**-53

    def integer(self, bound):
        return (self.next() * bound) >> 64


WEIGHTS = [0.6, 0.3, 0.1]


def draw_class(rng):
    u = rng.uniform()
    for index, weight in enumerate(WEIGHTS):
        if u < weight:
            return index
        u -= weight
    return len(WEIGHTS) - 1


def synthetic_items(patients, seed):
    rng = SplitMix64(seed)
    items = []
    for patient in range(patients):
        name = "P%04d" % patient
        patient_class = draw_class(rng)
        for image in range(1 + rng.integer(3)):
            label = rng.integer(len(WEIGHTS)) if rng.integer(5) == 0 else patient_class
            items.append((f"{name}/image-{image}.png", name, label))
    return items


def apportion(fraction, sizes):
    quotas = [fraction * size for size in sizes]
    counts = [math.floor(q) for q in quotas]
    target = math.floor(fraction * sum(sizes) + 0.5)
    order = sorted(range(len(sizes)), key=lambda k: (-(quotas[k] - counts[k]), k))
    for k in order[:max(0, target - sum(counts))]:
        counts[k] = min(counts[k] + 1, sizes[k])
    return counts


def stratified_parts(items, seed, validation, test):
    patients, counts = [], {}
    for _, patient, label in items:
        if patient not in counts:
            patients.append(patient)
            counts[patient] = [0] * len(WEIGHTS)
        counts[patient][label] += 1
    classes = [max(range(len(WEIGHTS)), key=lambda k: (counts[p][k], -k)) for p in patients]
    rng = SplitMix64(seed)
    members = []
    for stratum in sorted(set(classes)):
        group = sorted((i for i in range(len(patients)) if classes[i] == stratum), key=lambda i: patients[i].encode())
        for last in range(len(group) - 1, 0, -1):
            j = rng.integer(last + 1)
            group[last], group[j] = group[j], group[last]
        members.append(group)
    sizes = [len(group) for group in members]
    test_counts = apportion(test, sizes)
    validation_counts = [min(v, s - t) for v, s, t in zip(apportion(validation, sizes), sizes, test_counts)]
    parts = {}
    for k, group in enumerate(members):
        for rank, index in enumerate(group):
            parts[patients[index]] = ("test" if rank < test_counts[k]
                                      else "validation" if rank < test_counts[k] + validation_counts[k] else "train")
    return parts


def main():
    items = synthetic_items(40, 2)
    parts = stratified_parts(items, seed=7, validation=0.2, test=0.2)
    body = "id,patient,part\n" + "".join(f"{i},{p},{parts[p]}\n" for i, p, _ in items)
    header = (f"# radprobe split v1 dataset=synthetic method=stratified;seed=7;validation=0.2;test=0.2 "
              f"items={len(items)} sha256={hashlib.sha256(body.encode()).hexdigest()}\n")
    print(hashlib.sha256((header + body).encode()).hexdigest())


if __name__ == "__main__":
    main()
