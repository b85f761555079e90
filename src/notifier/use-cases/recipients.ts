import type { Actor } from '../../platform/auth/actor.js';
import { TnyError, validationError, type FieldError } from '../../platform/errors.js';
import { checkContactPoint, type CheckedContactPoint, type ContactPointInput } from '../contact-point-input.js';
import type { NotifierContext } from '../context.js';
import { checkLimit, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from '../cursor.js';
import { checkLocaleAndZone, checkRecipientId, type ContactPoint, type Recipient } from '../recipient.js';

export interface RecipientWithContacts extends Recipient {
  contacts: ContactPoint[];
}

export const MAX_CONTACTS_PER_RECIPIENT = 50;

export function recipientNotFound(id: string): TnyError {
  return new TnyError('RECIPIENT_NOT_FOUND', { message: `no recipient has the id "${id}"` });
}

export interface RecipientInput {
  id: string;
  locale?: string;
  timeZone?: string;
  contacts?: ContactPointInput[];
}

/**
 * Creates a recipient with its first contact points, in one transaction. Everything is checked
 * before anything is written; a contact point listed twice is a 422, not a silent merge.
 */
export async function createRecipient(ctx: NotifierContext, actor: Actor, input: RecipientInput): Promise<RecipientWithContacts> {
  const problems: FieldError[] = [...checkRecipientId(input.id)];
  const { locale, timeZone } = checkLocaleAndZone(input, problems);
  const contacts: CheckedContactPoint[] = [];
  const given = input.contacts ?? [];
  if (given.length > MAX_CONTACTS_PER_RECIPIENT) problems.push({ field: 'contacts', message: `at most ${MAX_CONTACTS_PER_RECIPIENT}` });
  given.slice(0, MAX_CONTACTS_PER_RECIPIENT).forEach((c, i) => {
    const checked = checkContactPoint(c, `contacts.${i}`);
    problems.push(...checked.problems);
    if (!checked.value) return;
    const value = checked.value;
    if (contacts.some((o) => o.kind === value.kind && o.address === value.address)) {
      problems.push({ field: `contacts.${i}`, message: 'is listed twice' });
    } else contacts.push(value);
  });
  if (problems.length > 0) throw validationError(problems);
  const created = await ctx.stores.recipients.insertWithContacts(
    { accountId: actor.accountId, id: input.id, locale: locale ?? ctx.defaultLocale, timeZone: timeZone ?? ctx.defaultTimeZone, now: ctx.clock.now() },
    contacts,
  );
  if (created === 'conflict') throw new TnyError('RECIPIENT_EXISTS', { message: `a recipient with the id "${input.id}" exists` });
  return { ...created.recipient, contacts: created.contacts };
}

export async function getRecipient(ctx: NotifierContext, actor: Actor, id: string): Promise<RecipientWithContacts> {
  const recipient = await ctx.stores.recipients.find(actor.accountId, id);
  if (!recipient) throw recipientNotFound(id);
  return { ...recipient, contacts: await ctx.stores.contacts.list(actor.accountId, id) };
}

export async function updateRecipient(
  ctx: NotifierContext,
  actor: Actor,
  id: string,
  input: { locale?: string; timeZone?: string },
): Promise<RecipientWithContacts> {
  const problems: FieldError[] = [];
  const checked = checkLocaleAndZone(input, problems);
  if (problems.length > 0) throw validationError(problems);
  const updated = await ctx.stores.recipients.update(actor.accountId, id, { ...checked, updatedAt: ctx.clock.now() });
  if (!updated) throw recipientNotFound(id);
  return { ...updated, contacts: await ctx.stores.contacts.list(actor.accountId, id) };
}

export async function deleteRecipient(ctx: NotifierContext, actor: Actor, id: string): Promise<void> {
  if (!(await ctx.stores.recipients.delete(actor.accountId, id))) throw recipientNotFound(id);
}

/** A page of the account's recipients in id order, each with its contact points. */
export async function listRecipients(
  ctx: NotifierContext,
  actor: Actor,
  input: { limit?: number; cursor?: string },
): Promise<Page<RecipientWithContacts>> {
  const limit = checkLimit(input.limit);
  const after = input.cursor !== undefined ? decodeKeyCursor('recipients', input.cursor, 1)[0]! : null;
  const rows = await ctx.stores.recipients.list(actor.accountId, after, limit + 1);
  const page = toPage(rows, limit, (last) => encodeKeyCursor('recipients', [last.id]));
  const contacts = await ctx.stores.contacts.listMany(actor.accountId, page.items.map((r) => r.id));
  return { ...page, items: page.items.map((r) => ({ ...r, contacts: contacts.get(r.id) ?? [] })) };
}

export async function addContactPoint(ctx: NotifierContext, actor: Actor, recipientId: string, input: ContactPointInput): Promise<ContactPoint> {
  const checked = checkContactPoint(input);
  if (!checked.value) throw validationError(checked.problems);
  const existing = await ctx.stores.contacts.list(actor.accountId, recipientId);
  if (existing.length >= MAX_CONTACTS_PER_RECIPIENT) {
    throw validationError([{ field: 'body', message: `a recipient has at most ${MAX_CONTACTS_PER_RECIPIENT} contact points` }]);
  }
  const result = await ctx.stores.contacts.add({ accountId: actor.accountId, recipientId, ...checked.value, now: ctx.clock.now() });
  if (result === undefined) throw recipientNotFound(recipientId);
  if (result === 'conflict') throw new TnyError('CONTACT_POINT_EXISTS');
  return result;
}

function contactNotFound(recipientId: string, contactId: number): TnyError {
  return new TnyError('CONTACT_POINT_NOT_FOUND', { message: `recipient "${recipientId}" has no contact point ${contactId}` });
}

/** Sets `valid` by hand, e.g. true again after the recipient fixed their address. */
export async function setContactPointValid(
  ctx: NotifierContext,
  actor: Actor,
  recipientId: string,
  contactId: number,
  valid: boolean,
): Promise<ContactPoint> {
  const updated = await ctx.stores.contacts.setValid(actor.accountId, recipientId, contactId, valid, ctx.clock.now());
  if (!updated) throw contactNotFound(recipientId, contactId);
  return updated;
}

export async function deleteContactPoint(ctx: NotifierContext, actor: Actor, recipientId: string, contactId: number): Promise<void> {
  if (!(await ctx.stores.contacts.delete(actor.accountId, recipientId, contactId))) throw contactNotFound(recipientId, contactId);
}
