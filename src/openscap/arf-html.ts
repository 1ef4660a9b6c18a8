// The HTML view of a stored report. smart_proxy_openscap runs `oscap xccdf generate report`;
// proxy-proxy has no OpenSCAP tools, so it renders the parsed results itself: one table of rule
// results with title, severity and result (docs/plugin-protocols.md §3).
import type { ArfJson } from './arf-report.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function arfHtml(host: string, date: number, report: ArfJson): string {
  const rows = report.logs
    .map((l) => `<tr class="${escape(l.result)}"><td>${escape(l.title || l.source)}</td><td>${escape(l.severity)}</td><td>${escape(l.result)}</td></tr>`)
    .join('\n');
  const { passed, failed, othered } = report.metrics;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>OpenSCAP report for ${escape(host)}</title>
<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}.fail{color:#a00}.pass{color:#070}</style></head>
<body><h1>OpenSCAP report for ${escape(host)}</h1>
<p>Evaluated ${escape(new Date(date * 1000).toISOString())}; score ${report.score ?? 'n/a'}; passed ${passed}, failed ${failed}, other ${othered}.</p>
<table><thead><tr><th>Rule</th><th>Severity</th><th>Result</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}
