"""``alliance keys``: the identity tokens' key pairs (alliance_platform/keys.py).

    alliance keys generate people              a key pair for the people issuer
    alliance keys generate tickets --out DIR   ... for a service: DIR/signing_key_tickets (private, 0600)
    alliance keys jwks FILE...                 the public key set of these keys (JWKS) to distribute

Rotation (deploy/README.md, "Identity keys"): generate the signer's new pair, add its public key
to the set everywhere (``alliance keys jwks`` of the old and new public keys), then give the
signer the new private key; remove the old public key once the tokens it signed have expired.
"""

import json
import os
from pathlib import Path

import click

from alliance_platform import keys

from .common import main


def _signer(name):
    return keys.PEOPLE if name == keys.PEOPLE else keys.service_signer(name)


@main.group("keys")
def keys_group():
    """Key pairs that sign identity tokens, and the public key set every service verifies with."""


@keys_group.command("generate")
@click.argument("signer")
@click.option("--kid", default=None, help="The key id (default: <signer>-<date>-<random>).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write DIR/signing_key_<signer> (private, mode 0600) and DIR/signing_key_<signer>.jwk.json"
    " (public) instead of printing them.",
)
def generate(signer, kid, out):
    """A new key pair for SIGNER: 'people' (the issuer of people's tokens) or a service's name."""
    try:
        key = keys.generate(_signer(signer), kid=kid)
    except keys.KeyConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    public = json.dumps(key.public().jwk(), indent=2)
    if out is None:
        click.echo(key.private_pem(), nl=False)
        click.echo(public)
        return
    out.mkdir(parents=True, exist_ok=True)
    private = out / f"signing_key_{signer}"
    if private.exists():
        raise click.ClickException(f"{private} exists: move it away first (the old key still verifies from the set)")
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.private_pem())
    (out / f"signing_key_{signer}.jwk.json").write_text(public + "\n")
    click.echo(f"{key.kid}: private key {private}, public key {private}.jwk.json")


@keys_group.command("jwks")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dev", is_flag=True, help="The development key set (dev_keys.json), public halves.")
def jwks(files, dev):
    """Print the public key set (JWKS) of these public keys (.jwk.json) or key sets, in order."""
    found = list(keys.KeySet.load("dev")) if dev else []
    for path in files:
        document = json.loads(path.read_text())
        found += list(keys.KeySet.from_jwks(document if "keys" in document else {"keys": [document]}))
    try:
        key_set = keys.KeySet(found)
    except keys.KeyConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(key_set.jwks(), indent=2))
