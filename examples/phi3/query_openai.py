"""Query a served chat model with the official openai client, plain and streamed.

mltrail models serve -m models:/phi3-chat/1 -p 5000 --env-manager local &
python examples/phi3/query_openai.py --url http://127.0.0.1:5000
"""

from __future__ import annotations

import argparse

import openai


def main() -> None:
    parser = argparse.ArgumentParser(description="Ask a served chat model through /v1/chat/completions")
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--question", default="What is the capital of Spain?")
    args = parser.parse_args()
    client = openai.OpenAI(base_url=f"{args.url}/v1", api_key="not-needed")
    model = client.models.list().data[0].id
    messages = [{"role": "user", "content": args.question}]
    reply = client.chat.completions.create(model=model, messages=messages, max_tokens=64)  # type: ignore[arg-type]
    print(reply.choices[0].message.content)
    for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=64, stream=True):  # type: ignore[arg-type]
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    print()


if __name__ == "__main__":
    main()
