/** The link domain: what a short link is, independent of storage and transport. */

export const REDIRECT_STATUSES = [301, 302, 307, 308] as const;
export type RedirectStatus = (typeof REDIRECT_STATUSES)[number];

export interface Link {
  /** Storage id, meaningful only inside the database (shard) that holds the link. */
  id: number;
  key: string;
  url: string;
  accountId: number;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  maxClicks: number | null;
  clickCount: number;
  redirectStatus: RedirectStatus;
  passwordHash: string | null;
  tags: string[];
  forwardQuery: boolean;
  disabled: boolean;
}

export type NewLink = Omit<Link, 'id' | 'clickCount'>;

/** Fields an edit may change. `undefined` leaves a field as it is; `null` clears it. */
export interface LinkChanges {
  url?: string;
  expiresAt?: number | null;
  maxClicks?: number | null;
  redirectStatus?: RedirectStatus;
  passwordHash?: string | null;
  tags?: string[];
  forwardQuery?: boolean;
  disabled?: boolean;
  updatedAt: number;
}

export type LinkSort = 'created_at' | 'clicks';
export type SortOrder = 'asc' | 'desc';

/** Position after the last item of a page: the sort value and the key that breaks ties. */
export interface LinkCursor {
  sort: LinkSort;
  order: SortOrder;
  value: number;
  key: string;
}

export interface LinkListQuery {
  /** Only this account's links; undefined lists every account's (admin). */
  accountId?: number;
  tag?: string;
  /** Case-insensitive substring of the URL or the key. */
  text?: string;
  createdFrom?: number;
  createdTo?: number;
  sort: LinkSort;
  order: SortOrder;
  limit: number;
  after?: LinkCursor;
}

export interface LinkPage {
  items: Link[];
  next: LinkCursor | null;
}

/** Why a link does not redirect right now, or null when it does. */
export type LinkGoneReason = 'expired' | 'disabled' | 'click_limit' | null;

export function goneReason(link: Pick<Link, 'disabled' | 'expiresAt' | 'maxClicks' | 'clickCount'>, now: number): LinkGoneReason {
  if (link.disabled) return 'disabled';
  if (link.expiresAt !== null && link.expiresAt <= now) return 'expired';
  if (link.maxClicks !== null && link.clickCount >= link.maxClicks) return 'click_limit';
  return null;
}
