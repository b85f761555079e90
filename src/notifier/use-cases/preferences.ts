import type { Actor } from '../../platform/auth/actor.js';
import { validationError } from '../../platform/errors.js';
import type { NotifierContext } from '../context.js';
import { checkPreferences, DEFAULT_PREFERENCES, type Preferences, type PreferencesInput } from '../preferences.js';
import { recipientNotFound } from './recipients.js';

/** The recipient's preferences; the defaults (everything on, no quiet hours) when none were set. */
export async function getPreferences(ctx: NotifierContext, actor: Actor, recipientId: string): Promise<Preferences> {
  const stored = await ctx.stores.preferences.get(actor.accountId, recipientId);
  if (stored) return stored;
  if (!(await ctx.stores.recipients.find(actor.accountId, recipientId))) throw recipientNotFound(recipientId);
  return DEFAULT_PREFERENCES;
}

/** Replaces all of them (PUT): a field left out goes back to its default. */
export async function putPreferences(ctx: NotifierContext, actor: Actor, recipientId: string, input: PreferencesInput): Promise<Preferences> {
  const checked = checkPreferences(input);
  if (!checked.value) throw validationError(checked.problems);
  if (!(await ctx.stores.preferences.put(actor.accountId, recipientId, checked.value, ctx.clock.now()))) throw recipientNotFound(recipientId);
  return checked.value;
}
