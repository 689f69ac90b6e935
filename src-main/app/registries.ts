import type { RegistrySettings, Settings } from '../api/types.js';
import { RegistryClient, type RegistryConfig } from '../core/upstream/registry-client.js';
import { RegistryRouter } from '../core/routing/registry-routing.js';
import { DOCKER_HUB, DOCKER_HUB_ALIASES } from '../core/oci/docker-hub.js';

/** Turns the registries of the settings into upstream clients and the router that picks among them. */
export function buildRouter(settings: Settings): RegistryRouter {
  const clients = settings.registries.map((registry) => new RegistryClient(toRegistryConfig(registry)));
  return new RegistryRouter(clients, settings.defaultRegistry);
}

export function toRegistryConfig(registry: RegistrySettings): RegistryConfig {
  return {
    name: registry.name,
    aliases: registry.name === DOCKER_HUB ? DOCKER_HUB_ALIASES : [],
    endpoints: registry.endpoints.map((endpoint) => ({
      url: endpoint.url,
      ...(endpoint.username ? { credentials: { username: endpoint.username, password: endpoint.password ?? '' } } : {}),
      ...(endpoint.caFile ? { caFile: endpoint.caFile } : {}),
      ...(endpoint.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
      ...(endpoint.repositoryPrefix ? { repositoryPrefix: endpoint.repositoryPrefix } : {}),
    })),
    ...(registry.endpointChoice ? { endpointChoice: registry.endpointChoice } : {}),
    ...(registry.redirectHosts?.length ? { redirectHosts: registry.redirectHosts } : {}),
  };
}
