import type { UpstreamRequest } from './registry-client.js';

/**
 * The request for one resource of a repository: the one place the /v2/<name>/…
 * path and its pull scope are written. `repository` travels with it, so an
 * endpoint that knows the repository under another name (a prefix) rewrites
 * path and scope together.
 */
export function repositoryRequest(repository: string, resource: string, method: 'GET' | 'HEAD' = 'GET'): UpstreamRequest {
  return { method, path: `/v2/${repository}/${resource}`, scope: `repository:${repository}:pull`, repository };
}
