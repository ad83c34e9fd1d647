"""MLServer runtime of this model: the Open Inference (V2) protocol as clients speak it.

MLServer's MLflow runtime serves the logged pyfunc; this subclass adds what it
lacks for this model:

- the model's metadata declares one input per feature, `FP64` for numbers,
  `BOOL` for booleans and `BYTES` for strings and dates (ISO 8601 text), as
  the model reads them (`input_types` in the logged model's metadata),
  instead of JSON-encoded `BYTES` for every column;
- each input must be of its feature's kind (any numeric datatype for a number;
  `BOOL`, a number or text for a boolean; `BYTES` for a string or a date) and
  every input must have as many rows as the others;
- the request's `parameters` are the model's params (`method`, ...) except the
  protocol's own, which clients such as `tritonclient` send
  (`binary_data_output`, `priority`, `timeout`, `sequence_id`, ...): those are
  ignored, and a param the model does not declare is refused (MLflow would
  drop it with a warning in the server's log, e.g. a misspelt `threshold`);
- the answer holds the outputs the request names in `outputs`, or all of them;
- a refused request (any of the above, a missing column, an unknown method, a
  bad param value) is HTTP 400 with the model's message; a fault of the
  server's own keeps its 5xx status;
- inputs are read into a frame in two blocks rather than column by column, and
  inference uses one OpenMP thread per process (see OMP_NUM_THREADS below);
- a refused request is logged as one warning line; MLServer logs every error
  as ERROR with its traceback, which buries a server fault among clients'
  mistakes (a server fault keeps its traceback).

The package's `kserve` command copies this file, which imports nothing from the
package, next to `model-settings.json`, so that a stock MLServer image serves
the folder. Its name there is `churn_risk_runtime.py`.
"""

import logging
import os
from typing import Any

import numpy as np
import pandas as pd
from fastapi import status
from mlflow.exceptions import MlflowException
from mlserver.codecs import PandasCodec
from mlserver.errors import MLServerError
from mlserver.types import (
    Datatype,
    InferenceRequest,
    InferenceResponse,
    MetadataTensor,
    RequestInput,
)
from mlserver_mlflow import MLflowRuntime
from mlserver_mlflow.metadata import DefaultOutputPrefix, to_metadata_tensors

# One OpenMP thread per inference process unless the environment says
# otherwise: MLServer runs inference in one or more processes of its own, and
# OpenMP threads that spin while idle in each starve the others (2 workers on
# 2 cores: 90 requests/s with every core's thread, 236 with one). Set before
# the model's framework loads OpenMP.
os.environ.setdefault("OMP_NUM_THREADS", "1")

#: MLServer's loggers that log an error raised by a model with its traceback:
#: its inference workers' and its gRPC server's.
ERROR_LOGGERS = ("mlserver.parallel", "mlserver.grpc")


class RefusalsAsWarnings(logging.Filter):
    """Log a refused request (a 4xx `MLServerError`) as one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record of a refused request; keep every record."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, MLServerError) and error.status_code < 500:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"refused a request ({error.status_code}): {error}"
            record.args = ()
            record.exc_info = record.exc_text = None
        return True


for name in ERROR_LOGGERS:
    logging.getLogger(name).addFilter(RefusalsAsWarnings())

#: The V2 datatype of each kind of feature the model reads.
DATATYPES = {"number": "FP64", "string": "BYTES", "boolean": "BOOL", "date": "BYTES"}
#: The V2 datatypes a numeric feature accepts: all read as float64 (see
#: `as_frame`); the model reads float32 anyway, and an integer input may hold
#: a null (a missing value).
NUMBERS = frozenset(datatype.value for datatype in Datatype) - {"BOOL", "BYTES"}
#: The datatypes each kind of feature accepts.
ACCEPTED = {
    "number": NUMBERS,
    "string": frozenset({"BYTES"}),
    "boolean": NUMBERS | {"BOOL", "BYTES"},
    "date": frozenset({"BYTES"}),
}
#: Request parameters of the protocol and its extensions, which clients send
#: on their own: not the model's params.
PROTOCOL_PARAMETERS = frozenset(
    {
        "binary_data_output",
        "priority",
        "timeout",
        "sequence_id",
        "sequence_start",
        "sequence_end",
        "triton_enable_empty_final_response",
    }
)


class RequestError(MLServerError):
    """A request the model cannot answer: HTTP 400 with the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status.HTTP_400_BAD_REQUEST)


class Runtime(MLflowRuntime):
    """`mlserver_mlflow.MLflowRuntime` that checks requests as the model reads them."""

    def _sync_metadata(self) -> None:
        """Declare each feature's V2 datatype, and the outputs of the signature.

        The signature declares no inputs (the model checks them itself), so
        the inputs come from the model's metadata instead.
        """
        self._kinds = self._model.metadata.metadata["input_types"]
        self.inputs = [
            MetadataTensor(name=name, datatype=DATATYPES[kind], shape=[-1, 1])
            for name, kind in self._kinds.items()
        ]
        self.outputs = to_metadata_tensors(
            self._signature.outputs, prefix=DefaultOutputPrefix
        )
        schema = self._model.metadata.get_params_schema()
        self._params = [param.name for param in schema.params] if schema else []

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Check the inputs, read them into a frame and call the pyfunc's predict."""
        self._check_inputs(payload.inputs)
        frame = as_frame(payload.inputs)
        try:
            result = self._model.predict(frame, params=self._model_params(payload))
        except MlflowException as error:
            code = error.get_http_status_code()
            if code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
                raise
            raise MLServerError(error.message, code) from error
        if payload.outputs:
            result = requested(result, [output.name for output in payload.outputs])
        return self.encode_response(as_numpy_columns(result), default_codec=PandasCodec)

    def _check_inputs(self, inputs: list[RequestInput]) -> None:
        """Refuse an input of the wrong kind, shape or number of rows."""
        rows = {}
        for tensor in inputs:
            kind = self._kinds.get(tensor.name)
            if kind is not None and tensor.datatype not in ACCEPTED[kind]:
                raise RequestError(
                    f"input {tensor.name!r} is {tensor.datatype}; it is a {kind}"
                    f" feature: send it as {DATATYPES[kind]}"
                    + (" or another numeric datatype" if kind == "number" else "")
                    + (", a number or text" if kind == "boolean" else "")
                )
            if not 1 <= len(tensor.shape) <= 2 or tensor.shape[1:] not in ([], [1]):
                raise RequestError(
                    f"input {tensor.name!r} has shape {tensor.shape}; each input"
                    " is one column: shape [rows] or [rows, 1]"
                )
            rows[tensor.name] = tensor.shape[0]
        if len(set(rows.values())) > 1:
            first, count = next(iter(rows.items()))
            other = next(name for name, size in rows.items() if size != count)
            raise RequestError(
                f"input {other!r} has {rows[other]} rows and {first!r} has"
                f" {count}: every input needs the same number of rows"
            )

    def _model_params(self, payload: InferenceRequest) -> dict[str, Any] | None:
        """Return the request's params for the model; refuse one it does not declare."""
        if payload.parameters is None or not payload.parameters.model_extra:
            return None
        params = {
            name: value
            for name, value in payload.parameters.model_extra.items()
            if name not in PROTOCOL_PARAMETERS
        }
        unknown = sorted(set(params) - set(self._params))
        if unknown:
            raise RequestError(f"Unknown params {unknown}; allowed: {self._params}")
        return params or None


def values_of(tensor: RequestInput) -> list:
    """Return an input's values as one flat list (the data may nest by row)."""
    data = list(tensor.data.root)
    if data and isinstance(data[0], list | tuple):
        data = [value for row in data for value in row]
    if len(data) != tensor.shape[0]:
        raise RequestError(
            f"input {tensor.name!r} holds {len(data)} values; its shape"
            f" {tensor.shape} says {tensor.shape[0]}"
        )
    return data


def as_frame(inputs: list[RequestInput]) -> pd.DataFrame:
    """Return the inputs as a frame of one column per input.

    A numeric input is a float64 column (a null is NaN), a `BYTES` input an
    object column (text, or None). Each kind is built as one block, not column
    by column: that is most of a small request's time in MLServer's codecs.
    """
    numbers = [tensor for tensor in inputs if tensor.datatype != "BYTES"]
    texts = [tensor for tensor in inputs if tensor.datatype == "BYTES"]
    blocks = []
    if numbers:
        try:
            values = np.array([values_of(tensor) for tensor in numbers], np.float64)
        except (TypeError, ValueError) as error:
            raise RequestError(f"a numeric input holds a non-number: {error}") from None
        blocks.append(pd.DataFrame(values.T, columns=[t.name for t in numbers]))
    if texts:
        try:
            columns = [[text(value) for value in values_of(tensor)] for tensor in texts]
        except UnicodeDecodeError as error:
            raise RequestError(f"a BYTES input is not UTF-8 text: {error}") from error
        values = np.array(columns, dtype=object).reshape(len(texts), -1)
        blocks.append(pd.DataFrame(values.T, columns=[t.name for t in texts]))
    if not blocks:
        return pd.DataFrame()
    return blocks[0] if len(blocks) == 1 else pd.concat(blocks, axis=1)


def text(value: Any) -> Any:
    """Return a `BYTES` value as text: bytes (gRPC's raw contents) decoded."""
    return value.decode() if isinstance(value, bytes) else value


def requested(result: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Return the columns of `result` the request names, in its order."""
    columns = [str(column) for column in result.columns]
    unknown = [name for name in names if name not in columns]
    if unknown:
        raise RequestError(f"Unknown outputs {unknown}; this call answers {columns}")
    return result.set_axis(columns, axis=1)[names]


def as_numpy_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with pandas' own dtypes (e.g. `str`) as `object` columns.

    MLServer's codecs know NumPy dtypes only; an `object` column goes out as
    `BYTES`.
    """
    own = [
        name for name, dtype in frame.dtypes.items() if not isinstance(dtype, np.dtype)
    ]
    return frame.astype(dict.fromkeys(own, object)) if own else frame
