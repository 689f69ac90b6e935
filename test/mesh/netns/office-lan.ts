/**
 * An office LAN made of network namespaces, for the mesh tests (as root):
 * one namespace holds a bridge (the office switch), and each host is a
 * namespace of its own, wired to the switch by a veth pair, with a private
 * address that exists only inside it and a multicast route so that mDNS
 * crosses the switch. Nothing is addressed outside these namespaces.
 * destroy() removes every namespace (their veths go with them), and so does
 * the process exit hook when a test is interrupted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { onExitCleanup, runChecked } from '../../support/process.js';

export const IP_BINARY = '/usr/sbin/ip';
const SUBNET = '10.231.77';

export interface LanHost {
  name: string;
  /** The network namespace: run a command in it with `ip netns exec NS ...` (see inHost). */
  ns: string;
  address: string;
}

export interface OfficeLan {
  hosts: Map<string, LanHost>;
  host(name: string): LanHost;
  /** The namespaces that still exist (for the cleanup check). */
  namespaces(): Promise<string[]>;
  destroy(): Promise<void>;
}

/** Refuses to run without what it needs: these tests must fail in CI without root or ip, never skip. */
export function requireRootAndIp(): void {
  if (process.getuid?.() !== 0) throw new Error('the office mesh LAN tests need root (network namespaces); run them as root');
  if (!existsSync(IP_BINARY)) throw new Error(`the office mesh LAN tests need ${IP_BINARY} (Debian's iproute2)`);
}

/** `ip netns exec NS command args...` as a command line for startProcess or runChecked. */
export function inHost(host: LanHost, command: string, args: string[]): { command: string; args: string[] } {
  return { command: IP_BINARY, args: ['netns', 'exec', host.ns, command, ...args] };
}

export async function createOfficeLan(names: string[]): Promise<OfficeLan> {
  requireRootAndIp();
  const id = `lm${process.pid % 100_000}`;
  const switchNs = `${id}-switch`;
  const created: string[] = [];
  const removeAll = () => {
    for (const ns of [...created].reverse()) {
      try {
        execFileSync(IP_BINARY, ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    created.length = 0;
  };
  const forget = onExitCleanup(removeAll);
  const ip = (...args: string[]) => runChecked(IP_BINARY, args);
  const hosts = new Map<string, LanHost>();
  try {
    await ip('netns', 'add', switchNs);
    created.push(switchNs);
    await ip('-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await ip('-n', switchNs, 'link', 'set', 'br0', 'up');
    for (const [index, name] of names.entries()) {
      const ns = `${id}-${name}`;
      const address = `${SUBNET}.${10 + index}`;
      const port = `${id}p${index}`;
      await ip('netns', 'add', ns);
      created.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('link', 'add', port, 'netns', switchNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', switchNs, 'link', 'set', port, 'master', 'br0', 'up');
      await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
      hosts.set(name, { name, ns, address });
    }
  } catch (error) {
    removeAll();
    forget();
    throw error;
  }
  return {
    hosts,
    host: (name) => {
      const host = hosts.get(name);
      if (!host) throw new Error(`no host ${name} on the test LAN`);
      return host;
    },
    namespaces: async () => {
      const { stdout } = await runChecked(IP_BINARY, ['netns', 'list']);
      return stdout.split('\n').map((line) => line.split(' ')[0]!).filter((ns) => ns.startsWith(`${id}-`));
    },
    destroy: async () => {
      removeAll();
      forget();
    },
  };
}
