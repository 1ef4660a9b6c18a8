// An uploaded ARF report read the way smart_proxy_openscap's arf_parser.rb reads it: bunzip2,
// the XCCDF test result and the benchmark's rules, into the JSON Foreman's
// POST /api/v2/compliance/arf_reports/<cn>/<policy>/<date> takes (docs/plugin-protocols.md §3).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';

/** The upload is not a bzip2 ARF file that can be read; Foreman never gets it. */
export class ArfUnreadable extends Error {}

export interface ArfLog {
  source: string;
  result: string;
  title: string;
  description: string;
  rationale: string;
  references: { href: string; title: string }[];
  fixes: { id: string | null; system: string | null; full_text: string; reboot: string | null }[];
  severity: string;
}

export interface ArfJson {
  logs: ArfLog[];
  digest: string;
  metrics: { passed: number; failed: number; othered: number };
  score: number | null;
}

const MAX_XML_BYTES = 256 * 1024 * 1024;

/** `bunzip2 -dc`, as the plugin runs it. */
export function bunzip2(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('bunzip2', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_XML_BYTES) child.kill('SIGKILL');
      else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => reject(new ArfUnreadable(`bunzip2 could not run: ${e.message}`)));
    child.on('close', (code) => {
      if (size > MAX_XML_BYTES) return reject(new ArfUnreadable(`decompressed report larger than ${MAX_XML_BYTES} bytes`));
      if (code !== 0) return reject(new ArfUnreadable(`Failed to decompress received report bzip, cause: ${err.trim() || `bunzip2 exited with ${code}`}`));
      resolve(Buffer.concat(out));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(data);
  });
}

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  textNodeName: '#text',
  isArray: (name) => ['Rule', 'Group', 'rule-result', 'reference', 'fix', 'set-value', 'component', 'report', 'TestResult', 'Benchmark'].includes(name),
  processEntities: true,
  trimValues: true,
  // XHTML inside these keeps its place in the text (the default parse would reorder it).
  stopNodes: ['*.description', '*.rationale', '*.title'],
});

/** Raw element content kept by stopNodes: markup dropped, entities decoded, spaces collapsed. */
function plain(raw: string): string {
  return raw
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Every element named `name` below `node`, depth first. */
function all(node: unknown, name: string, out: Node[] = []): Node[] {
  if (Array.isArray(node)) {
    for (const n of node) all(n, name, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Node)) {
      if (k.startsWith('@')) continue;
      if (k === name) for (const n of Array.isArray(v) ? v : [v]) if (n && typeof n === 'object') out.push(n as Node);
      all(v, name, out);
    }
  }
  return out;
}

/** The text of an element, markup inside it flattened to its text. */
function text(node: unknown): string {
  if (node === undefined || node === null) return '';
  if (typeof node !== 'object') return String(node);
  if (Array.isArray(node)) return node.map(text).join(' ');
  return Object.entries(node as Node)
    .filter(([k]) => !k.startsWith('@'))
    .map(([, v]) => text(v))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function attr(node: Node | undefined, name: string): string | null {
  const v = node?.[`@${name}`];
  return v === undefined ? null : String(v);
}

export async function parseArf(data: Buffer): Promise<ArfJson> {
  const xml = await bunzip2(data);
  let doc: unknown;
  try {
    doc = parser.parse(xml.toString('utf8'));
  } catch (err) {
    throw new ArfUnreadable(`Failed to parse Arf Report: ${(err as Error).message}`);
  }
  const testResult = all(doc, 'TestResult')[0];
  if (!testResult) throw new ArfUnreadable('Failed to parse Arf Report: no XCCDF TestResult in it');
  const rules = new Map(all(doc, 'Rule').map((r) => [attr(r, 'id') ?? '', r]));
  const metrics = { passed: 0, failed: 0, othered: 0 };
  const logs: ArfLog[] = [];
  for (const rr of all(testResult, 'rule-result')) {
    const result = text(rr.result);
    if (result === 'notapplicable' || result === 'notselected') continue;
    if (result === 'pass' || result === 'fixed') metrics.passed += 1;
    else if (result === 'fail') metrics.failed += 1;
    else metrics.othered += 1;
    const id = attr(rr, 'idref') ?? '';
    const rule = rules.get(id);
    logs.push({
      source: id,
      result,
      title: plain(text(rule?.title)),
      description: plain(text(rule?.description)),
      rationale: plain(text(rule?.rationale)),
      references: all(rule, 'reference').map((ref) => ({ href: attr(ref, 'href') ?? '', title: text(ref) })),
      fixes: all(rule, 'fix').map((fix) => ({ id: attr(fix, 'id'), system: attr(fix, 'system'), full_text: text(fix), reboot: attr(fix, 'reboot') })),
      severity: attr(rule, 'severity') ?? attr(rr, 'severity') ?? 'unknown',
    });
  }
  const scoreText = text(all(testResult, 'score')[0] ?? testResult.score);
  const score = scoreText === '' ? null : Number.parseFloat(scoreText);
  return { logs, digest: arfDigest(data), metrics, score: Number.isFinite(score) ? score : null };
}

/** SHA-256 hex of the compressed upload: the digest Foreman stores and later names it by. */
export function arfDigest(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
