import { readFileSync } from 'node:fs';
import type { Config } from '../../config/config.js';
import { ConfigError } from '../../config/fields.js';
import { systemClock, type Clock } from '../../platform/clock.js';
import type { ChannelName } from '../../notifier/channel-names.js';
import type { Channel } from '../../notifier/channels/channel.js';
import { SsrfGuard } from '../../notifier/channels/ssrf-guard.js';
import { ApnsChannel } from './apns-channel.js';
import { ConsoleChannel } from './console-channel.js';
import { FcmChannel } from './fcm-channel.js';
import type { ServiceAccount } from './google-access-token.js';
import { SmtpChannel } from './smtp-channel.js';
import { TwilioSmsChannel } from './twilio-sms-channel.js';
import { WebPushChannel } from './web-push-channel.js';
import { WebhookChannel } from './webhook-channel.js';

type ChannelConfig = Pick<Config, Extract<keyof Config, `NOTIFY_${string}`>>;

export interface ConfiguredChannels {
  channels: Map<ChannelName, Channel>;
  close(): Promise<void>;
}

/**
 * Builds the provider channels whose settings are present. A group that is partly set (a key
 * id without its key file) fails here, naming the missing variables, instead of failing on the
 * first send. The console channel is always there. `in_app` is not a provider: the notifier
 * stores those itself.
 */
export function channelsFromConfig(
  config: ChannelConfig,
  deps: { clock?: Clock; readFile?: (path: string) => string; write?: (line: string) => void } = {},
): ConfiguredChannels {
  const clock = deps.clock ?? systemClock;
  const read = deps.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const channels = new Map<ChannelName, Channel>();
  const closers: Array<() => Promise<void>> = [];
  let guard: SsrfGuard | undefined;
  const ssrf = () => {
    try {
      guard ??= new SsrfGuard({ allowedNetworks: config.NOTIFY_WEBHOOK_ALLOWED_NETWORKS });
    } catch (err) {
      throw new ConfigError(`invalid configuration:\n  NOTIFY_WEBHOOK_ALLOWED_NETWORKS ${(err as Error).message}`);
    }
    return guard;
  };

  const group = (name: string, values: Record<string, unknown>): boolean => {
    const missing = Object.entries(values).filter(([, v]) => v === undefined || v === '').map(([k]) => k);
    if (missing.length === Object.keys(values).length) return false;
    if (missing.length > 0) throw new ConfigError(`invalid configuration:\n  the ${name} channel also needs ${missing.join(', ')}`);
    return true;
  };

  if (group('email', { NOTIFY_SMTP_HOST: config.NOTIFY_SMTP_HOST, NOTIFY_EMAIL_FROM: config.NOTIFY_EMAIL_FROM })) {
    const smtp = new SmtpChannel({
      host: config.NOTIFY_SMTP_HOST!,
      port: config.NOTIFY_SMTP_PORT,
      secure: config.NOTIFY_SMTP_SECURE,
      requireTls: config.NOTIFY_SMTP_REQUIRE_TLS && !config.NOTIFY_SMTP_SECURE,
      user: config.NOTIFY_SMTP_USER,
      password: config.NOTIFY_SMTP_PASSWORD,
      from: config.NOTIFY_EMAIL_FROM!,
      messageIdDomain: config.NOTIFY_EMAIL_MESSAGE_ID_DOMAIN,
    });
    channels.set('email', smtp);
    closers.push(() => smtp.close());
  }
  if (config.NOTIFY_WEBHOOK_SECRET) {
    const webhook = new WebhookChannel({ secret: config.NOTIFY_WEBHOOK_SECRET, guard: ssrf(), clock });
    channels.set('webhook', webhook);
    closers.push(() => webhook.close());
  }
  if (
    group('web_push', {
      NOTIFY_VAPID_PUBLIC_KEY: config.NOTIFY_VAPID_PUBLIC_KEY,
      NOTIFY_VAPID_PRIVATE_KEY: config.NOTIFY_VAPID_PRIVATE_KEY,
      NOTIFY_VAPID_SUBJECT: config.NOTIFY_VAPID_SUBJECT,
    })
  ) {
    const vapid = { publicKey: config.NOTIFY_VAPID_PUBLIC_KEY!, privateKey: config.NOTIFY_VAPID_PRIVATE_KEY!, subject: config.NOTIFY_VAPID_SUBJECT! };
    const push = new WebPushChannel({ vapid, guard: ssrf(), clock });
    channels.set('web_push', push);
    closers.push(() => push.close());
  }
  if (config.NOTIFY_FCM_SERVICE_ACCOUNT_FILE) {
    let account: ServiceAccount;
    try {
      account = JSON.parse(read(config.NOTIFY_FCM_SERVICE_ACCOUNT_FILE)) as ServiceAccount;
    } catch {
      throw new ConfigError('invalid configuration:\n  NOTIFY_FCM_SERVICE_ACCOUNT_FILE cannot be read as JSON');
    }
    channels.set('fcm', new FcmChannel({ serviceAccount: account, endpoint: config.NOTIFY_FCM_ENDPOINT, tokenUri: config.NOTIFY_FCM_TOKEN_URI, clock }));
  }
  if (
    group('apns', {
      NOTIFY_APNS_KEY_FILE: config.NOTIFY_APNS_KEY_FILE,
      NOTIFY_APNS_KEY_ID: config.NOTIFY_APNS_KEY_ID,
      NOTIFY_APNS_TEAM_ID: config.NOTIFY_APNS_TEAM_ID,
      NOTIFY_APNS_TOPIC: config.NOTIFY_APNS_TOPIC,
    })
  ) {
    const apns = new ApnsChannel({
      privateKey: read(config.NOTIFY_APNS_KEY_FILE!),
      keyId: config.NOTIFY_APNS_KEY_ID!,
      teamId: config.NOTIFY_APNS_TEAM_ID!,
      topic: config.NOTIFY_APNS_TOPIC!,
      endpoint: config.NOTIFY_APNS_ENDPOINT,
      clock,
    });
    channels.set('apns', apns);
    closers.push(() => apns.close());
  }
  if (
    group('sms', {
      NOTIFY_SMS_ACCOUNT_SID: config.NOTIFY_SMS_ACCOUNT_SID,
      NOTIFY_SMS_AUTH_TOKEN: config.NOTIFY_SMS_AUTH_TOKEN,
      NOTIFY_SMS_FROM: config.NOTIFY_SMS_FROM,
    })
  ) {
    channels.set(
      'sms',
      new TwilioSmsChannel({
        baseUrl: config.NOTIFY_SMS_BASE_URL,
        accountSid: config.NOTIFY_SMS_ACCOUNT_SID!,
        authToken: config.NOTIFY_SMS_AUTH_TOKEN!,
        from: config.NOTIFY_SMS_FROM!,
        clock,
      }),
    );
  }
  channels.set('console', new ConsoleChannel(deps.write));

  return {
    channels,
    close: async () => {
      for (const close of closers.reverse()) await close();
    },
  };
}
