"""Open WebUI on Docker, hardened and HTTPS-only: read the stack's config, wire the components."""

import pulumi
import pulumi_command as command
import pulumi_docker as docker
import pulumi_random as random

from components import app_process
from components.app_env import app_secret_settings, app_settings, enforced_config
from components.backup import HEALTH_COMMAND as BACKUP_HEALTH
from components.backup import Backup, BackupArgs
from components.certificate import TlsCertificate, TlsCertificateArgs
from components.database import Database, DatabaseArgs
from components.database_guard import DatabaseGuard, DatabaseGuardArgs
from components.hardening import ContainerProfile
from components.migration import Migration, MigrationArgs
from components.network import Foundation, FoundationArgs
from components.proxy import NginxConfigArgs, Proxy, ProxyArgs
from components.redis import Redis, RedisArgs
from components.secrets import Secrets, SecretsArgs
from components.stack_config import read_stack_settings
from components.swarm_network import SwarmFoundation, SwarmFoundationArgs
from components.swarm_stack import SwarmStack, SwarmStackArgs
from components.volume_owner import VolumeOwner, VolumeOwnerArgs
from components.webui import WebUI, WebUIArgs
from owui_ops import dockerhost

# 1. Config: validated as a whole before anything is declared.
settings, plain_secrets = read_stack_settings()
secret = pulumi.Output.secret


def profile(role: str, image: str, user: str, health: list[str], **extra) -> ContainerProfile:
    limits = getattr(settings.resources, role)
    return ContainerProfile(role=role, environment=settings.environment, stack=settings.stack,
                            image_ref=image, user=user, memory_mb=limits.memory_mb,
                            cpus=limits.cpus, health_command=health,
                            health_interval_seconds=limits.health_interval_seconds,
                            docker_env=step_docker_env, **extra)


# One docker provider for every docker resource: the stack's daemon (openwebui:docker; over SSH with the pinned
# host key, the identity from the run's ssh-agent: owui_ops/dockerhost.py) and a private registry's credentials.
# Without docker.host the provider takes DOCKER_HOST, else the local socket (docs/provider-contract.md D1).
docker_provider = docker.Provider(
    "docker", host=settings.docker.host, ssh_opts=settings.docker.ssh_opts or None,
    registry_auth=[docker.ProviderRegistryAuthArgs(
        address=settings.registry.server, username=settings.registry.username,
        password=secret(plain_secrets.registry_password))] if settings.registry else None)
# The command and random providers are declared too, and every component takes all three. The engine starts a
# provider's plugin when its step generator reaches the provider's registration, one registration at a time
# (pulumi pkg/resource/deploy/providers/registry.go, Registry.Check loads it); a default provider is registered
# only when the first resource needing it arrives. The ownership step, whose inputs wait for the data volume, then
# waited for the command plugin to start after the volume (and for the plugins queued before it). Declared here,
# the plugins start while the program is still declaring (bench/results.md).
with_providers = pulumi.ResourceOptions(providers=[
    docker_provider, command.Provider("command"), random.Provider("random")])
# The command steps' docker CLI talks to the same daemon (owui_ops.dockerhost.activate).
step_docker_env = dockerhost.stack_environment(settings.docker.host, settings.docker.ssh_opts)


def image(name: str, ref: str) -> docker.RemoteImage:
    # Local images (on the Docker host) are used as they are; registry images are pulled.
    return docker.RemoteImage(name, name=ref, keep_locally=True,
                              opts=pulumi.ResourceOptions(provider=docker_provider))


# 2. A change of database.type on a stack with data waits for a completed move (owui move-database): refused at
# preview otherwise, before the database password, the database or the migration that wait for it.
database_guard = DatabaseGuard("database-guard", DatabaseGuardArgs(stack=settings.stack, settings=settings.database),
                               with_providers)

# Secrets, network and data volume.
secrets = Secrets("secrets", SecretsArgs(
    admin_password=secret(plain_secrets.admin_password) if plain_secrets.admin_password else None,
    with_database_password=settings.database.type != "sqlite",
    database_after=(database_guard.resource,),
    with_redis_password=settings.redis_enabled,
), with_providers)
if settings.target == "swarm":
    # An encrypted, attachable overlay network (the one-shot steps attach to it) and the data volume.
    foundation = SwarmFoundation("swarm-foundation", SwarmFoundationArgs(
        stack=settings.stack, network_name=settings.network.name or f"openwebui-{settings.stack}",
        subnet=settings.swarm.subnet, encrypted=settings.swarm.encrypt_overlay,
        volume_name=settings.storage.volume_name or f"openwebui-{settings.stack}-data",
        delete_data_on_destroy=settings.storage.delete_data_on_destroy,
    ), with_providers)
else:
    foundation = Foundation("foundation", FoundationArgs(
        stack=settings.stack, subnet=settings.network.subnet, ip_range=settings.network.dynamic_range,
        network_name=settings.network.name or f"openwebui-{settings.stack}",
        volume_name=settings.storage.volume_name or f"openwebui-{settings.stack}-data",
        delete_data_on_destroy=settings.storage.delete_data_on_destroy,
    ), with_providers)
app_image = image("app-image", settings.image)
# The data volume becomes the app user's before anything mounts it as that user: upstream's image
# leaves it root's (components/volume_owner.py). The layout is read from the image at deploy time.
volume_owner = VolumeOwner("data-owner", VolumeOwnerArgs(
    stack=settings.stack, environment=settings.environment, app_image=settings.image,
    app_image_id=app_image.image_id, volume_name=foundation.volume_name, app_user="1000:1000",
    tools_image=settings.migration.tools_image, docker_env=step_docker_env, depends_on=[app_image]),
    with_providers)

# 3. Database (and, for a server, its database and user), then the one-shot migration.
database = Database("database", DatabaseArgs(
    settings=settings.database,
    app_password=secrets.database_password,
    after=(database_guard.resource,),
), with_providers)
migration = Migration("migration", MigrationArgs(
    stack=settings.stack, database_type=settings.database.type,
    app_image=settings.image, app_image_id=app_image.image_id,
    tools_image=settings.migration.tools_image,
    network_name=foundation.network_name, volume_name=foundation.volume_name,
    database_url=database.url, webui_secret_key=secrets.webui_secret_key,
    backup_dir=settings.migration.backup_dir,
    admin_email=settings.admin.email, admin_password=secrets.admin_password,
    enforced_config=enforced_config(settings), database_ca_file=settings.database.ssl_ca_file,
    memory_mb=settings.resources.migration.memory_mb, cpus=settings.resources.migration.cpus,
    docker_env=step_docker_env, depends_on=[app_image, volume_owner, *database.resources],
), with_providers)

# 4-6. The certificate; then Redis (when needed), the app and nginx: containers on one daemon, or services on a
# swarm (components/swarm_stack.py: secrets as Docker secret files, rolling start-first updates).
certificate = TlsCertificate("tls", TlsCertificateArgs(
    hostname=settings.hostname, mode=settings.tls.mode, validity_days=settings.tls.validity_days,
    certificate_pem=settings.tls_certificate,
    private_key_pem=secret(plain_secrets.tls_private_key) if plain_secrets.tls_private_key else None,
), with_providers)
nginx_settings = NginxConfigArgs(
    server_name=settings.hostname, public_port=settings.public_port,
    tls_profile=settings.tls.profile,
    client_max_body_size=settings.proxy.client_max_body_size,
    auth_rate_per_minute=settings.proxy.auth_rate_per_minute,
    auth_burst=settings.proxy.auth_burst,
    read_timeout_seconds=settings.proxy.read_timeout_seconds,
    hsts_max_age=settings.proxy.hsts_max_age)
app_profile = profile("app", settings.image, "1000:1000", app_process.HEALTH_COMMAND,
                      health_start_period=app_process.START_PERIOD,
                      health_timeout_seconds=app_process.HEALTH_TIMEOUT_SECONDS)
proxy_profile = profile("proxy", settings.proxy.image, "101:101",
                        ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/"])
redis_profile = profile("redis", settings.redis.image, "1000:1000",
                        ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG'])
if settings.target == "swarm":
    swarm_stack = SwarmStack("swarm", SwarmStackArgs(
        stack=settings.stack, network_id=foundation.network_id, volume_name=foundation.volume_name,
        app=app_profile, app_image=settings.image, app_command=[*app_process.ENTRYPOINT, *app_process.COMMAND],
        replicas=settings.replicas,
        # nginx's tasks have no fixed address on a swarm: the app trusts forwarded headers from the overlay
        # network, which only the stack's services and steps join.
        app_settings={**app_settings(settings), "FORWARDED_ALLOW_IPS": settings.swarm.subnet},
        app_secret_settings=app_secret_settings(
            webui_secret_key=secrets.webui_secret_key, oauth_session_key=secrets.oauth_session_key,
            database_url=database.url, admin_password=secrets.admin_password, redis_url=None,
            # Uploads in the object store (storage.provider s3): its key as a Docker secret file like the others.
            s3_secret_access_key=(secret(plain_secrets.s3_secret_access_key)
                                  if plain_secrets.s3_secret_access_key else None)),
        proxy=proxy_profile, proxy_image=settings.proxy.image, nginx=nginx_settings,
        http_port=settings.proxy.http_port, https_port=settings.proxy.https_port,
        certificate_pem=certificate.certificate_pem, private_key_pem=certificate.private_key_pem,
        redis=redis_profile if settings.redis_enabled else None,
        redis_image=settings.redis.image if settings.redis_enabled else None,
        redis_password=secrets.redis_password if settings.redis_enabled else None,
        placement_constraints=settings.swarm.placement_constraints,
        proxy_placement_constraints=settings.swarm.proxy_placement_constraints,
        converge_timeout_seconds=settings.swarm.converge_timeout_seconds,
        depends_on=[migration, app_image],
    ), with_providers)
    pulumi.export("appService", swarm_stack.app_service)
else:
    # 4. Redis when there is more than one app process.
    redis = None
    if settings.redis_enabled:
        redis = Redis("redis", RedisArgs(
            profile=redis_profile,
            image_name=image("redis-image", settings.redis.image).image_id,
            network_name=foundation.network_name, password=secrets.redis_password,
        ), with_providers)

    # 5. The app, after the migration (and Redis).
    webui = WebUI("webui", WebUIArgs(
        profile=app_profile,
        image_name=app_image.image_id, replicas=settings.replicas,
        entrypoint=app_process.ENTRYPOINT, command=app_process.COMMAND,
        network_name=foundation.network_name, volume_name=foundation.volume_name,
        settings=app_settings(settings),
        secret_settings=app_secret_settings(
            webui_secret_key=secrets.webui_secret_key, oauth_session_key=secrets.oauth_session_key,
            database_url=database.url, admin_password=secrets.admin_password,
            redis_url=redis.url if redis else None),
        depends_on=[migration, *([redis] if redis else [])],
        read_only_files=[settings.database.ssl_ca_file] if settings.database.ssl_ca_file else [],
    ), with_providers)

    # 6. nginx: TLS termination, the only published ports.
    proxy = Proxy("proxy", ProxyArgs(
        profile=proxy_profile,
        image_name=image("proxy-image", settings.proxy.image).image_id,
        nginx=nginx_settings,
        network_name=foundation.network_name, proxy_ip=settings.network.proxy_ip,
        bind_ip=settings.proxy.bind_ip, http_port=settings.proxy.http_port,
        https_port=settings.proxy.https_port,
        certificate_pem=certificate.certificate_pem, private_key_pem=certificate.private_key_pem,
        # Behind the same gate as the app (a failed migration changes neither), but not behind the app itself:
        # nginx resolves the app's alias per request (templates/nginx.conf: resolver, $app_upstream), so it
        # starts and turns healthy while the app is still starting.
        depends_on=[migration],
    ), with_providers)
    pulumi.export("appContainers", webui.container_names)

# 6b. Scheduled backups of the database and the data directory (docs/operations.md).
if settings.backup.enabled:
    backup = Backup("backup", BackupArgs(
        profile=profile("backup", settings.migration.tools_image, "1000:1000", BACKUP_HEALTH),
        image_name=image("tools-image", settings.migration.tools_image).image_id,
        stack=settings.stack, app_image=settings.image,
        network_name=foundation.network_name, volume_name=foundation.volume_name,
        database_type=settings.database.type, vector_db=settings.app.vector_db,
        database_url=database.url,
        host_directory=f"{settings.backup.directory}/{settings.stack}",
        interval_minutes=settings.backup.interval_minutes, keep_count=settings.backup.keep_count,
        keep_days=settings.backup.keep_days, copy_to=settings.backup.copy_to,
        encryption_key=(secret(plain_secrets.backup_encryption_key)
                        if plain_secrets.backup_encryption_key else None),
        ca_file=settings.database.ssl_ca_file, docker_env=step_docker_env,
        depends_on=[migration],
    ), with_providers)
    pulumi.export("backupDirectory", backup.host_directory)

# 7. What operators need.
pulumi.export("url", settings.public_url)
pulumi.export("adminEmail", settings.admin.email)
pulumi.export("adminPassword", secrets.admin_password)
pulumi.export("caCertificate", certificate.ca_certificate_pem)
pulumi.export("databaseRevision", migration.revision)
pulumi.export("image", settings.image)
pulumi.export("databaseType", settings.database.type)
pulumi.export("dataVolume", foundation.volume_name)
pulumi.export("volumeOwnership", volume_owner.findings)
