// `node --import` preload for start-path.test.ts: records which modules a daemon process loaded
// before its first answer. ES modules come from the resolve hook (hooks.mjs); CommonJS ones from
// the module cache, written when the first GET /features has been answered. That request is sent
// by this preload itself the moment the daemon listens, so that what the daemon does on its own
// a moment later (attachSoon()) is not taken for part of the way to its first answer.
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire, register } from 'node:module';

const record = process.env.FIRST_ANSWER_RECORD;
if (!record) throw new Error('FIRST_ANSWER_RECORD is not set');
register(new URL('./hooks.mjs', import.meta.url), { data: { record } });

const emit = http.Server.prototype.emit;
let asked = false;
let answered = false;
http.Server.prototype.emit = function (event, ...args) {
  if (event === 'listening' && !asked) {
    asked = true;
    const { port } = this.address();
    http.get({ host: '127.0.0.1', port, path: '/features' }, (res) => res.resume()).on('error', () => {});
  }
  if (event === 'request' && !answered && args[0].url === '/features') {
    const res = args[1];
    res.on('finish', () => {
      if (answered) return;
      answered = true;
      const cjs = Object.keys(createRequire(import.meta.url).cache);
      appendFileSync(record, `answered ${res.statusCode}\n${cjs.map((f) => `cjs ${f}\n`).join('')}`);
    });
  }
  return emit.call(this, event, ...args);
};
