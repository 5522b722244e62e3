"""Baseline: the barest nameko RPC service (``nameko run bench.echo_service``), no platform code."""

from nameko.rpc import rpc


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, value):
        return value
