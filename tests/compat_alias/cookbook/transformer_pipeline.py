# ruff: noqa
# fmt: off
# (left unformatted and unlinted on purpose: the Cookbook's code, as printed)
# The Phi-3 Cookbook's "Project: Transformer Pipeline" (md/06.E2ESamples/E2E_Phi-3-MLflow.md, steps 1-3), run
# unchanged under mltrail's mlflow alias: `python -m mltrail.compat transformer_pipeline.py MODEL_DIR`.
# Only the model path differs ("microsoft/Phi-3-mini-4k-instruct" -> the tiny local Phi-3). `model_config` and the
# load/predict cells come from the Cookbook's notebook (code/06.E2E/E2E_Phi-3-MLflow_TransformerPipeline.ipynb).
import sys

MODEL_PATH = sys.argv[1]
model_config = {
    "max_length": 300,
    "truncation": True,
    "include_prompt": False,
}

# ---- the Cookbook, as printed ------------------------------------------------------------------------------------
import mlflow
import transformers

pipeline = transformers.pipeline(
    task = "text-generation",
    model = MODEL_PATH
)

model_info = mlflow.transformers.log_model(
    transformers_model = pipeline,
    artifact_path = "phi3-mlflow-model",
    model_config = model_config,
    task = "llm/v1/chat"
)

# ---- the notebook's inference cells --------------------------------------------------------------------------------
loaded_model = mlflow.pyfunc.load_model(
    model_uri = model_info.model_uri
)
print("SIGNATURE", loaded_model.metadata.signature.to_dict()["outputs"])
messages = [{"role": "user", "content": "What is the capital of Spain?"}]
response = loaded_model.predict(
    {"messages": messages}
)
print(f"Response: {response[0]['choices'][0]['message']['content']}")
print(f"Usage: {response[0]['usage']}")
print("MODULES", mlflow.__name__, type(mlflow.transformers).__name__, mlflow.pyfunc.load_model.__module__)
