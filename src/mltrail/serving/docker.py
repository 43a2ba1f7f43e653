"""``mltrail models generate-dockerfile``: a build context that serves one model in a container.

The context holds a ``Dockerfile`` and the model copied into ``model_dir/``. The image starts from
``python:<version>-slim`` (the model's Python from ``python_env.yaml``), installs the model's requirements
and mltrail with its serving extras, and runs ``mltrail models serve`` on port 8080 of all interfaces, like
MLflow's images. No container engine is needed to write it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mltrail.serving.envs import expand_requirements, read_python_env

MODEL_DIR_NAME = "model_dir"
SERVING_PORT = 8080

_TEMPLATE = """\
# Serve an mltrail model. Build and run:
#   docker build -t my-model .
#   docker run -p {port}:{port} my-model
FROM {base_image}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/mltrail

# The model's own requirements (its mltrail/mlflow pins are replaced by the install below)
COPY {model_dir}/requirements.serving.txt /opt/mltrail/requirements.txt
RUN pip install -r /opt/mltrail/requirements.txt

# mltrail with the scoring server
RUN pip install {mltrail_requirement}

COPY {model_dir} /opt/ml/model

EXPOSE {port}
ENTRYPOINT ["mltrail", "models", "serve", "-m", "/opt/ml/model", "--host", "0.0.0.0", "--port", "{port}", \\
            "--env-manager", "local"]
"""


def _mltrail_requirement() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"'mltrail[server,pandas]=={version('mltrail')}'"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "'mltrail[server,pandas]'"


def generate_dockerfile(model_dir: str | Path, output_dir: str | Path) -> Path:
    """Write ``output_dir/Dockerfile`` and copy the model to ``output_dir/model_dir``.

    Args:
        model_dir: a local model directory (with ``MLmodel``).
        output_dir: the build context to create (existing files are overwritten).

    Returns:
        The Dockerfile's path.
    """
    source, out = Path(model_dir), Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / MODEL_DIR_NAME
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    try:
        spec = read_python_env(target)
        python = ".".join(spec.python.split(".")[:2])
        requirements = expand_requirements(spec.dependencies, target)
    except Exception:  # a model without environment files: the image's Python and no extra requirements
        python, requirements = "3.11", []
    (target / "requirements.serving.txt").write_text("".join(f"{line}\n" for line in requirements))
    dockerfile = out / "Dockerfile"
    dockerfile.write_text(
        _TEMPLATE.format(
            base_image=f"python:{python}-slim",
            model_dir=MODEL_DIR_NAME,
            mltrail_requirement=_mltrail_requirement(),
            port=SERVING_PORT,
        )
    )
    return dockerfile
