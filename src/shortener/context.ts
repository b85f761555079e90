import type { Clock } from '../platform/clock.js';
import type { ClickSink } from './click-recorder.js';
import type { KeyCandidates } from './keys/key-generator.js';
import type { RedirectStatus } from './link.js';
import type { LinkCache } from './link-cache.js';
import type { ClickRepository, LinkRepository } from './ports.js';
import type { UrlPolicy } from './validate-url.js';

export interface ShortenerPolicy {
  url: UrlPolicy;
  /** Lowercase aliases nobody may take. */
  reservedAliases: ReadonlySet<string>;
  defaultRedirectStatus: RedirectStatus;
  permanentMaxAgeSeconds: number;
  temporaryMaxAgeSeconds: number;
}

/** Everything the shortener's use cases need; built once in main/, shared by HTTP and CLI. */
export interface ShortenerContext {
  links: LinkRepository;
  clicks: ClickRepository;
  keys: KeyCandidates;
  cache: LinkCache;
  recorder: ClickSink;
  clock: Clock;
  policy: ShortenerPolicy;
}
