"""Contract double for pulumi-docker 5.1.0 (terraform-provider-docker underneath): Container, RemoteImage, Service,
Secret, ServiceConfig, Network and Volume against the real Docker daemon. Rows C*, I*, N*, V*, W*, T*, F* of
docs/provider-contract.md."""
