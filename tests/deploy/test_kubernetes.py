"""deploy/k8s validated offline against the Kubernetes API schemas (PyPI kubernetes-validate, which
bundles them; strict: unknown fields are errors), then held to what the platform needs: probes on
the health endpoints, a grace period longer than a graceful stop, disruption budgets and
autoscalers aimed at their Deployments, and each pod given only its own secrets (its own identity
key, the public key set; the people issuer's key only to the registry); the gateway behind a
Service and an Ingress of its public paths, with no key and no database."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from alliance_platform.config import installed_services, load_config
from tests.deploy.conftest import DEPLOY, database_services, has_database

K8S = DEPLOY / "k8s"
# The oldest Kubernetes release still maintained when these manifests were written; every field
# used here is stable (GA) there and in the releases after it.
KUBERNETES_VERSION = "1.32.0"
MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def _documents(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _all():
    return {(doc["kind"], doc["metadata"]["name"]): doc for path in MANIFESTS for doc in _documents(path)}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_are_valid_kubernetes_resources(path):
    for document in _documents(path):
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{path.name} {document['kind']}/{document['metadata']['name']}: {exc.message} at {list(exc.path)}"
            )


def test_the_validation_catches_a_broken_manifest():
    deployment = _all()[("Deployment", "registry")]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/health/ready"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_placeholder():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS if p.name != "secret.example.yaml")
    assert [image["name"] for image in kustomization["images"]] == ["alliance"]


def _container(deployment):
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _env(container):
    return {item["name"]: item.get("value") for item in container["env"]}


@pytest.mark.parametrize("name", installed_services())
def test_each_service_deployment_probes_its_health_endpoints(name):
    deployment = _all()[("Deployment", name)]
    pod = deployment["spec"]["template"]
    container = _container(deployment)
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert container["args"] == [name] and container["image"] == "alliance"
    port = int(str(load_config(name)["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[1])
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert _env(container)[f"{name.upper()}_HTTP_ADDRESS"] == f"0.0.0.0:{port}"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert {"requests", "limits"} <= container["resources"].keys()
    # SIGTERM first, SIGKILL after the grace period: the graceful stop is proven to take < 25 s.
    assert pod["spec"]["terminationGracePeriodSeconds"] == 30
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("name", installed_services())
def test_each_pod_gets_only_its_own_credentials(name):
    deployment = _all()[("Deployment", name)]
    container = _container(deployment)
    env = _env(container)
    assert env["AMQP_URI"] == f"amqp://{name}@$(BROKER_HOST):5672/$(BROKER_VHOST)"
    (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if "secret" in v]
    keys = {item["key"] for item in volume["secret"]["items"]}
    if has_database(name):
        assert env[f"{name.upper()}_DATABASE_URL"].startswith(f"postgresql://{name}@")
        own = (
            {"registry_id_card_key", "registry_id_card_keys_previous", "signing_key_people", "sign_in_code_secret"}
            if name == "registry"
            else set()
        )
        assert keys == {
            "token_public_keys",
            f"signing_key_{name}",
            f"broker_{name}_password",
            f"postgres_{name}_password",
            *own,
        }
        assert env["ALLIANCE_SIGNING_KEY_FILE"].endswith(f"/signing_key_{name}")
        assert env["ALLIANCE_TOKEN_PUBLIC_KEYS_FILE"].endswith("/token_public_keys")
        assert ("ALLIANCE_PEOPLE_SIGNING_KEY_FILE" in env) == (name == "registry")
    else:
        # The gateway: it passes the caller's token on and holds no power (nor a database) itself.
        assert keys == {f"broker_{name}_password"}
        assert not [variable for variable in env if "KEY" in variable or "SIGN" in variable or "DATABASE" in variable]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    files = {value for key, value in env.items() if key.endswith("_FILE")}
    assert files == {f"{mount['mountPath']}/{key}" for key in keys}
    placeholder = _all()[("Secret", "alliance-secrets")]["stringData"]
    assert keys <= placeholder.keys()


@pytest.mark.parametrize("name", installed_services())
def test_disruption_budget_and_autoscaler_aim_at_the_deployment(name):
    resources = _all()
    deployment = resources[("Deployment", name)]
    budget = resources[("PodDisruptionBudget", name)]
    autoscaler = resources[("HorizontalPodAutoscaler", name)]
    assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert budget["spec"]["minAvailable"] < autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}


def test_the_migration_job_runs_migrate_once_with_every_services_database():
    job = _all()[("Job", "alliance-migrate")]
    container = _container({"spec": {"template": job["spec"]["template"]}})
    assert container["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    env = _env(container)
    for name in database_services():
        assert env[f"{name.upper()}_DATABASE_URL"] == f"postgresql://{name}@$(DATABASE_HOST):5432/alliance_{name}"
    assert {variable for variable in env if variable.endswith("_DATABASE_URL")} == {
        f"{name.upper()}_DATABASE_URL" for name in database_services()
    }


def test_every_installed_service_has_a_deployment_and_nothing_else_does():
    deployments = {name for kind, name in _all() if kind == "Deployment"}
    assert deployments == set(installed_services())


def test_the_gateway_is_reached_through_its_service_and_an_ingress_of_its_public_paths():
    resources = _all()
    deployment = resources[("Deployment", "gateway")]
    service = resources[("Service", "gateway")]
    ingress = resources[("Ingress", "gateway")]
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["replicas"] == 2
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "http"
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    (rule,) = ingress["spec"]["rules"]
    paths = {(path["path"], path["pathType"]) for path in rule["http"]["paths"]}
    assert paths == {("/v1", "Prefix"), ("/open311", "Prefix"), ("/openapi.json", "Exact"), ("/docs", "Prefix")}
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"] == {"name": "gateway", "port": {"name": port["name"]}}
    # Probes and Prometheus reach the pods directly; the Ingress publishes neither.
    assert not any(path.startswith(("/health", "/metrics")) for path, _ in paths)
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]
    env = _env(_container(deployment))
    assert env["GATEWAY_PUBLIC_URL"] == f"https://{rule['host']}"
    # Traffic arrives through the Service: it keeps answering while its endpoint is withdrawn.
    assert _container(deployment)["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"


def test_only_the_gateway_is_behind_a_service():
    """The services take their work from their queues; nothing reaches them over HTTP but the
    probes and Prometheus, which go to the pods."""
    assert {name for kind, name in _all() if kind in {"Service", "Ingress"}} == {"gateway"}


def test_every_namespaced_resource_lives_in_the_alliance_namespace():
    for (kind, _), document in _all().items():
        if kind != "Namespace":
            assert document["metadata"]["namespace"] == "alliance"
    assert Path(K8S / "namespace.yaml").exists()
