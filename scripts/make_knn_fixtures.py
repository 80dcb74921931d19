#!/usr/bin/python3
"""Write the parity fixtures for RadProbe's `NearestNeighbours` tests (``Tests/Fixtures/knn/``).

Two references, both run on seeded random features (no exact or near ties: the script checks that
consecutive similarities around every neighbour boundary the tests use differ by more than 1e-5, so a
float32 search and a float64 one pick the same neighbours):

DINOv2 kNN (``knn_*``)
    The official ``KnnModule`` of facebookresearch/dinov2 (``dinov2/eval/knn.py``, checked at commit
    b8931f7bf91576930313be2c6d6af376033b35f0). Importing ``dinov2.eval.knn`` pulls in torchvision,
    torchmetrics and omegaconf for its data and model set-up, so the script reads the ``KnnModule``
    class definition out of that file (``ast``) and executes it unchanged, next to the repository's
    own ``dinov2.distributed`` module, in a one-process ``gloo`` group (``world_size=1``). Features
    go through ``torch.nn.functional.normalize(dim=1, p=2)`` first, as ``ModelWithNormalize`` does.

ML-kNN (``mlknn_*``)
    scikit-multilearn 0.2.0's ``skmultilearn.adapt.MLkNN`` (s = 1), fed L2-normalised features: it
    searches by Euclidean distance, whose order equals the cosine order on unit rows. Its only
    incompatibility with scikit-learn 1.2.1 is that it passes ``n_neighbors`` positionally to
    ``NearestNeighbors``, which has become keyword-only; the script swaps in a one-line factory that
    passes it by keyword. The model is fitted with ``ignore_first_neighbours=1`` (each training row's
    nearest neighbour, itself, is dropped: the k neighbours are among the other rows) and then
    predicts new queries with ``ignore_first_neighbours=0`` (their k nearest support rows), and the
    support rows themselves with ``ignore_first_neighbours=1`` (themselves excluded). ``predict_proba``
    returns the joint ``P(H1) P(E|H1)``; the normalised probability
    ``P(H1) P(E|H1) / (P(H1) P(E|H1) + P(H0) P(E|H0))`` is formed here from the fitted tables.

Run with Debian's python3 (torch 1.13, numpy, scikit-learn 1.2.1) in a venv that adds scikit-multilearn::

    /usr/bin/python3 -m venv --system-site-packages .venv-knn
    .venv-knn/bin/pip install scikit-multilearn==0.2.0
    git clone https://github.com/facebookresearch/dinov2 /tmp/dinov2
    .venv-knn/bin/python scripts/make_knn_fixtures.py --dinov2 /tmp/dinov2

Files (all small; float32 ``.npy`` for features, JSON for labels and float64 results):

``knn_support.npy`` [300, 32], ``knn_queries.npy`` [40, 32]
    Raw (un-normalised) features; row norms vary between about 0.5 and 12.
``knn.json``
    ``labels`` (300 class indices, 5 classes), ``nb_knn`` [1, 5, 20], ``temperature`` 0.07,
    ``scores`` {k: [40][5]} from ``KnnModule.forward``, ``neighbour_indices`` [40][20] and
    ``neighbour_similarities`` [40][20] (``torch.mm`` + ``topk`` on the normalised features).
``mlknn_support.npy`` [200, 16], ``mlknn_queries.npy`` [30, 16]
    Raw features.
``mlknn.json``
    ``labels`` [200][6] of 0/1, ``k`` 10, ``prior_positive`` [6], ``likelihood_positive`` and
    ``likelihood_negative`` [6][11] (``_prior_prob_true``, ``_cond_prob_true``, ``_cond_prob_false``),
    ``query_probabilities`` / ``query_joint_positive`` / ``query_predictions`` [30][6] and
    ``support_probabilities`` / ``support_predictions`` [200][6] (self excluded).
"""
import argparse
import ast
import json
import os
import sys
import tempfile

import numpy as np
import torch

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "knn")
MARGIN = 1e-5


def raw_features(rng, rows, dims):
    """Gaussian directions with row norms spread over about two orders of magnitude."""
    x = rng.standard_normal((rows, dims))
    scale = rng.uniform(0.1, 2.0, size=(rows, 1))
    return (x * scale).astype(np.float32)


def normalised64(x):
    """torch.nn.functional.normalize in float64: x / max(||x||, 1e-12)."""
    x = x.astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def check_margins(similarities, boundaries, what):
    """Every row's sorted similarities differ by more than MARGIN across each boundary (1-based rank)."""
    ordered = -np.sort(-similarities, axis=1)
    for b in boundaries:
        gap = (ordered[:, b - 1] - ordered[:, b]).min()
        assert gap > MARGIN, f"{what}: a gap of {gap} at rank {b}; choose another seed"


def load_knn_module(dinov2_root):
    """The official KnnModule class, executed from its source next to dinov2.distributed."""
    sys.path.insert(0, dinov2_root)
    import dinov2.distributed as distributed
    from torch.nn.functional import one_hot, softmax

    path = os.path.join(dinov2_root, "dinov2", "eval", "knn.py")
    with open(path) as f:
        source = f.read()
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "KnnModule")
    namespace = {"torch": torch, "one_hot": one_hot, "softmax": softmax, "distributed": distributed}
    exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), namespace)
    return namespace["KnnModule"]


def make_knn(dinov2_root):
    rng = np.random.default_rng(20240611)
    support, queries = raw_features(rng, 300, 32), raw_features(rng, 40, 32)
    labels = rng.integers(0, 5, size=300)
    labels[:5] = np.arange(5)  # every class present, so num_classes = max + 1 = 5
    nb_knn, temperature = [1, 5, 20], 0.07

    KnnModule = load_knn_module(dinov2_root)
    with tempfile.TemporaryDirectory() as scratch:
        torch.distributed.init_process_group(
            "gloo", init_method="file://" + os.path.join(scratch, "rendezvous"), rank=0, world_size=1)
        train = torch.nn.functional.normalize(torch.from_numpy(support), dim=1, p=2)
        test = torch.nn.functional.normalize(torch.from_numpy(queries), dim=1, p=2)
        module = KnnModule(train, torch.from_numpy(labels), nb_knn, temperature, "cpu", num_classes=5)
        with torch.no_grad():
            scores = module(test)
        torch.distributed.destroy_process_group()

    similarity = torch.mm(test, train.T)
    check_margins(similarity.numpy(), range(1, 22), "knn")
    top_sims, top_indices = similarity.topk(20, largest=True, sorted=True)

    np.save(os.path.join(OUTPUT, "knn_support.npy"), support)
    np.save(os.path.join(OUTPUT, "knn_queries.npy"), queries)
    document = {
        "labels": labels.tolist(),
        "nb_knn": nb_knn,
        "temperature": temperature,
        "scores": {str(k): scores[k].double().tolist() for k in nb_knn},
        "neighbour_indices": top_indices.tolist(),
        "neighbour_similarities": top_sims.double().tolist(),
    }
    with open(os.path.join(OUTPUT, "knn.json"), "w") as f:
        json.dump(document, f)


def make_mlknn():
    import sklearn.neighbors
    import skmultilearn.adapt.mlknn as mlknn

    # scikit-multilearn 0.2.0 calls NearestNeighbors(k); scikit-learn >= 1.0 takes it by keyword only.
    mlknn.NearestNeighbors = lambda k: sklearn.neighbors.NearestNeighbors(n_neighbors=k)

    rng = np.random.default_rng(9)
    support, queries = raw_features(rng, 200, 16), raw_features(rng, 30, 16)
    # Labels that follow the features (a noisy linear rule per label), so predictions vary across rows.
    prevalence = np.array([0.5, 0.3, 0.15, 0.05, 0.7, 0.02])
    score = normalised64(support) @ rng.standard_normal((16, 6)) + 0.3 * rng.standard_normal((200, 6))
    thresholds = np.diag(np.quantile(score, 1 - prevalence, axis=0))  # label l's own quantile
    labels = (score > thresholds).astype(np.int64)
    k = 10

    x_support, x_queries = normalised64(support), normalised64(queries)
    check_margins(x_queries @ x_support.T, [k], "mlknn queries")
    self_excluded = x_support @ x_support.T
    np.fill_diagonal(self_excluded, -np.inf)
    check_margins(self_excluded, [k], "mlknn support")

    model = mlknn.MLkNN(k=k, s=1.0, ignore_first_neighbours=1).fit(x_support, labels)
    nearest = model.knn_.kneighbors(x_support, 1, return_distance=False)[:, 0]
    assert (nearest == np.arange(200)).all(), "a training row's nearest neighbour is not itself"

    prior_true = np.asarray(model._prior_prob_true, dtype=np.float64)
    cond_true = model._cond_prob_true.toarray()
    cond_false = model._cond_prob_false.toarray()

    def normalised_probability(x, ignore):
        neighbours = model.knn_.kneighbors(x, k + ignore, return_distance=False)[:, ignore:]
        counts = labels[neighbours].sum(axis=1)  # [rows, L]
        columns = np.arange(labels.shape[1])
        joint_true = prior_true * cond_true[columns, counts]
        joint_false = (1 - prior_true) * cond_false[columns, counts]
        return joint_true / (joint_true + joint_false)

    model.ignore_first_neighbours = 0
    query_joint = model.predict_proba(x_queries).toarray()
    query_predictions = model.predict(x_queries).toarray()
    query_probabilities = normalised_probability(x_queries, 0)
    model.ignore_first_neighbours = 1
    support_predictions = model.predict(x_support).toarray()
    support_probabilities = normalised_probability(x_support, 1)
    assert ((query_probabilities >= 0.5) == query_predictions).all()

    np.save(os.path.join(OUTPUT, "mlknn_support.npy"), support)
    np.save(os.path.join(OUTPUT, "mlknn_queries.npy"), queries)
    document = {
        "labels": labels.tolist(),
        "k": k,
        "prior_positive": prior_true.tolist(),
        "likelihood_positive": cond_true.tolist(),
        "likelihood_negative": cond_false.tolist(),
        "query_probabilities": query_probabilities.tolist(),
        "query_joint_positive": query_joint.tolist(),
        "query_predictions": query_predictions.tolist(),
        "support_probabilities": support_probabilities.tolist(),
        "support_predictions": support_predictions.tolist(),
    }
    with open(os.path.join(OUTPUT, "mlknn.json"), "w") as f:
        json.dump(document, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dinov2", required=True, help="a checkout of facebookresearch/dinov2")
    args = parser.parse_args()
    os.makedirs(OUTPUT, exist_ok=True)
    make_knn(os.path.abspath(args.dinov2))
    make_mlknn()


if __name__ == "__main__":
    main()
