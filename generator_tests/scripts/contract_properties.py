"""Hold a rendered project's model to its input contract across training schemas.

Runs inside the project's environment (its `src/` and root on PYTHONPATH):

    python contract_properties.py PACKAGE TASK

The project's own contract test holds one trained schema; here Hypothesis draws
the training data too: one to four columns of floats, integers, booleans (with
gaps they are objects, or "true"/"false" text), dates (ISO text, datetimes with
or without a time zone), strings and many-valued strings (kept up to a drawn
`max_categories`, the rest "other"), with or without gaps, under awkward names,
some declared optional. Each drawn model is fitted and logged with the
project's own code and packaging, then fed requests drawn by the project's
`tests/test_contract.py` (columns dropped, added and reordered, missing values,
every numeric dtype, unseen categories, text in numeric columns, booleans and
dates in every form and values that are neither), in-process and through
`mlflow.pyfunc`, with the default signature and with `train
--typed-signature`'s (cast first, as the generated README says). Prints "ok".
"""

import importlib
import sys
import tempfile

import mlflow
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROWS = 90
KINDS = (
    "float",
    "float gaps",
    "int",
    "int gaps",
    "bool",
    "bool gaps",
    "bool text",
    "date text",
    "date text gaps",
    "datetime",
    "datetime tz",
    "string",
    "string gaps",
    "many strings",
)
REQUESTS_PER_MODEL = 12
#: Column names: letters, digits and spaces, never the target's name.
NAMES = st.text(
    st.characters(categories=["L", "N", "Zs"], max_codepoint=0x2FF),
    min_size=1,
    max_size=8,
).filter(lambda name: name != "target")


def column(kind: str, rng: np.random.Generator) -> pd.Series:
    """`ROWS` values of one kind, a fifth of them missing for the gap kinds."""
    if kind.startswith("float"):
        values = pd.Series(rng.normal(0.0, 3.0, ROWS))
    elif kind.startswith("int"):
        values = pd.Series(rng.integers(0, 10, ROWS), dtype="Int64")
    elif kind == "bool":
        return pd.Series(rng.random(ROWS) < 0.5)
    elif kind.startswith("bool"):
        values = pd.Series(rng.random(ROWS) < 0.5, dtype=object)
        if kind == "bool text":
            values = values.map({True: "true", False: "FALSE"})
        values[rng.random(ROWS) < 0.2] = None
        return values
    elif kind.startswith("date"):
        days = pd.to_timedelta(rng.integers(0, 2_000, ROWS), unit="D")
        dates = pd.Series(pd.Timestamp("2019-03-01") + days)
        if kind == "datetime tz":
            return dates.dt.tz_localize("Europe/Paris")
        if kind == "datetime":
            return dates
        values = dates.dt.strftime("%Y-%m-%d").astype(object)
    elif kind == "many strings":
        values = pd.Series([f"v{n}" for n in rng.integers(0, 40, ROWS)], dtype=object)
    else:
        values = pd.Series(rng.choice(["a", "b", "c"], ROWS), dtype=object)
    if kind.endswith("gaps"):
        values[rng.random(ROWS) < 0.2] = None
    return values if kind != "int" else values.astype("int64")


def target(features: pd.DataFrame, task: str, rng: np.random.Generator) -> pd.Series:
    """A target the features explain, with every class well represented."""
    signal = rng.normal(0.0, 0.1, ROWS)
    codes = {"a": 0.0, "b": 1.0, "c": 2.0, True: 1.0, "true": 1.0}
    for name in features.columns:
        values = features[name]
        if not pd.api.types.is_numeric_dtype(values):
            values = values.map(lambda value: codes.get(value, 0.0))
        signal += pd.to_numeric(values).astype("float64").fillna(0.0).to_numpy()
    if task == "regression":
        return pd.Series(signal)
    ranks = signal.argsort().argsort()
    classes = 2 if task == "binary" else 3
    labels = np.array(["no", "yes"] if classes == 2 else ["low", "mid", "high"])
    return pd.Series(labels[ranks * classes // ROWS])


@st.composite
def training_sets(
    draw: st.DrawFn, task: str
) -> tuple[pd.DataFrame, pd.Series, list, int]:
    """Draw features, a target and the optional columns."""
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    features = pd.DataFrame(
        {name: column(draw(st.sampled_from(KINDS)), rng) for name in names}
    )
    optional = draw(st.lists(st.sampled_from(names), unique=True))
    max_categories = draw(st.sampled_from([2, 5, 30]))
    return features, target(features, task, rng), optional, max_categories


def main(package: str, task: str) -> None:
    """Run the properties for the project's `package`."""
    train = importlib.import_module(f"{package}.train")
    pipeline = importlib.import_module(f"{package}.making.pipeline")
    logged_model = importlib.import_module(f"{package}.making.logged_model")
    contract = importlib.import_module("tests.test_contract")
    mlflow.set_tracking_uri(f"sqlite:///{tempfile.mkdtemp()}/mlflow.db")
    mlflow.set_experiment("contract")

    # Every example trains and logs a model, so a failure is reported as drawn:
    # shrinking it would take many minutes.
    @settings(
        max_examples=8,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(training=training_sets(task), data=st.data())
    def properties(
        training: tuple[pd.DataFrame, pd.Series, list, int], data: st.DataObject
    ) -> None:
        features, labels, optional, max_categories = training
        model = train.fit_model(features, labels, optional, max_categories)
        loaded = {}
        with mlflow.start_run():
            for typed in (False, True):
                sample = model.preprocessor.canonical(features, typed)
                info = logged_model.log_model(
                    model,
                    signature=pipeline.model_signature(model, sample, typed),
                    input_example=sample.head(3),
                    registered_model_name=None,
                )
                loaded[typed] = mlflow.pyfunc.load_model(info.model_uri)
        for _ in range(REQUESTS_PER_MODEL):
            request = data.draw(contract.requests(model.preprocessor))
            contract.check(model.predict, request)
            contract.check(loaded[False].predict, request)
            contract.check(
                lambda frame: loaded[True].predict(
                    contract.cast_for_typed_signature(frame, model.preprocessor)
                ),
                request,
                quoted=False,
            )

    properties()
    print("ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
