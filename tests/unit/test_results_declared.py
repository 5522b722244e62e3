"""Every RPC method declares its result, as it declares its input (issue 14): the contract
documents both, and tests check each answer against its schema (RPC_VALIDATE_RESULTS)."""


def test_every_rpc_method_of_every_service_declares_its_result():
    from alliance_platform.config import installed_services, service_class

    missing = [
        f"{name}.{attr}"
        for name in installed_services()
        for attr in sorted(dir(service_class(name)))
        if hasattr(getattr(service_class(name), attr), "rpc_schema")
        and getattr(getattr(service_class(name), attr), "rpc_result", None) is None
    ]
    print(f"{len(missing)} methods without a result schema")
    assert missing == [], "declare rpc(result=...) for these"
