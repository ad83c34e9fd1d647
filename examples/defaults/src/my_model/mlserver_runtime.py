"""MLServer runtime of this model: Open Inference (V2) protocol, client errors as 400.

MLServer's MLflow runtime serves the logged pyfunc; this subclass adds what it
lacks for this model:

- the model's metadata declares one input per feature, `FP64` for numbers and
  `BYTES` for strings, as the model reads them (`input_types` in the logged
  model's metadata), instead of JSON-encoded `BYTES` for every column;
- a refused request (missing column, text in a numeric column, unknown method,
  bad param value) is HTTP 400 with the model's message instead of 500;
- a param the model does not declare is refused (MLflow would drop it with a
  warning in the server's log, e.g. a misspelt `threshold`).

The package's `kserve` command copies this file, which imports nothing from the
package, next to `model-settings.json`, so that a stock MLServer image serves
the folder. Its name there is `my_model_runtime.py`.
"""

from typing import Any

import mlflow
import numpy as np
import pandas as pd
from fastapi import status
from mlflow.exceptions import MlflowException
from mlserver.codecs import PandasCodec
from mlserver.errors import MLServerError
from mlserver.types import Datatype, InferenceRequest, InferenceResponse, MetadataTensor
from mlserver.utils import get_model_uri
from mlserver_mlflow import MLflowRuntime
from mlserver_mlflow.metadata import DefaultOutputPrefix, to_metadata_tensors

#: The V2 datatype of each kind of feature the model reads.
DATATYPES = {"number": "FP64", "string": "BYTES"}
#: Numeric V2 datatypes, as a request holds them: all read as FP64 (see
#: `Runtime.predict`).
NUMBERS = {datatype.value for datatype in Datatype} - {"BOOL", "BYTES"}


class Runtime(MLflowRuntime):
    """`mlserver_mlflow.MLflowRuntime` with typed inputs and 400 for client errors."""

    async def load(self) -> bool:
        """Load the model; declare each feature's V2 datatype and the outputs.

        The signature declares no inputs (the model checks them itself), so
        the inputs come from the model's metadata instead.
        """
        self._model = mlflow.pyfunc.load_model(await get_model_uri(self._settings))
        self._signature = self._model.metadata.signature
        self._input_schema = self._model.metadata.get_input_schema()
        kinds = self._model.metadata.metadata["input_types"]
        self.inputs = [
            MetadataTensor(name=name, datatype=DATATYPES[kind], shape=[-1, 1])
            for name, kind in kinds.items()
        ]
        self.outputs = to_metadata_tensors(
            self._signature.outputs, prefix=DefaultOutputPrefix
        )
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Decode one input per column into a frame and call the pyfunc's predict.

        `parameters` other than `content_type` are the model's params
        (`method`, ...). Every numeric input is read as FP64: the model turns
        all features into float32 anyway, and MLServer cannot read a null (a
        missing value) into an integer column.
        """
        for tensor in payload.inputs:
            if tensor.datatype in NUMBERS:
                tensor.datatype = Datatype.FP64.value
        try:
            frame = self.decode_request(payload, default_codec=PandasCodec)
        except (TypeError, ValueError) as error:
            raise MLServerError(
                f"cannot read the inputs as columns of a table: {error}",
                status.HTTP_400_BAD_REQUEST,
            ) from error
        params: dict[str, Any] | None = None
        if payload.parameters is not None and payload.parameters.model_extra:
            params = dict(payload.parameters.model_extra)
            schema = self._model.metadata.get_params_schema()
            declared = [param.name for param in schema.params]
            unknown = sorted(set(params) - set(declared))
            if unknown:
                raise MLServerError(
                    f"Unknown params {unknown}; allowed: {declared}",
                    status.HTTP_400_BAD_REQUEST,
                )
        try:
            result = self._model.predict(frame, params=params)
        except MlflowException as error:
            raise MLServerError(error.message, status.HTTP_400_BAD_REQUEST) from error
        return self.encode_response(as_numpy_columns(result), default_codec=PandasCodec)


def as_numpy_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with pandas' own dtypes (e.g. `str`) as `object` columns.

    MLServer's codecs know NumPy dtypes only; an `object` column goes out as
    `BYTES`.
    """
    own = [
        name for name, dtype in frame.dtypes.items() if not isinstance(dtype, np.dtype)
    ]
    return frame.astype(dict.fromkeys(own, object)) if own else frame
