// Every command of the command line. Adding one: a file here that exports a register function
// (see schema.ts for the smallest), and one line in this list. The order is the order of --help.
import type { Command } from 'commander';
import * as run from './run.js';
import * as checkConfig from './check-config.js';
import * as schema from './schema.js';
import * as configReference from './config-reference.js';
import * as mosquittoConfig from './mosquitto-config.js';
import { registerBackendOps, registerDrift, registerResync, registerStatus } from './ops.js';
import * as demo from './demo.js';
import * as state from './state.js';
import { registerSim, registerSimHost } from './simulators.js';
import * as version from './version.js';

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  run.register,
  checkConfig.register,
  schema.register,
  configReference.register,
  mosquittoConfig.register,
  registerDrift,
  registerStatus,
  registerBackendOps,
  registerResync,
  state.register,
  demo.register,
  registerSim,
  registerSimHost,
  version.register,
];
