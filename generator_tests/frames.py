"""Training data the generator tests feed rendered projects."""

import numpy as np
import pandas as pd

TARGET = "target value"


def messy_frame(task: str, rows: int = 400) -> pd.DataFrame:
    """Strings, missing values and spaces in column names, for any task."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "customer age": rng.integers(18, 80, rows).astype(float),
            "plan type": rng.choice(["basic", "plus", "premium"], rows),
            "monthly spend": rng.gamma(2.0, 30.0, rows),
            "home region": rng.choice(["north", "south", "east", "west"], rows),
            "support calls": rng.integers(0, 6, rows),
            # True/False with gaps: pandas reads it back from CSV as objects.
            "auto renew": rng.choice([True, False], rows).astype(object),
            # ISO dates: CSV text a model reads as dates.
            "signup date": (
                pd.Timestamp("2023-01-01")
                + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
            ).strftime("%Y-%m-%d"),
        }
    )
    frame.loc[::7, "customer age"] = np.nan
    frame.loc[::5, "plan type"] = None
    frame.loc[::6, "auto renew"] = None
    frame.loc[::9, "signup date"] = None
    signal = (
        frame["monthly spend"] / 30
        + frame["support calls"]
        - 2.0 * (frame["plan type"] == "premium")
        + 1.5 * (frame["auto renew"] == True)  # noqa: E712 (objects)
    )
    if task == "binary":
        frame[TARGET] = np.where(signal > signal.median(), "churn", "stay")
    elif task == "multiclass":
        frame[TARGET] = pd.qcut(signal, 3, labels=["low", "mid", "high"]).astype(str)
    else:
        frame[TARGET] = signal * 10 + rng.normal(0, 1, rows)
    return frame
