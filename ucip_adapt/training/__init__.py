"""Training shared by the recipes: launch checks, deterministic batches, EMA, checkpoints, the loop."""
