"""V2 serving: the MLServer runtime `kserve` deploys beside the model."""
