"""Making a model: evaluating it, its lineage and card, logging it to MLflow."""
