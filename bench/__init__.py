"""`make bench`: the daily job at 1.3M events, stage by stage, beside two baselines."""
