"""The one deploy path: the real Pulumi engine with a file backend, the policy pack enforced on every run
(``python -m deploy up|preview|refresh|destroy STACK``; scripts/up, scripts/preview, scripts/destroy)."""
