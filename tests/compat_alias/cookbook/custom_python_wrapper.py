# ruff: noqa
# fmt: off
# (left unformatted and unlinted on purpose: the Cookbook's code, as printed)
# The Phi-3 Cookbook's "Project: Custom Python Wrapper" (md/06.E2ESamples/E2E_Phi-3-MLflow.md), run unchanged under
# mltrail's mlflow alias: `python -m mltrail.compat custom_python_wrapper.py ONNX_DIR`.
# Differences from the printed text: the model path (the tiny local Phi-3 converted to ONNX GenAI int4) and the two
# lines of predict() that onnxruntime-genai 0.18 removed (`params.input_ids` and `Model.generate`), ported to its
# Generator API. `artifact_path` and `input_example` are defined by the reader in the Cookbook; here below.
import sys

ONNX_PATH = sys.argv[1]
artifact_path = "phi3-onnx-model"
input_example = {
    "prompt": "<|system|>You are a python coder.<|end|><|user|>Create a python code snippet that prints hello world."
    "<|end|><|assistant|>"
}

# ---- the Cookbook, as printed ------------------------------------------------------------------------------------
import mlflow
from mlflow.models import infer_signature
import onnxruntime_genai as og

class Phi3Model(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        # Retrieving model from the artifacts
        model_path = context.artifacts["phi3-mini-onnx"]
        model_options = {
             "max_length": 300,
             "temperature": 0.2,
        }

        # Defining the model
        self.phi3_model = og.Model(model_path)
        self.params = og.GeneratorParams(self.phi3_model)
        self.params.set_search_options(**model_options)

        # Defining the tokenizer
        self.tokenizer = og.Tokenizer(self.phi3_model)

    def predict(self, context, model_input):
        # Retrieving prompt from the input
        prompt = model_input["prompt"][0]
        input_ids = self.tokenizer.encode(prompt)  # 0.18 port: was `self.params.input_ids = ...`

        # Generating the model's response
        generator = og.Generator(self.phi3_model, self.params)  # 0.18 port: was `self.phi3_model.generate(...)`
        generator.append_tokens(input_ids)
        while not generator.is_done():
            generator.generate_next_token()
        response = [generator.get_sequence(0)]

        return self.tokenizer.decode(response[0][len(input_ids):])

model_info = mlflow.pyfunc.log_model(
    artifact_path = artifact_path,
    python_model = Phi3Model(),
    artifacts = {
        "phi3-mini-onnx": ONNX_PATH,
    },
    input_example = input_example,
    signature = infer_signature(input_example, ["Run"]),
    extra_pip_requirements = ["torch", "onnxruntime_genai", "numpy"],
)

# ---- check what was logged ----------------------------------------------------------------------------------------
loaded_model = mlflow.pyfunc.load_model(model_info.model_uri)
print("SIGNATURE", loaded_model.metadata.signature.to_dict())
print("ANSWER", loaded_model.predict(input_example))
