import { generateKeyPairSync } from 'node:crypto';
import webpush from 'web-push';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.js';
import { channelsFromConfig } from './channels-from-config.js';

const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const files: Record<string, string> = {
  '/keys/apns.p8': ecPem,
  '/keys/fcm.json': JSON.stringify({ client_email: 'a@p.iam.gserviceaccount.com', private_key: rsaPem, project_id: 'p' }),
};
const readFile = (path: string) => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT ${path}`);
  return text;
};

describe('channelsFromConfig', () => {
  it('with nothing set, only the console channel exists', async () => {
    const built = channelsFromConfig(loadConfig({}), { readFile });
    expect([...built.channels.keys()]).toEqual(['console']);
    await built.close();
  });

  it('turns on every channel whose settings are complete', async () => {
    const vapid = webpush.generateVAPIDKeys();
    const built = channelsFromConfig(
      loadConfig({
        NOTIFY_SMTP_HOST: 'smtp.example',
        NOTIFY_EMAIL_FROM: 'noreply@example.com',
        NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
        NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '10.0.0.0/8,fd00::/8',
        NOTIFY_VAPID_PUBLIC_KEY: vapid.publicKey,
        NOTIFY_VAPID_PRIVATE_KEY: vapid.privateKey,
        NOTIFY_VAPID_SUBJECT: 'mailto:ops@example.com',
        NOTIFY_FCM_SERVICE_ACCOUNT_FILE: '/keys/fcm.json',
        NOTIFY_APNS_KEY_FILE: '/keys/apns.p8',
        NOTIFY_APNS_KEY_ID: 'K',
        NOTIFY_APNS_TEAM_ID: 'T',
        NOTIFY_APNS_TOPIC: 'com.example.app',
        NOTIFY_SMS_ACCOUNT_SID: 'AC1',
        NOTIFY_SMS_AUTH_TOKEN: 'tok',
        NOTIFY_SMS_FROM: '+15550000000',
      }),
      { readFile },
    );
    expect([...built.channels.keys()].sort()).toEqual(['apns', 'console', 'email', 'fcm', 'sms', 'web_push', 'webhook']);
    for (const [name, channel] of built.channels) expect(channel.name).toBe(name);
    await built.close();
  });

  it.each([
    [{ NOTIFY_APNS_KEY_ID: 'K', NOTIFY_APNS_TEAM_ID: 'T' }, /apns channel also needs NOTIFY_APNS_KEY_FILE, NOTIFY_APNS_TOPIC/],
    [{ NOTIFY_SMS_ACCOUNT_SID: 'AC1' }, /sms channel also needs NOTIFY_SMS_AUTH_TOKEN, NOTIFY_SMS_FROM/],
    [{ NOTIFY_SMTP_HOST: 'smtp.example' }, /email channel also needs NOTIFY_EMAIL_FROM/],
    [{ NOTIFY_WEBHOOK_SECRET: 'whsec_eA==', NOTIFY_WEBHOOK_ALLOWED_NETWORKS: 'intranet' }, /NOTIFY_WEBHOOK_ALLOWED_NETWORKS/],
    [{ NOTIFY_FCM_SERVICE_ACCOUNT_FILE: '/keys/missing.json' }, /NOTIFY_FCM_SERVICE_ACCOUNT_FILE/],
  ])('fails at start, naming the variables, for %o', (env, message) => {
    expect(() => channelsFromConfig(loadConfig(env), { readFile })).toThrow(message);
  });
});
