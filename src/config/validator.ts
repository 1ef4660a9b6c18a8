// The compiled schema. Ajv fills in defaults as it validates (useDefaults), so after a clean
// run the data holds every default the schema declares.
import { Ajv2019, type ErrorObject, type ValidateFunction } from 'ajv/dist/2019.js';
import { validate as isCronExpression } from 'node-cron';
import { allowEntryProblem } from './runtime-allow.js';
import { configSchema } from './schema.js';
import { isHttpBaseUrl, isHttpUrl, isMqttBroker } from './url-formats.js';

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2019({ allErrors: true, useDefaults: true, verbose: true, allowUnionTypes: true, strict: true, strictRequired: false });
    ajv.addFormat('http-url', isHttpUrl);
    ajv.addFormat('http-base-url', isHttpBaseUrl);
    ajv.addFormat('mqtt-broker', isMqttBroker);
    ajv.addFormat('cron', (value: string) => isCronExpression(value));
    ajv.addFormat('runtime-client', (value: string) => allowEntryProblem(value) === undefined);
    compiled = ajv.compile(configSchema);
  }
  return compiled;
}

/** Validates `data` in place (defaults are written into it); returns Ajv's errors, [] when valid. */
export function schemaErrors(data: unknown): ErrorObject[] {
  const validate = validator();
  return validate(data) ? [] : [...(validate.errors ?? [])];
}
