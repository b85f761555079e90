import { describe, expect, it } from 'vitest';
import { checkContactPoint, type ContactPointInput } from './contact-point-input.js';
import { checkLocaleAndZone } from './recipient.js';

const KEYS = { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) };

describe('checkContactPoint', () => {
  it.each<[ContactPointInput, boolean]>([
    [{ kind: 'email', address: 'ada@example.com' }, true],
    [{ kind: 'email', address: 'ada+tag@mail.example.co.uk' }, true],
    [{ kind: 'email', address: 'ada@localhost' }, false],
    [{ kind: 'email', address: 'ada example@example.com' }, false],
    [{ kind: 'email', address: `${'a'.repeat(65)}@example.com` }, false],
    [{ kind: 'phone', address: '+4915112345678' }, true],
    [{ kind: 'phone', address: '+81312345678' }, true],
    [{ kind: 'phone', address: '+1234567890123456' }, false], // 16 digits
    [{ kind: 'phone', address: '+49 151 12345678' }, false],
    [{ kind: 'web_push', address: 'https://fcm.googleapis.com/fcm/send/abc:def', keys: KEYS }, true],
    [{ kind: 'web_push', address: 'https://10.0.0.1/push', keys: KEYS }, false],
    [{ kind: 'web_push', address: 'https://push.example.com/x', keys: { p256dh: 'short', auth: 'a'.repeat(22) } }, false],
    [{ kind: 'fcm', address: 'dQw4w9WgXcQ:APA91bH-abcdefghijklmnopqrstuvwxyz' }, true],
    [{ kind: 'apns', address: 'a'.repeat(64) }, true],
    [{ kind: 'apns', address: 'a'.repeat(2049) }, false],
    [{ kind: 'webhook', address: 'http://hooks.example.com/tny' }, true],
    [{ kind: 'webhook', address: 'javascript:alert(1)' }, false],
  ])('%j → %s', (input, valid) => {
    const result = checkContactPoint(input);
    expect(result.problems.length === 0, JSON.stringify(result.problems)).toBe(valid);
    expect(result.value !== undefined).toBe(valid);
  });

  it('trims the address and keeps web push keys', () => {
    expect(checkContactPoint({ kind: 'web_push', address: ' https://push.example.com/x ', keys: KEYS }).value).toEqual({
      kind: 'web_push',
      address: 'https://push.example.com/x',
      keys: KEYS,
    });
  });
});

describe('checkLocaleAndZone', () => {
  it('canonicalises locales and accepts IANA zones and aliases', () => {
    const problems: never[] = [];
    expect(checkLocaleAndZone({ locale: 'DE-at', timeZone: 'Asia/Tokyo' }, problems)).toEqual({ locale: 'de-AT', timeZone: 'Asia/Tokyo' });
    expect(checkLocaleAndZone({ locale: 'zh-hant-tw', timeZone: 'UTC' }, problems)).toEqual({ locale: 'zh-Hant-TW', timeZone: 'UTC' });
    expect(problems).toEqual([]);
  });

  it('names each bad field', () => {
    const problems: { field: string; message: string }[] = [];
    checkLocaleAndZone({ locale: 'en_US!', timeZone: 'Europe/Atlantis' }, problems);
    expect(problems.map((p) => p.field)).toEqual(['locale', 'time_zone']);
  });
});
