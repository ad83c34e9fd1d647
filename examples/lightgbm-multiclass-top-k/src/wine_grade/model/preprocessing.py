"""Turn a pandas DataFrame into the float32 matrix the native model reads.

The fitted state (feature order, each feature's kind, categories of string
columns, the columns the owner declared optional, class labels) is stored
as JSON, never pickled.
It is also the model's input contract, the same in-process, over REST, in batch
scoring and on Spark:

- every feature seen in training must be present, unless declared optional;
- any value may be missing (NaN, None, null);
- numbers are numbers: int, float and nullable dtypes score alike;
- booleans are True/False, 1/0 or "true"/"false" (any case), alike;
- dates are dates, datetimes or ISO 8601 strings, with or without a time
  zone (UTC when none); the model reads the days since 1970-01-01 (UTC), the
  month and the day of the week, so a date after training is not unseen;
- column order does not matter and extra columns are ignored;
- unseen categories count as missing, except in a column whose rare
  categories were merged into "other" in training (see `fit`): there they
  count as "other".

A refusal is an `InputError` (an `MlflowException`, HTTP 400) that names the
column in one line.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.types.schema import ColSpec, Schema

from .contract import InputError, listed, positional_hint
from .kinds import (
    CONVERSION_ERRORS,
    DATE_PARTS,
    as_booleans,
    as_dates,
    as_numbers,
    category_strings,
    date_columns,
    encode_categories,
    frequent_categories,
    kinds_of,
    stored_name,
)

PREPROCESSING_FILE = "preprocessing.json"
#: MLflow's column type of each kind of feature, for a typed signature:
#: booleans as 1/0 doubles (MLflow's `boolean` reads a JSON null as False),
#: dates as ISO 8601 strings, which every client can send.
SIGNATURE_TYPES = {
    "number": "double",
    "string": "string",
    "boolean": "double",
    "date": "string",
}


@dataclass
class Preprocessor:
    """Fitted input encoding: numeric columns pass through, strings become codes."""

    features: list[str]
    categories: dict[str, list[str]]
    optional: list[str]
    classes: list[str | int | float | bool]
    #: True for a wrapped model that encodes its inputs itself (a scikit-learn
    #: Pipeline, CatBoost `cat_features`): `transform` then gives it a frame of
    #: numbers and category text instead of a matrix of codes.
    raw: bool = False
    #: Features that are neither numbers nor strings: "boolean" or "date".
    kinds: dict[str, str] = field(default_factory=dict)
    #: String features with more categories than were kept: the rest, and
    #: values never seen, share one more code, "other".
    other: list[str] = field(default_factory=list)
    #: The text a wrapped model's notebook filled categorical gaps with
    #: (`wrap --missing-category`): a missing category is given as it.
    missing_category: str | None = None
    #: Whether a request column may name a feature as LightGBM stores names
    #: (`stored_name`), as LightGBM's own predict allows: true for a wrapped
    #: model, whose file holds `monthly_income` for `monthly income`.
    stored_names: bool = False

    @classmethod
    def fit(
        cls,
        features: pd.DataFrame,
        target: pd.Series,
        optional: Sequence[str] = (),
        max_categories: int | None = None,
    ) -> "Preprocessor":
        """Learn column order and categories; `optional` columns may be absent."""
        unknown = [name for name in optional if name not in features.columns]
        if unknown:
            raise ValueError(
                f"Optional column(s) {unknown} are not features; "
                f"features: {list(features.columns)}"
            )
        categories, kinds, other = {}, {}, []
        for name, kind in kinds_of(features).items():
            if kind != "string":
                if kind != "number":
                    kinds[name] = kind
                continue
            counts = frequent_categories(features[name])
            if max_categories is not None and len(counts) > max_categories:
                # The rare ones share the last code, "other".
                counts = counts.iloc[: max_categories - 1]
                other.append(name)
            categories[name] = counts.index.tolist()
        return cls(
            features=[str(name) for name in features.columns],
            categories=categories,
            optional=[str(name) for name in features.columns if name in optional],
            classes=np.unique(target.dropna()).tolist(),
            kinds=kinds,
            other=other,
        )

    @property
    def columns(self) -> list[str]:
        """The encoded matrix's columns: a feature each, a date three."""
        columns = []
        for name in self.features:
            columns.append(name)
            if self.kinds.get(name) == "date":
                columns.extend(f"{name} {part}" for part in DATE_PARTS)
        return columns

    def by_feature(self, values: np.ndarray) -> np.ndarray:
        """Sum per-column `values` into one per feature along the last axis.

        The last axis holds one value per encoded column (`columns`), then
        any extra (such as a bias), which stay as they are; a date's columns
        add up to the date's.
        """
        if "date" not in self.kinds.values():
            return values
        starts, position = [], 0
        for name in self.features:
            starts.append(position)
            position += 1 + len(DATE_PARTS) * (self.kinds.get(name) == "date")
        starts += range(position, values.shape[-1])
        return np.add.reduceat(values, starts, axis=-1)

    @property
    def categorical(self) -> list[bool]:
        """Which encoded columns hold category codes."""
        return [name in self.categories for name in self.columns]

    def input_schema(self) -> Schema:
        """Return typed signature inputs: `double` numbers, `string` categories.

        The default signature has no inputs, so MLflow leaves every check to
        `transform`; this typed one is for registries that need column types,
        at the price of MLflow refusing integer columns in-process.
        """
        return Schema(
            [
                ColSpec(SIGNATURE_TYPES[kind], name, required=name not in self.optional)
                for name, kind in self.input_types().items()
            ]
        )

    def input_types(self) -> dict[str, str]:
        """Each feature's kind: "number", "string", "boolean" or "date"."""
        return {
            name: "string"
            if name in self.categories
            else self.kinds.get(name, "number")
            for name in self.features
        }

    def metadata(self) -> dict[str, Any]:
        """Return what the logged model's `MLmodel` metadata says of its inputs."""
        return {"input_types": self.input_types(), "optional_inputs": self.optional}

    def canonical(self, frame: pd.DataFrame, typed: bool = False) -> pd.DataFrame:
        """Return the features of `frame` as a client sends them: floats, strings.

        Numbers become float64 (missing: NaN), strings objects (missing: None),
        booleans True/False (missing: None; as a `typed` signature declares
        them, 1.0/0.0 and NaN) and dates ISO 8601 text (missing: None).
        """
        columns = {}
        for name in self.features:
            column = frame[name]
            kind = self.kinds.get(name)
            if name in self.categories:
                column = column.astype(object).where(column.notna(), None)
            elif kind == "boolean":
                flags = pd.Series(as_booleans(name, column), index=frame.index)
                if typed:
                    column = flags.astype(np.float64)
                else:
                    column = (flags == 1).astype(object).where(flags.notna(), None)
            elif kind == "date":
                dates = as_dates(name, column)
                text = dates.dt.strftime("%Y-%m-%dT%H:%M:%S").astype(object)
                column = text.where(dates.notna(), None)
            else:
                column = pd.Series(
                    column.to_numpy(dtype=np.float64, na_value=np.nan),
                    index=frame.index,
                )
            columns[name] = column
        return pd.DataFrame(columns, index=frame.index)

    def encode_target(self, target: pd.Series) -> np.ndarray:
        """Map class labels to 0..n_classes-1, refusing labels not seen in fit."""
        codes = pd.Index(self.classes).get_indexer(target)
        unseen = sorted(set(target[codes == -1].astype(str)))
        if unseen:
            raise ValueError(
                f"Target values {unseen} were not seen in training; "
                f"classes: {self.classes}"
            )
        return codes

    def transform(self, frame: pd.DataFrame) -> np.ndarray | pd.DataFrame:
        """Encode a frame as a C-contiguous float32 matrix in feature order.

        A `raw` preprocessor returns a frame instead (see `_raw`). Raises an
        `InputError` naming the column when a required feature is absent (or
        every feature is), a feature appears twice, or a numeric feature
        holds a value that is not a number.
        """
        if list(frame.columns) != self.features:
            frame = self._select(frame)
        if self.raw:
            return self._raw(frame)
        if self.categories or self.kinds:
            frame = self._encoded(frame)
        try:
            matrix = frame.to_numpy(dtype=np.float32, na_value=np.nan)
        except CONVERSION_ERRORS:
            matrix = self._to_numeric(frame)
        return np.ascontiguousarray(matrix)

    def _encoded(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `frame` encoded column by column, as `columns` lists them.

        Categories become codes, booleans 1/0, and a date its day count, month
        and day of the week.
        """
        columns: dict[str, Any] = {}
        for name in self.features:
            column = frame[name]
            kind = self.kinds.get(name)
            if name in self.categories:
                known = self.categories[name]
                columns[name] = encode_categories(
                    column, known, name in self.other, self.missing_category
                )
            elif kind == "boolean":
                columns[name] = as_booleans(name, column)
            elif kind == "date":
                columns.update(date_columns(name, column))
            else:
                columns[name] = column
        return pd.DataFrame(columns, index=frame.index)

    def _select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the features of `frame` in order; absent optional ones missing."""
        if self.stored_names:
            frame = self._by_stored_names(frame)
        absent = [name for name in self.features if name not in frame.columns]
        required = [name for name in absent if name not in self.optional]
        if len(absent) == len(self.features):
            raise InputError(
                f"None of the feature columns {listed(self.features)} is present"
                f"{positional_hint(frame.columns)}"
            )
        if required:
            optional = f" (optional: {listed(self.optional)})" if self.optional else ""
            raise InputError(
                f"Missing required column(s) {listed(required)}; every training "
                f"feature must be present{optional}"
            )
        repeated = frame.columns[frame.columns.duplicated()]
        repeated = sorted({str(name) for name in repeated if name in self.features})
        if repeated:
            raise InputError(
                f"Column(s) {listed(repeated)} appear more than once; "
                "send each feature once"
            )
        present = frame[[name for name in self.features if name in frame.columns]]
        return present.reindex(columns=self.features) if absent else present

    def _by_stored_names(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rename the columns that name an absent feature as LightGBM stores it.

        `monthly income` is the feature `monthly_income`, and the other way
        round; a column that is a feature itself keeps its name.
        """
        absent = {
            stored_name(name): name for name in self.features if name not in frame
        }
        renamed = {
            column: absent[stored_name(str(column))]
            for column in frame.columns
            if stored_name(str(column)) in absent and column not in self.features
        }
        return frame.rename(columns=renamed) if renamed else frame

    def _raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the features in order, as a model that encodes them reads them.

        Numbers are float64, categories their text (`category_strings`);
        missing values are NaN.
        """
        columns = {}
        for name in self.features:
            column = frame[name]
            if name in self.categories:
                text = category_strings(column).astype(object)
                gap = np.nan if self.missing_category is None else self.missing_category
                columns[name] = text.where(column.notna(), gap)
                continue
            if self.kinds.get(name) == "boolean":
                numbers = as_booleans(name, column).astype(np.float64)
            else:
                numbers = as_numbers(name, column, np.float64)
            columns[name] = pd.Series(numbers, index=frame.index)
        return pd.DataFrame(columns, index=frame.index)

    def _to_numeric(self, frame: pd.DataFrame) -> np.ndarray:
        """Convert column by column, naming the first value that is not a number."""
        return np.column_stack(
            [as_numbers(name, frame[name], np.float32) for name in self.features]
        )

    def save(self, path: Path) -> None:
        """Write the fitted state as JSON."""
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> "Preprocessor":
        """Read the fitted state written by `save`."""
        return cls(**json.loads(path.read_text()))
