import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, isIPv4, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { addressKind, ipv6Groups, type AddressKind } from './ip-ranges.js';
import { InvalidContactError } from './errors.js';

/**
 * Server-side request forgery guard for URLs that come from users (webhook endpoints, push
 * subscription endpoints). A user must not make tny POST to 127.0.0.1, the cloud metadata
 * address or the office network. The host is resolved first (all addresses), every address is
 * judged (a name with one private address is refused), and the connection goes to exactly the
 * address that was judged: the check runs inside the socket's `lookup`, so there is no second
 * resolution a rebinding DNS server could answer differently. IP literals skip `lookup` in
 * Node, so `checkUrl` judges them before the request.
 *
 * `allowedNetworks` (CIDRs, e.g. `127.0.0.0/8`) lets chosen refused ranges through: tests and
 * installs whose receivers live on the private network.
 */

export type DnsLookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface SsrfGuardOptions {
  allowedNetworks?: readonly string[];
  /** Injected resolver (tests); defaults to the system resolver, all addresses. */
  resolve?: DnsLookupAll;
}

export class AddressRefusedError extends InvalidContactError {
  constructor(
    readonly host: string,
    readonly kind: AddressKind,
  ) {
    super(`The host ${host} resolves to a ${kind} address, which tny does not call.`, `address-${kind}`);
    this.name = 'AddressRefusedError';
  }
}

const systemResolve: DnsLookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export function parseNetworks(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [base, prefixText] = cidr.split('/');
    const type = isIPv4(base!) ? 'ipv4' : 'ipv6';
    if (isIP(base!) === 0) throw new RangeError(`"${cidr}" is not a CIDR network`);
    const prefix = prefixText === undefined ? (type === 'ipv4' ? 32 : 128) : Number(prefixText);
    list.addSubnet(base!, prefix, type);
  }
  return list;
}

export class SsrfGuard {
  private readonly allowed: BlockList;
  private readonly resolveAll: DnsLookupAll;

  constructor(options: SsrfGuardOptions = {}) {
    this.allowed = parseNetworks(options.allowedNetworks ?? []);
    this.resolveAll = options.resolve ?? systemResolve;
  }

  /** Why an address is refused, or null when it may be called. */
  refusal(address: string): AddressKind | null {
    const kind = addressKind(address);
    if (kind === 'public') return null;
    if (kind === 'invalid') return kind;
    if (isIPv4(address)) return this.allowed.check(address, 'ipv4') ? null : kind;
    if (this.allowed.check(address.split('%')[0]!, 'ipv6')) return null;
    // An IPv4-mapped address is allowed when its IPv4 form is (`127.0.0.0/8` covers ::ffff:127.0.0.1).
    const g = ipv6Groups(address);
    const mapped = `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
    return this.allowed.check(mapped, 'ipv4') ? null : kind;
  }

  /** All addresses of a host, after judging each; throws AddressRefusedError. */
  async resolve(hostname: string): Promise<Array<{ address: string; family: number }>> {
    const host = hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host) !== 0 ? [{ address: host, family: isIP(host) }] : await this.resolveAll(host);
    if (addresses.length === 0) throw new AddressRefusedError(host, 'invalid');
    for (const { address } of addresses) {
      const kind = this.refusal(address);
      if (kind !== null) throw new AddressRefusedError(host, kind);
    }
    return addresses;
  }

  /** Judges a URL's host when it is an IP literal (those never reach `lookup`) and its scheme. */
  checkUrl(url: URL): void {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new InvalidContactError(`The scheme ${url.protocol} is not allowed.`, 'bad-scheme');
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const kind = this.refusal(host);
      if (kind !== null) throw new AddressRefusedError(host, kind);
    }
  }

  /** A `net`/`tls` lookup that only ever yields judged addresses. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname).then(
      (all) => {
        const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        const list = wanted.length > 0 ? wanted : all;
        if (options.all) (callback as unknown as (e: null, a: typeof list) => void)(null, list);
        else callback(null, list[0]!.address, list[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };

  /** An undici dispatcher whose every connection goes through the guard. */
  dispatcher(options: Agent.Options = {}): Agent {
    return new Agent({ ...options, connect: { ...options.connect, lookup: this.lookup } });
  }
}
