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
        }
    )
    frame.loc[::7, "customer age"] = np.nan
    frame.loc[::5, "plan type"] = None
    signal = (
        frame["monthly spend"] / 30
        + frame["support calls"]
        - 2.0 * (frame["plan type"] == "premium")
    )
    if task == "binary":
        frame[TARGET] = np.where(signal > signal.median(), "churn", "stay")
    elif task == "multiclass":
        frame[TARGET] = pd.qcut(signal, 3, labels=["low", "mid", "high"]).astype(str)
    else:
        frame[TARGET] = signal * 10 + rng.normal(0, 1, rows)
    return frame
