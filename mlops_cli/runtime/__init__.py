"""The serving runtime: what runs inside a model image and behind `mlops serve`.

Self-contained on purpose: it is copied into the image on its own, so it imports nothing
from the rest of mlops, only the standard library, the model's own stack (scikit-learn,
skops, pandas, numpy), uvicorn and prometheus_client. A model folder holds the artifact
and `metadata.json` (lineage, input schema, the skops types accepted when the image was
built) and, for a signed version, its model-signing bundle (checked at start,
runtime/signature.py).
"""

MODEL_DIR_ENV = "MLOPS_MODEL_DIR"
HOST_ENV = "MLOPS_HOST"
PORT_ENV = "MLOPS_PORT"
WORKERS_ENV = "MLOPS_WORKERS"
METADATA_FILE = "metadata.json"
SIGNATURE_FILE = "model.sig"  # the model's model-signing bundle, when the version is signed
METADATA_SCHEMA_VERSION = 1
