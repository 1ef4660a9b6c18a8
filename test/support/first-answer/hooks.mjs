// Module hooks (module.register, their own thread): every module URL the process resolves is
// appended to the record file before the import goes on, so the file's order is the load order.
import { appendFileSync } from 'node:fs';

let record;

export function initialize(data) {
  record = data.record;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(record, `esm ${result.url}\n`);
  return result;
}
