import { TnyError } from '../../platform/errors.js';
import type { ChannelName } from '../channel-names.js';
import type { OutgoingMessage } from '../channels/channel.js';
import type { NotifierContext } from '../context.js';
import type { ContactPoint, Recipient } from '../recipient.js';
import { localeChain } from '../templates/template.js';

/**
 * Renders the template for one channel and shapes the channel's message for one contact point
 * (`contact` is undefined for channels that need none: in_app, console). Missing variables,
 * a broken template or a missing one throw before anything is stored (422 / 404 at accept).
 */
export async function buildMessage(
  ctx: NotifierContext,
  input: { recipient: Recipient; category: string; template: string; data: Record<string, unknown>; notificationId: string },
  channel: ChannelName,
  contact: ContactPoint | undefined,
): Promise<OutgoingMessage> {
  const { recipient } = input;
  const template = await ctx.stores.templates.findBest(recipient.accountId, input.template, channel, localeChain(recipient.locale, ctx.defaultLocale));
  if (!template) {
    throw new TnyError('TEMPLATE_NOT_FOUND', { message: `no template "${input.template}" for channel ${channel} in locale ${recipient.locale} or its fallbacks` });
  }
  const r = await ctx.templates.render(template, input.data);
  const title = r.subject ?? '';
  const address = contact?.address ?? '';
  switch (channel) {
    case 'email':
      return { channel, to: address, subject: title, text: r.body, ...(r.html !== null ? { html: r.html } : {}) };
    case 'sms':
      return { channel, to: address, body: r.body };
    case 'web_push':
      return { channel, subscription: { endpoint: address, keys: contact?.keys ?? { p256dh: '', auth: '' } }, payload: { title, body: r.body } };
    case 'fcm':
      return { channel, token: address, title, body: r.body };
    case 'apns':
      return { channel, deviceToken: address, title, body: r.body };
    case 'webhook':
      return {
        channel,
        url: address,
        type: `notification.${input.category}`,
        data: { notification_id: input.notificationId, recipient: recipient.id, subject: r.subject, body: r.body },
      };
    case 'in_app':
      return { channel, accountId: recipient.accountId, recipientId: recipient.id, title, body: r.body };
    case 'console':
      return { channel, recipientId: recipient.id, title, body: r.body };
  }
}
