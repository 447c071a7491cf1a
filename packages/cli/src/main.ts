#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isAppError } from '@eucp/core';
import { register as start } from './commands/start.js';
import { register as data } from './commands/data.js';
import { register as docs } from './commands/docs.js';
import { register as user } from './commands/user.js';
import { register as group } from './commands/group.js';
import { register as token } from './commands/token.js';
import { register as access } from './commands/access.js';
import { register as storage } from './commands/storage.js';

/** Builds the `eucp` command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('eucp').description('EUCP Notebook: notebooks next to the climate data').exitOverride();
  for (const r of [start, data, docs, user, group, token, access, storage]) r(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    if (isAppError(err)) {
      process.stderr.write(`error: ${err.message}\n${err.action}\n`);
    } else {
      process.stderr.write(`error: ${(err as Error).message}\n`);
    }
    process.exit(2);
  }
}

const invokedDirectly = process.argv[1] && /[\\/]cli[\\/](src|dist)[\\/]main\.[jt]s$/.test(process.argv[1]);
if (invokedDirectly) void main();
