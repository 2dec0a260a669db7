"""`ac-play train`: the Textual app that runs, shows and steers training."""
