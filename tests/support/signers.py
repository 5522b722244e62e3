"""Keys of the test-only services (the probes): each signs its own calls with a key of its own,
known beside the development keys to the processes a test starts for them."""

from alliance_platform import keys

TEST_SIGNERS = {name: keys.generate(keys.service_signer(name)) for name in ("probe", "probe_consumer")}


def probe_key_set():
    return keys.KeySet([*(key.public() for key in keys.dev_keys()), *(k.public() for k in TEST_SIGNERS.values())])


def signer_config(name):
    """The key settings of a service named ``name``: its own key for a probe, none else (the
    development keys of defaults.yaml)."""
    if name not in TEST_SIGNERS:
        return {}
    return {"TOKEN_PUBLIC_KEYS": probe_key_set().jwks(), "SIGNING_KEY": TEST_SIGNERS[name].private_pem()}
