"""The HTTP gateway: every RPC method of the services over HTTP/JSON under ``/v1``, with an
OpenAPI 3.1 document generated from the same schemas, problem details for errors, and the
demand list as an Open311 GeoReport v2 endpoint."""
