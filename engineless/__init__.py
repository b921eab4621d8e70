"""Running the program without the Pulumi engine: under the SDK's mock monitor, either recording
what it declares (unit tests) or creating it for real on Docker (direct mode, real-Docker tests).

Direct mode exists because this machine cannot get the engine's Python language host and the
docker/random/command plugins (the Go module proxy refuses them; README "What runs where").
"""
