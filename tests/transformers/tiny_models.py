"""Tiny, randomly initialised models with local tokenizers for the plain-pipeline tests (no hub access).

Each builder writes nothing: it returns a pipeline (mltrail's ``Seq2SeqPipeline`` for the seq2seq tasks that
transformers 5 removed) over an in-memory model of a few thousand
parameters and a WordPiece tokenizer over a small vocabulary, built in milliseconds. Outputs are meaningless but
deterministic for a fixed seed, so tests assert shapes, types and agreement with the pipeline itself.
"""

from __future__ import annotations

from typing import Any

WORDS = [
    "the",
    "a",
    "is",
    "of",
    "and",
    "to",
    "in",
    "it",
    "on",
    "at",
    "this",
    "that",
    "cat",
    "dog",
    "sat",
    "mat",
    "sky",
    "blue",
    "red",
    "green",
    "good",
    "bad",
    "day",
    "night",
    "long",
    "short",
    "text",
    "summary",
    "model",
    "test",
    "house",
    "tree",
    "water",
    "fire",
]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tokenizer() -> Any:
    """A ``BertTokenizerFast``-compatible WordPiece tokenizer (ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate([*SPECIALS, *WORDS, *".,!?"])}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    from tokenizers import decoders

    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        eos_token="[SEP]",
        model_max_length=64,
    )


def _bert_config(tok: Any, **extra: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(tok),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        pad_token_id=0,
        **extra,
    )


def pipeline(task: str, seed: int = 0) -> Any:
    """A tiny pipeline for ``task``: fill-mask, text-classification, feature-extraction, text2text-generation
    or summarization."""
    import torch
    import transformers

    torch.manual_seed(seed)
    tok = tokenizer()
    if task == "fill-mask":
        model: Any = transformers.BertForMaskedLM(_bert_config(tok))
    elif task == "text-classification":
        config = _bert_config(tok, id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
        model = transformers.BertForSequenceClassification(config)
    elif task == "feature-extraction":
        model = transformers.BertModel(_bert_config(tok))
    elif task in ("text2text-generation", "summarization"):
        config = transformers.T5Config(
            vocab_size=len(tok),
            d_model=16,
            d_kv=8,
            d_ff=32,
            num_layers=1,
            num_decoder_layers=1,
            num_heads=2,
            pad_token_id=0,
            eos_token_id=3,
            decoder_start_token_id=0,
        )
        model = transformers.T5ForConditionalGeneration(config)
        model.generation_config = transformers.GenerationConfig(
            decoder_start_token_id=0,
            eos_token_id=3,
            pad_token_id=0,
            max_new_tokens=5,
            do_sample=False,
            suppress_tokens=[0, 1, 2, 4],  # words only: a random model would otherwise emit special tokens
        )
    else:
        raise ValueError(task)
    model.eval()
    if task in ("text2text-generation", "summarization"):  # transformers 5 removed these pipelines
        import mltrail.transformers

        return mltrail.transformers._as_pipeline({"model": model, "tokenizer": tok}, task)
    return transformers.pipeline(task, model=model, tokenizer=tok)
