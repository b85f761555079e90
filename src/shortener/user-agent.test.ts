import { describe, expect, it } from 'vitest';
import { classifyUserAgent, referrerHost } from './user-agent.js';

const table: [label: string, ua: string, browser: string, os: string, bot: boolean][] = [
  ['Chrome Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', 'Chrome', 'Windows', false],
  ['Chrome macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', 'Chrome', 'macOS', false],
  ['Chrome Linux', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', 'Chrome', 'Linux', false],
  ['Chrome Android', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36', 'Chrome', 'Android', false],
  ['Chrome iOS', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1', 'Chrome', 'iOS', false],
  ['ChromeOS', 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', 'Chrome', 'ChromeOS', false],
  ['Edge Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51', 'Edge', 'Windows', false],
  ['Edge legacy', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582', 'Edge', 'Windows', false],
  ['Edge Android', 'Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.54 Mobile Safari/537.36 EdgA/124.0.2478.50', 'Edge', 'Android', false],
  ['Edge iOS', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.50 Mobile/15E148 Safari/605.1.15', 'Edge', 'iOS', false],
  ['Opera', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0', 'Opera', 'Windows', false],
  ['Opera Presto', 'Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18', 'Opera', 'Windows', false],
  ['Samsung Internet', 'Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36', 'Samsung Internet', 'Android', false],
  ['Yandex', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36', 'Yandex', 'Windows', false],
  ['UC Browser', 'Mozilla/5.0 (Linux; U; Android 10; en-US; RMX1911 Build/QKQ1.200209.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36', 'UC Browser', 'Android', false],
  ['Firefox Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0', 'Firefox', 'Windows', false],
  ['Firefox Ubuntu', 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 'Firefox', 'Linux', false],
  ['Firefox macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0', 'Firefox', 'macOS', false],
  ['Firefox Android', 'Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0', 'Firefox', 'Android', false],
  ['Firefox iOS', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15', 'Firefox', 'iOS', false],
  ['Safari macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15', 'Safari', 'macOS', false],
  ['Safari iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1', 'Safari', 'iOS', false],
  ['Safari iPad', 'Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1', 'Safari', 'iOS', false],
  ['Android stock browser', 'Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30', 'Android Browser', 'Android', false],
  ['IE 11', 'Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko', 'IE', 'Windows', false],
  ['IE 10', 'Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)', 'IE', 'Windows', false],
  ['Windows Phone IE', 'Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537', 'IE', 'Windows', false],
  ['iOS in-app web view', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 326.0.3.30.91', 'Other', 'iOS', false],
  ['curl', 'curl/8.5.0', 'Other', 'Other', true],
  ['wget', 'Wget/1.21.4', 'Other', 'Other', true],
  ['python-requests', 'python-requests/2.31.0', 'Other', 'Other', true],
  ['Googlebot smartphone', 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Chrome', 'Android', true],
  ['Bingbot', 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'Other', 'Other', true],
  ['Facebook preview', 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'Other', 'Other', true],
  ['Slack preview', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'Other', 'Other', true],
  ['Headless Chrome', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36', 'Chrome', 'Linux', true],
];

describe('classifyUserAgent', () => {
  it.each(table)('%s', (_label, ua, browser, os, bot) => {
    expect(classifyUserAgent(ua)).toEqual({ browser, os, bot });
  });

  it('counts a missing or blank User-Agent as an unknown bot', () => {
    for (const ua of [undefined, '', '   ']) {
      expect(classifyUserAgent(ua)).toEqual({ browser: 'Other', os: 'Other', bot: true });
    }
  });

  it('memoizes: the same UA returns the same frozen object', () => {
    const ua = table[0]![1];
    const first = classifyUserAgent(ua);
    expect(classifyUserAgent(`${ua}`)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('classifies very long UAs by their first 512 characters', () => {
    const ua = `${table[15]![1]} ${'x'.repeat(10_000)}`;
    expect(classifyUserAgent(ua)).toEqual({ browser: 'Firefox', os: 'Windows', bot: false });
  });
});

describe('referrerHost', () => {
  const rows: [input: string | undefined, host: string][] = [
    [undefined, ''],
    ['', ''],
    ['not a url', ''],
    ['/relative/path', ''],
    ['https://www.Example.COM/path?q=1#x', 'www.example.com'],
    ['http://news.ycombinator.com/item?id=1', 'news.ycombinator.com'],
    ['https://user:pass@host.example:8443/', 'host.example'],
    ['https://example.com./', 'example.com'],
    ['http://192.168.0.1/x', '192.168.0.1'],
    ['http://[::1]:8080/', '[::1]'],
    ['https://bücher.example/', 'xn--bcher-kva.example'],
    ['ftp://files.example.com/', ''],
    ['android-app://com.google.android.gm/', ''],
    ['javascript:alert(1)', ''],
    ['file:///etc/passwd', ''],
  ];
  it.each(rows)('%j → %j', (input, host) => {
    expect(referrerHost(input)).toBe(host);
  });

  it('caps the host at 255 characters', () => {
    const label = 'a'.repeat(60);
    const long = `https://${Array.from({ length: 8 }, () => label).join('.')}.com/`;
    const host = referrerHost(long);
    expect(host).toHaveLength(255);
    expect(host.startsWith(label)).toBe(true);
  });
});
