/** Docker Hub's registry name, as references and containerd's ?ns= give it; its official images live under library/. */
export const DOCKER_HUB = 'docker.io';
/** Other names Docker Hub goes by. */
export const DOCKER_HUB_ALIASES = ['index.docker.io', 'registry-1.docker.io'];
/** Where Docker Hub's registry API is served (not at docker.io itself). */
export const DOCKER_HUB_ENDPOINT = 'https://registry-1.docker.io';
