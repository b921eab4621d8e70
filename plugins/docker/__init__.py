"""Contract double for pulumi-docker 5.1.0 (terraform-provider-docker underneath): Container, RemoteImage,
Network and Volume against the real Docker daemon, through the docker CLI. Rows C*, I*, N*, V* of
docs/provider-contract.md."""
