"""Fit a model the way a notebook does and save it with its framework's own API.

Runs in a rendered project's environment:

    python notebook_model.py FRAMEWORK TASK DIRECTORY [--train CSV]

Without `--train`, fits on a messy frame: a pandas categorical in a
non-alphabetical category order, gaps, an integer column and a column name
with a space; writes `data.csv` (the frame with its target) and
`requests.csv` (rows to score: categories as strings, an unseen one, gaps)
with `expected.json`, what the fitted model itself predicts for those rows
(`predict_proba`, or `predict` for regression). With `--train`, fits on that
CSV's columns (target: `target`). Prints the model file's path last.

A classifier of XGBoost or LightGBM is fitted on the codes of the sorted
labels, as their scikit-learn estimators encode labels: wrapping it with text
labels in `data.csv` takes `--classes` with the sorted labels.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

COLOURS = ["red", "green", "blue"]


def messy_frame(task: str) -> pd.DataFrame:
    """Training rows whose target depends on the colour and the size."""
    rng = np.random.default_rng(11)
    rows = 500
    frame = pd.DataFrame(
        {
            "colour": pd.Categorical(rng.choice(COLOURS, rows), categories=COLOURS),
            "size cm": rng.normal(10.0, 3.0, rows),
            "items": rng.integers(0, 6, rows),
        }
    )
    frame.loc[::7, "size cm"] = np.nan
    signal = frame["size cm"].fillna(10.0) + 3.0 * (frame["colour"] == "red")
    if task == "binary":
        frame["target"] = np.where(signal > signal.median(), "yes", "no")
    elif task == "multiclass":
        frame["target"] = pd.qcut(signal, 3, labels=["lo", "mid", "hi"]).astype(str)
    else:
        frame["target"] = 2.0 * signal
    return frame


def fit(
    framework: str, task: str, features: pd.DataFrame, target: pd.Series, path: Path
):
    """Fit and save; return the fitted model."""
    classify = task != "regression"
    codes = pd.Series(pd.factorize(target, sort=True)[0]) if classify else target
    categorical = [str(name) for name in features.select_dtypes("category").columns]
    if framework == "xgboost":
        import xgboost as xgb

        kind = xgb.XGBClassifier if classify else xgb.XGBRegressor
        model = kind(n_estimators=40, max_depth=3, enable_categorical=True)
        model.fit(features, codes)
        model.save_model(path)
    elif framework == "lightgbm":
        import lightgbm as lgb

        kind = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
        model = kind(n_estimators=40, verbose=-1).fit(features, codes)
        model.booster_.save_model(path)
    elif framework == "catboost":
        import catboost

        kind = catboost.CatBoostClassifier if classify else catboost.CatBoostRegressor
        model = kind(iterations=40, verbose=False, allow_writing_files=False)
        model.fit(features, target, cat_features=categorical)
        model.save_model(str(path))
    else:
        import skops.io
        from sklearn.compose import make_column_transformer
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder

        kind = (
            HistGradientBoostingClassifier
            if classify
            else HistGradientBoostingRegressor
        )
        encode = make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical),
            remainder="passthrough",
        )
        model = make_pipeline(encode, kind(max_iter=40)).fit(features, target)
        skops.io.dump(model, path)
    return model


SUFFIXES = {
    "xgboost": ".json",
    "lightgbm": ".txt",
    "catboost": ".cbm",
    "sklearn": ".skops",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework")
    parser.add_argument("task")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--train", type=Path)
    args = parser.parse_args()
    path = args.directory / f"notebook{SUFFIXES[args.framework]}"
    if args.train:
        frame = pd.read_csv(args.train)
        fit(
            args.framework,
            args.task,
            frame.drop(columns="target"),
            frame["target"],
            path,
        )
        print(path)
        return
    frame = messy_frame(args.task)
    features = frame.drop(columns="target")
    model = fit(args.framework, args.task, features, frame["target"], path)
    frame.to_csv(args.directory / "data.csv", index=False)
    requests = features.head(12).astype({"colour": object})
    requests.loc[3, "colour"] = "purple"  # unseen
    requests.loc[4, "colour"] = None
    requests.loc[5, "size cm"] = None
    requests.to_csv(args.directory / "requests.csv", index=False)
    native = requests.astype({"colour": pd.CategoricalDtype(COLOURS)})
    if args.framework in ("catboost", "sklearn"):
        native = requests.assign(colour=requests["colour"].astype(str))
        native.loc[4, "colour"] = "nan"
        if args.framework == "sklearn":
            native = requests
    scores = (
        model.predict_proba(native)
        if args.task != "regression"
        else model.predict(native)
    )
    (args.directory / "expected.json").write_text(
        json.dumps(np.asarray(scores).tolist())
    )
    print(path)


if __name__ == "__main__":
    main()
