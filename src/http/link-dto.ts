import type { Link } from '../shortener/link.js';
import type { LinkInput } from '../shortener/link-input.js';
import type { LinkPatchBody } from './schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A link as the API shows it. The password hash never leaves the server. */
export function linkDto(link: Link, baseUrl: string) {
  return {
    key: link.key,
    short_url: `${baseUrl}/${link.key}`,
    url: link.url,
    account_id: link.accountId,
    created_at: new Date(link.createdAt).toISOString(),
    updated_at: new Date(link.updatedAt).toISOString(),
    expires_at: iso(link.expiresAt),
    max_clicks: link.maxClicks,
    click_count: link.clickCount,
    redirect_status: link.redirectStatus,
    password_protected: link.passwordHash !== null,
    tags: link.tags,
    forward_query: link.forwardQuery,
    disabled: link.disabled,
  };
}

/** The API's snake_case body to the shortener's input. */
export function linkInput(body: LinkPatchBody): LinkInput {
  return {
    url: body.url,
    alias: body.alias,
    expiresAt: body.expires_at,
    maxClicks: body.max_clicks,
    redirectStatus: body.redirect_status,
    password: body.password,
    tags: body.tags,
    forwardQuery: body.forward_query,
    disabled: body.disabled,
  };
}
