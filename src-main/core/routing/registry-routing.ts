import { OciError } from '../oci/errors.js';
import { isValidName } from '../oci/grammar.js';
import type { RegistryClient } from '../upstream/registry-client.js';
import { DOCKER_HUB } from '../oci/docker-hub.js';


export interface ResolvedName {
  client: RegistryClient;
  /** The repository name as the upstream knows it. */
  repository: string;
}

/**
 * Which registry a request is for (DESIGN.md, "Routing"):
 *  1. `?ns=HOST` names it (containerd);
 *  2. else a first path component naming a configured registry;
 *  3. else the default registry.
 */
export class RegistryRouter {
  private readonly byName = new Map<string, RegistryClient>();

  constructor(private readonly registries: RegistryClient[], private readonly defaultName: string) {
    for (const client of registries) {
      for (const name of [client.name, ...client.aliases]) this.byName.set(name.toLowerCase(), client);
    }
    if (!this.byName.has(defaultName.toLowerCase())) throw new Error(`default registry ${defaultName} is not configured`);
  }

  get default(): RegistryClient {
    return this.byName.get(this.defaultName.toLowerCase())!;
  }

  all(): RegistryClient[] {
    return this.registries;
  }

  find(name: string): RegistryClient | undefined {
    return this.byName.get(name.toLowerCase());
  }

  resolve(path: string, ns: string | null): ResolvedName {
    const client = ns ? this.find(ns) : undefined;
    if (ns && !client) throw new OciError(404, 'NAME_UNKNOWN', `registry ${ns} is not configured in Layover`);
    if (client) return { client, repository: this.checkedName(client, path) };
    const slash = path.indexOf('/');
    const prefixed = slash > 0 ? this.find(path.slice(0, slash)) : undefined;
    if (prefixed) return { client: prefixed, repository: this.checkedName(prefixed, path.slice(slash + 1)) };
    return { client: this.default, repository: this.checkedName(this.default, path) };
  }

  /** The name the upstream expects: grammar-checked, and library/ added for Docker Hub's official images. */
  private checkedName(client: RegistryClient, name: string): string {
    if (!isValidName(name)) throw new OciError(400, 'NAME_INVALID', `invalid repository name: ${truncate(name)}`);
    return client.name === DOCKER_HUB && !name.includes('/') ? `library/${name}` : name;
  }
}

function truncate(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
