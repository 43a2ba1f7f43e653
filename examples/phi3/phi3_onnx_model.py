"""The Phi-3 Cookbook's custom ONNX Runtime GenAI model, written for onnxruntime-genai 0.18's Generator API.

``load_context`` builds the Model, Tokenizer and search options from the ONNX folder passed in ``artifacts``;
``predict({"prompt": ...})`` returns the generated string.
"""

from __future__ import annotations

from typing import Any

import mltrail


class Phi3Model(mltrail.pyfunc.PythonModel):
    """A Phi-3 ONNX GenAI model behind the pyfunc interface (artifact key: ``phi3-mini-onnx``)."""

    def load_context(self, context: Any) -> None:
        """Load the ONNX model folder from the artifacts."""
        import onnxruntime_genai as og

        self.model = og.Model(context.artifacts["phi3-mini-onnx"])
        self.tokenizer = og.Tokenizer(self.model)
        self.search_options = {"max_length": 300, "temperature": 0.2}
        self.params = og.GeneratorParams(self.model)
        self.params.set_search_options(**self.search_options)

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> str:
        """Generate the answer to ``model_input["prompt"][0]`` (a prompt in Phi-3's chat format)."""
        import onnxruntime_genai as og

        prompt = model_input["prompt"][0]
        ids = self.tokenizer.encode(prompt)
        generator = og.Generator(self.model, self.params)
        generator.append_tokens(ids)
        while not generator.is_done():
            generator.generate_next_token()
        return self.tokenizer.decode(generator.get_sequence(0)[len(ids) :])
