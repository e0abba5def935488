"""A fast intent classifier: multinomial logistic regression over dense and sparse sentence features.

Why not Rasa's own LogisticRegressionClassifier: it fixes the regularisation (C=1) and stacks raw
count vectors beside unit-length embeddings, so the counts swamp the embeddings. Here each block is
scaled to unit length and weighted, and C is configurable. The softmax probabilities stay
meaningful for the FallbackClassifier threshold (no calibration tricks, no label smoothing).

The trained weights are stored as plain arrays (numpy .npz, no pickle), so loading a model runs no
code from it. Training takes seconds on the project's data, against minutes for DIET.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "linear_intent_classifier.npz"


def sentence_matrix(messages: list[Message], dense_weight: float, sparse_weight: float) -> scipy.sparse.csr_matrix:
    """One row per message: [dense sentence features (unit length) * dense_weight, sparse sentence
    features (unit length) * sparse_weight]. A block a message lacks is left as zeros."""
    dense_rows: list[np.ndarray | None] = []
    sparse_rows: list[scipy.sparse.spmatrix | None] = []
    for message in messages:
        _, dense = message.get_dense_features(TEXT)
        _, sparse = message.get_sparse_features(TEXT)
        dense_rows.append(dense.features.reshape(1, -1) if dense is not None and dense_weight else None)
        sparse_rows.append(sparse.features if sparse is not None and sparse_weight else None)
    blocks = []
    for rows, weight in ((dense_rows, dense_weight), (sparse_rows, sparse_weight)):
        width = next((row.shape[1] for row in rows if row is not None), 0)
        if not width:
            continue
        stacked = scipy.sparse.vstack([scipy.sparse.csr_matrix(row) if row is not None
                                       else scipy.sparse.csr_matrix((1, width)) for row in rows]).tocsr()
        blocks.append(normalize(stacked.astype(np.float64)) * weight)
    if not blocks:
        return scipy.sparse.csr_matrix((len(messages), 0))
    return scipy.sparse.hstack(blocks).tocsr()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression on the sentence features of the featurizers before it."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Inverse regularisation strength; 10 suits unit-length features (see bench/clinc150.py).
            "C": 10.0,
            # Relative weight of the dense (embedding) and sparse (count vector) blocks.
            "dense_weight": 1.0,
            "sparse_weight": 1.0,
            "max_iter": 1000,
            "class_weight": "balanced",
            "ranking_length": 10,
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 classes: np.ndarray | None = None, coef: np.ndarray | None = None,
                 intercept: np.ndarray | None = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.classes = classes
        self.coef = coef
        self.intercept = intercept

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def _matrix(self, messages: list[Message]) -> scipy.sparse.csr_matrix:
        return sentence_matrix(messages, self.config["dense_weight"], self.config["sparse_weight"])

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        labels = sorted({m.get(INTENT) for m in examples})
        if len(labels) < 2:
            logger.warning("LinearIntentClassifier needs at least two intents; it predicts nothing.")
            return self._resource
        X = self._matrix(examples)
        model = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"],
                                   class_weight=self.config["class_weight"], solver="lbfgs",
                                   multi_class="multinomial")
        model.fit(X, [m.get(INTENT) for m in examples])
        self.classes, self.coef, self.intercept = model.classes_, model.coef_, model.intercept_
        self.persist()
        return self._resource

    def predict_proba(self, messages: list[Message]) -> np.ndarray:
        """Softmax over the classes (the same computation as LogisticRegression.predict_proba)."""
        assert self.coef is not None and self.intercept is not None
        X = self._matrix(messages)
        if X.shape[1] != self.coef.shape[1]:
            raise ValueError(f"features have {X.shape[1]} columns, the model expects {self.coef.shape[1]}")
        scores = np.asarray(X @ self.coef.T) + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        if self.classes is None:
            return messages
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return messages
        for message, probabilities in zip(todo, self.predict_proba(todo), strict=True):
            order = np.argsort(-probabilities)
            ranking = [{INTENT_NAME_KEY: str(self.classes[i]), PREDICTED_CONFIDENCE_KEY: float(probabilities[i])}
                       for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            if self.config["ranking_length"] > 0:
                ranking = ranking[:self.config["ranking_length"]]
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def persist(self) -> None:
        assert self.classes is not None and self.coef is not None and self.intercept is not None
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, classes=np.array([str(c) for c in self.classes]),
                     coef=self.coef, intercept=self.intercept)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as weights:
                    arrays: tuple[np.ndarray, ...] = (weights["classes"], weights["coef"], weights["intercept"])
        except (ValueError, FileNotFoundError):
            logger.warning("LinearIntentClassifier found no trained weights; it predicts nothing.")
            return cls.create(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, *arrays)
