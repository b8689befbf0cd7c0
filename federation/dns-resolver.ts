/**
 * Server-name resolution for federation discovery, bounded so that a hostile name cannot slow
 * anyone else down. Queries go through c-ares (`node:dns` Resolver, its own sockets on the event
 * loop) rather than getaddrinfo, whose few libuv pool threads a name that never answers would hold.
 * Every lookup has a deadline kept by a timer of ours, whatever the resolver does; concurrent
 * lookups of one name share one query; past a cap on lookups in flight, new ones fail at once
 * instead of queueing. Names in the hosts file are answered from it (the local test federation is
 * `localhost:<port>`), because c-ares queries never consult it.
 */
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

import { DnsFailure, type DnsFailureKind, type DnsResolver, type SrvRecord } from './server-discovery.ts';

export interface BoundedDnsOptions {
  /** The deadline of one lookup, every query and retry included. */
  timeoutMs: number;
  /** DNS servers as `ip`, `ip:port` or `[ipv6]:port`; empty or absent = the system's resolv.conf. */
  servers?: readonly string[];
  /** Tries of each server within the deadline. */
  tries?: number;
  /** Lookups in flight at once (distinct names); beyond it lookups fail with kind `busy`. */
  maxInFlight?: number;
  /** Read once at construction. */
  hostsFile?: string;
}

/** What one query came to when the deadline or its answer arrived, whichever first. */
type Outcome<T> = { ok: true; value: T } | { ok: false; kind: DnsFailureKind };

const DEFAULT_TRIES = 2;
const DEFAULT_MAX_IN_FLIGHT = 64;

/** Case and a trailing dot do not make a different DNS name. */
const normalise = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** Parses hosts-file text (`address name [alias...]`, `#` comments) into name → addresses. */
export function parseHosts(text: string): Map<string, string[]> {
  const hosts = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [address, ...names] = (line.split('#', 1)[0] ?? '').trim().split(/\s+/);
    if (address === undefined || isIP(address) === 0) continue;
    for (const name of names.map(normalise)) {
      const known = hosts.get(name) ?? [];
      if (!known.includes(address)) known.push(address);
      hosts.set(name, known);
    }
  }
  return hosts;
}

function readHosts(file: string): Map<string, string[]> {
  try {
    return parseHosts(readFileSync(file, 'utf8'));
  } catch (err) {
    // A system without a hosts file simply has no local names; any other failure is a setup error.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
}

/** c-ares codes: only a timeout means "no answer"; NXDOMAIN, NODATA, SERVFAIL... mean "none to be had". */
function classify(err: unknown): DnsFailureKind {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ETIMEOUT' || code === 'ECANCELLED' ? 'timed_out' : 'not_found';
}

export class BoundedDnsResolver implements DnsResolver {
  private readonly hosts: Map<string, string[]>;
  /** One promise per question in flight; its size is the overall count. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly maxInFlight: number;
  private readonly servers: readonly string[];
  private readonly tries: number;
  private readonly attemptMs: number;

  constructor(private readonly opts: BoundedDnsOptions) {
    this.hosts = readHosts(opts.hostsFile ?? '/etc/hosts');
    this.maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.tries = opts.tries ?? DEFAULT_TRIES;
    this.servers = opts.servers ?? [];
    // Also refuses a bad server list at start rather than on the first partner's token request.
    const probe = new Resolver();
    if (this.servers.length > 0) probe.setServers(this.servers);
    // c-ares tries each server in turn and would double the timeout on each round: a fixed
    // per-try timeout sized so that every try of every server fits within the deadline.
    this.attemptMs = Math.max(50, Math.floor(opts.timeoutMs / (this.tries * Math.max(1, probe.getServers().length))));
  }

  async lookup(hostname: string): Promise<string[]> {
    const name = normalise(hostname);
    if (isIP(name) !== 0) return [name];
    const local = this.hosts.get(name);
    if (local !== undefined) return [...local];
    const addresses = await this.bounded(`A/AAAA ${name}`, async (settle) => {
      const resolver = this.newResolver();
      try {
        // Both families at once, so a host answering only one of them costs no extra round trip.
        const [v4, v6] = await Promise.all([settle(resolver.resolve4(name)), settle(resolver.resolve6(name))]);
        const found = [...(v4.ok ? v4.value : []), ...(v6.ok ? v6.value : [])];
        if (found.length > 0) return found;
        const timedOut = [v4, v6].some((o) => !o.ok && o.kind === 'timed_out');
        throw new DnsFailure(timedOut ? 'timed_out' : 'not_found', this.failure(name, timedOut));
      } finally {
        resolver.cancel();
      }
    });
    return [...addresses];
  }

  async resolveSrv(name: string): Promise<SrvRecord[]> {
    const records = await this.bounded(`SRV ${normalise(name)}`, async (settle) => {
      const resolver = this.newResolver();
      try {
        const outcome = await settle(resolver.resolveSrv(name));
        if (outcome.ok) return outcome.value;
        throw new DnsFailure(outcome.kind, this.failure(name, outcome.kind === 'timed_out'));
      } finally {
        resolver.cancel();
      }
    });
    return records.map((r) => ({ ...r }));
  }

  private failure(name: string, timedOut: boolean): string {
    return timedOut ? `DNS lookup of ${name} timed out after ${this.opts.timeoutMs} ms` : `${name} has no DNS answer`;
  }

  /** A resolver per lookup, so that cancelling it when the lookup ends stops this lookup's queries only. */
  private newResolver(): Resolver {
    const resolver = new Resolver({ timeout: this.attemptMs, maxTimeout: this.attemptMs, tries: this.tries });
    if (this.servers.length > 0) resolver.setServers(this.servers);
    return resolver;
  }

  /**
   * Runs `query` once per key however many callers ask meanwhile, within the overall cap, and with
   * a deadline: `settle` turns each of the query's DNS calls into an outcome that arrives by the
   * deadline at the latest, answer or not.
   */
  private bounded<T>(
    key: string,
    query: (settle: <R>(call: Promise<R>) => Promise<Outcome<R>>) => Promise<T>,
  ): Promise<T> {
    const shared = this.inFlight.get(key) as Promise<T> | undefined;
    if (shared !== undefined) return shared;
    if (this.inFlight.size >= this.maxInFlight) {
      return Promise.reject(
        new DnsFailure('busy', `${this.inFlight.size} DNS lookups already in flight; refusing ${key} at once`),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Outcome<never>>((resolve) => {
      timer = setTimeout(() => {
        resolve({ ok: false, kind: 'timed_out' });
      }, this.opts.timeoutMs);
    });
    const settle = <R>(call: Promise<R>): Promise<Outcome<R>> =>
      Promise.race([
        call.then(
          (value): Outcome<R> => ({ ok: true, value }),
          (err: unknown): Outcome<R> => ({ ok: false, kind: classify(err) }),
        ),
        deadline,
      ]);
    const result = query(settle).finally(() => {
      clearTimeout(timer);
      this.inFlight.delete(key);
    });
    this.inFlight.set(key, result);
    return result;
  }
}
