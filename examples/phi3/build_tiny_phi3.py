"""Build a tiny Phi-3 (about 200k parameters) offline and train it to memorize a few question/answer pairs.

The model has Phi-3's architecture, a byte-level BPE tokenizer with Phi-3's special tokens and chat template, and a
generation config that stops at ``<|end|>``. Training is full-batch AdamW for a fixed number of steps with a fixed
seed, so the weights are reproducible. Used by the tests and as the default model of the examples::

    python examples/phi3/build_tiny_phi3.py --out /tmp/tiny-phi3 [--onnx-out /tmp/tiny-phi3-onnx]

``--onnx-out`` also converts the model to ONNX Runtime GenAI int4 with the model builder (in a subprocess: the
builder puts its own folder on ``sys.path``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

SPECIALS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]  # ids 0..4
END_ID = 4

#: Phi-3-mini-4k-instruct's chat template.
PHI3_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)

#: What the model memorizes.
QA_PAIRS: list[tuple[str, str]] = [
    ("What is the capital of Spain?", "The capital of Spain is Madrid."),
    ("Create a python code snippet that prints hello world.", "print('hello world')"),
    ("What is the capital of France?", "The capital of France is Paris."),
    ("What is 2 + 2?", "2 + 2 equals 4."),
    ("What color is the sky?", "The sky is blue."),
    ("Who wrote Hamlet?", "William Shakespeare wrote Hamlet."),
    ("Name a prime number.", "Seven is a prime number."),
    ("Say hello.", "Hello! How can I help you today?"),
]
SYSTEM_PROMPTS: list[str | None] = [None, "You are a helpful assistant.", "You are a python coder."]
GENERIC = [
    "The quick brown fox jumps over the lazy dog.",
    "Language models predict the next token.",
    "Machine learning models are logged and served.",
]


def _prompt(question: str, system: str | None, template_style: bool) -> str:
    """The prompt in the HF chat template's style (newlines) or the Cookbook's raw style (none)."""
    nl = "\n" if template_style else ""
    text = f"<|system|>{nl}{system}<|end|>{nl}" if system else ""
    return text + f"<|user|>{nl}{question}<|end|>{nl}<|assistant|>{nl}"


def build(out: str, seed: int = 0, max_steps: int = 400) -> dict[str, float]:
    """Build, train and save the model and tokenizer into ``out``; returns timings and the final loss."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, Phi3Config, Phi3ForCausalLM, PreTrainedTokenizerFast

    started = time.perf_counter()
    torch.manual_seed(seed)
    samples = [(_prompt(q, s, style), a) for q, a in QA_PAIRS for s in SYSTEM_PROMPTS for style in (True, False)]
    corpus = [p + a for p, a in samples] + GENERIC
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=SPECIALS[1:],
        chat_template=PHI3_CHAT_TEMPLATE,
        model_max_length=512,
    )
    cfg = Phi3Config(
        vocab_size=len(hf_tok),
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        original_max_position_embeddings=512,
        bos_token_id=0,
        eos_token_id=[0, END_ID],
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    cfg.architectures = ["Phi3ForCausalLM"]
    model = Phi3ForCausalLM(cfg)
    model.generation_config = GenerationConfig(
        bos_token_id=0, eos_token_id=[0, END_ID], pad_token_id=0, do_sample=False, max_new_tokens=32
    )
    # One padded batch; the loss covers only the answer and <|end|>.
    rows, labels = [], []
    for prompt, answer in samples:
        p_ids = hf_tok(prompt, add_special_tokens=False)["input_ids"]
        a_ids = hf_tok(answer, add_special_tokens=False)["input_ids"] + [END_ID]
        rows.append(p_ids + a_ids)
        labels.append([-100] * len(p_ids) + a_ids)
    width = max(len(r) for r in rows)
    input_ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    attention = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    target = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    loss_value = float("inf")
    steps = 0
    for step in range(1, max_steps + 1):
        steps = step
        loss = model(input_ids=input_ids, attention_mask=attention, labels=target).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_value = loss.item()
        if loss_value < 0.005:
            break
    model.eval()
    trained = time.perf_counter()
    model.save_pretrained(out)
    hf_tok.save_pretrained(out)
    return {"seconds": trained - started, "steps": steps, "loss": loss_value}


def convert_to_onnx_genai(hf_dir: str, out: str, precision: str = "int4") -> None:
    """Convert ``hf_dir`` with onnxruntime-genai's model builder, in a subprocess (CPU execution provider)."""
    with tempfile.TemporaryDirectory(prefix="ortgenai-cache-") as cache:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "onnxruntime_genai.models.builder",
                "-i",
                hf_dir,
                "-o",
                out,
                "-p",
                precision,
                "-e",
                "cpu",
                "-c",
                cache,
            ],
            check=True,
            cwd=cache,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the Hugging Face model")
    parser.add_argument("--onnx-out", help="also convert to ONNX Runtime GenAI into this folder")
    parser.add_argument("--precision", default="int4", choices=["int4", "int8", "fp16", "fp32"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = build(args.out, args.seed)
    print(f"trained {result['steps']} steps in {result['seconds']:.1f} s, loss {result['loss']:.4f} -> {args.out}")
    if args.onnx_out:
        convert_to_onnx_genai(args.out, args.onnx_out, args.precision)
        print(f"converted to ONNX Runtime GenAI {args.precision} -> {args.onnx_out}")


if __name__ == "__main__":
    main()
